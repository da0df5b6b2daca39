-- per-host.sql - which hosts must fix which rules: per host, the rules it
-- violated (sorted), the violations it is named in, and its SMB connections
-- as client and as server; hosts with violations first.  A violation is
-- one flow (a group line counts its flows).  The same answer as
-- hosts[] of smbscope's JSON report of the captures analysed together
-- (.fix_rules[] whose fix_catalog.rules entry has "violation": true, .violations,
-- .smb_connections_as_client/_server); tested by tests/analytics.
--   clickhouse-client --multiquery < per-host.sql
SELECT
    host,
    arraySort(groupUniqArrayIf(rule, rule != '')) AS rules,
    sum(violation) AS violations,
    sum(as_client) AS smb_connections_as_client,
    sum(as_server) AS smb_connections_as_server
FROM
(
    SELECT host, rule, flows AS violation, toUInt64(0) AS as_client, toUInt64(0) AS as_server
    FROM smbscope.violation_hosts
    UNION ALL
    SELECT client_ip AS host, '' AS rule, toUInt64(0) AS violation, toUInt64(1) AS as_client, toUInt64(0) AS as_server
    FROM smbscope.smb_connections
    UNION ALL
    SELECT server_ip AS host, '' AS rule, toUInt64(0) AS violation, toUInt64(0) AS as_client, toUInt64(1) AS as_server
    FROM smbscope.smb_connections
)
GROUP BY host
ORDER BY violations DESC, length(rules) DESC, host;
