-- schema.sql - smbscope's ndjson events (smbscope --format ndjson) in
-- ClickHouse: one MergeTree table whose columns are the events' flat ECS keys
-- (quoted, dotted names), and the views the queries (per-host.sql,
-- per-rule.sql) read.  Loaded by load.sh; tested against ClickHouse 18.16
-- (Debian 12) by tests/analytics.
--   clickhouse-client --multiquery < schema.sql
--
-- Load with input_format_skip_unknown_fields=1 (load.sh does): the array keys
-- but netbios.name are not columns.  ClickHouse (18.16 at least) takes dotted
-- Array columns that share a prefix for one Nested structure and refuses rows
-- whose arrays differ in length (smb.users and smb.shares, smbscope.inputs and
-- smbscope.unknowns), so smb.dialects_offered, smb.smb1_dialects_offered,
-- smb.users, smb.shares, smb.findings, smbscope.unknowns and smbscope.inputs
-- stay in the ndjson.  A value the event does not carry is the column's
-- default ('' or 0).

CREATE DATABASE IF NOT EXISTS smbscope;

CREATE TABLE IF NOT EXISTS smbscope.events
(
    `@timestamp` String,              -- RFC 3339 UTC with microseconds, as written
    `event.kind` String,
    `event.category` String,
    `event.type` String,
    `event.action` String,            -- smb-connection(-end), netbios-flow(-end), violation, finding, summary
    `event.outcome` String,
    `event.dataset` String,
    `event.start` String,
    `event.end` String,
    `observer.name` String,           -- the sensor (--observer-name)
    `smbscope.version` String,
    `smbscope.input` String,          -- the capture file (added by load.sh, not in the ndjson)
    `source.ip` String,
    `source.port` UInt16,
    `destination.ip` String,
    `destination.port` UInt16,
    `client.ip` String,
    `client.port` UInt16,
    `server.ip` String,
    `server.port` UInt16,
    `network.transport` String,
    `network.protocol` String,
    `network.type` String,
    `network.packets` UInt64,
    `network.bytes` UInt64,
    `rule.name` String,
    `rule.description` String,
    `rule.ruleset` String,            -- smbscope-policy (violation) or smbscope-findings
    `message` String,
    `smb.transport` String,
    `smb.alt_port` UInt8,             -- not the transport's standard server port
    `smb.transport_evidence` String,
    `smb.dialect` String,
    `smb.version` UInt8,
    `smb.signing` String,
    `smb.signed` UInt8,
    `smb.encryption` UInt8,
    `smb.auth` String,
    `smb.flow_id` UInt64,
    `smb.close_reason` String,
    `smb.gaps` UInt64,
    `netbios.called_name` String,
    `netbios.calling_name` String,
    `netbios.service` String,
    `netbios.state` String,
    `netbios.attempt` UInt8,
    `netbios.nbss_elsewhere` UInt8,
    `netbios.server_answered` UInt8,
    `netbios.broadcast` UInt8,
    `netbios.requests` UInt64,
    `netbios.queries` UInt64,
    `netbios.responses` UInt64,
    `netbios.name` Array(String),
    `smbscope.scope` String,
    `smbscope.verdict` String,
    `smbscope.exit_code` UInt8,
    `smbscope.violations` UInt64,
    `smbscope.findings` UInt64,
    `smbscope.severity` String,
    `smbscope.evidence` String,
    `smbscope.state` String,
    `smbscope.flows` UInt64,
    `smbscope.violation` UInt8,       -- a violation line (1) or a finding line (0)
    `smbscope.run.verdict` String,
    `smbscope.run.violations` UInt64,
    `smbscope.connections` UInt64,
    `smbscope.netbios_flows` UInt64,
    `smbscope.filter` String,
    `smbscope.filtered_out` UInt64,
    `smbscope.capture.received` UInt64,
    `smbscope.capture.dropped` UInt64,
    `smbscope.capture.ifdropped` UInt64,
    -- for partitions and time ranges (second precision; @timestamp keeps the microseconds);
    -- DEFAULT, not MATERIALIZED: a Distributed table (cluster.sql) cannot insert a MATERIALIZED column in 18.16
    `timestamp` DateTime DEFAULT parseDateTimeBestEffort(`@timestamp`)
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(`timestamp`)
ORDER BY (`event.action`, `timestamp`);

-- A violation line stands for smbscope.flows flows (one; or the connections
-- of a group when smbscope reports violations per connection group).  Lines
-- of the same rule and 5-tuple count once, with their most flows: the same
-- violation seen by two sensors counts once, as when their captures are
-- analysed together.  (A connection cut between two captures is judged by
-- each part: not joined here; smbscope merge joins it.)  Only run-scope
-- lines (an interval report's lines are a partial view of the same flows).
CREATE VIEW IF NOT EXISTS smbscope.violation_flows AS
SELECT
    `rule.name` AS rule, `network.transport` AS transport,
    `client.ip` AS client_ip, `client.port` AS client_port,
    `server.ip` AS server_ip, `server.port` AS server_port,
    max(`smbscope.flows`) AS flows
FROM smbscope.events
WHERE `event.action` = 'violation' AND `smbscope.scope` = 'run'
GROUP BY rule, transport, client_ip, client_port, server_ip, server_port;

-- Who must fix each violation (as smbscope's hosts[] names them): the client
-- always; the server too, except for a NetBIOS attempt (refused or unanswered:
-- the client's to stop), and for NetBIOS traffic only when that server
-- answered NetBIOS in some flow; never a broadcast or multicast address.
CREATE VIEW IF NOT EXISTS smbscope.violation_hosts AS
SELECT rule, transport, client_ip, client_port, server_ip, server_port, flows,
    arrayJoin(arrayFilter(h -> h != '' AND h NOT IN (
        SELECT `server.ip` FROM smbscope.events
        WHERE `event.action` = 'netbios-flow-end' AND `netbios.broadcast` = 1),
        [client_ip,
         if(rule = 'netbios-attempt'
            OR (rule = 'netbios' AND server_ip NOT IN (
                SELECT `server.ip` FROM smbscope.events
                WHERE `event.action` = 'netbios-flow-end' AND `netbios.server_answered` = 1)),
            '', server_ip)])) AS host
FROM smbscope.violation_flows;

-- SMB connections, one per 5-tuple (like violations).
CREATE VIEW IF NOT EXISTS smbscope.smb_connections AS
SELECT DISTINCT
    `network.transport` AS transport,
    `client.ip` AS client_ip, `client.port` AS client_port,
    `server.ip` AS server_ip, `server.port` AS server_port
FROM smbscope.events
WHERE `event.action` = 'smb-connection-end';
