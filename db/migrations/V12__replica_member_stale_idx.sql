-- The stale members (decision 011: dropped copies, awaiting repair) are few among many in-sync
-- ones; the degraded-set gauge and the node views' counts find them through this index at every
-- scrape without reading the rest.
CREATE INDEX replica_member_stale_idx ON replica_member (family_id, column_no) WHERE state = 'stale';
