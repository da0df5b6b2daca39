-- per-rule.sql - per rule: how many violations (violating flows), how many
-- hosts must fix it.  The same answer as smbscope's JSON report of the
-- captures analysed together (the flows of verdict.violations[] summed by
-- rule, verdict.violations_summary.rules[].flows when the listing is capped; hosts[] whose .fix_rules[] holds a rule with "violation": true in
-- fix_catalog; hosts_summary.fix_hosts counts them all); tested
-- by tests/analytics.
--   clickhouse-client --multiquery < per-rule.sql
SELECT rule, sum(flows) AS violations, sum(hosts) AS hosts
FROM
(
    SELECT rule, sum(flows) AS flows, toUInt64(0) AS hosts
    FROM smbscope.violation_flows
    GROUP BY rule
    UNION ALL
    SELECT rule, toUInt64(0) AS flows, uniqExact(host) AS hosts
    FROM smbscope.violation_hosts
    GROUP BY rule
)
GROUP BY rule
ORDER BY violations DESC, rule;
