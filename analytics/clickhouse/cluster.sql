-- cluster.sql - many ClickHouse nodes, one answer.  Run on every node after
-- schema.sql, with a cluster named smbscope_cluster in the servers'
-- remote_servers configuration (one shard per node):
--   clickhouse-client --multiquery < cluster.sql
-- The node's table becomes smbscope.events_local, and smbscope.events a
-- Distributed table over the events_local of every node: the views of
-- schema.sql, per-host.sql and per-rule.sql then answer for the whole cluster
-- from any node, unchanged.  A sensor loads into its nearest node
-- (load.sh -t smbscope.events_local -c 'clickhouse-client --host NODE'), or
-- into smbscope.events, which spreads the rows over the shards.  A flow seen
-- on two shards still counts once (the views' DISTINCT is completed by the
-- node that asks).  Tested with two nodes by tests/analytics.
RENAME TABLE smbscope.events TO smbscope.events_local;
CREATE TABLE smbscope.events AS smbscope.events_local
ENGINE = Distributed(smbscope_cluster, smbscope, events_local, rand());
