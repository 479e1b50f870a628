-- Replica scrub (issue 20): an operation of its own kind, one at a time (its target is the constant
-- 'replica-sets', and the one-running-per-target index does the rest), and a row for every segment
-- it repaired or could not, so that repair counts survive restarts and any api-server answers them.
ALTER TABLE operation DROP CONSTRAINT operation_target;
ALTER TABLE operation ADD CONSTRAINT operation_target CHECK (
    target_extern_id ~ '^(img|disk|snap)-[0-9a-z]{16}$'
    OR (kind = 'recovery' AND target_extern_id ~ '^rs-[0-9]+-[0-9]+$')
    OR (kind = 'scrub' AND target_extern_id = 'replica-sets'));
ALTER TABLE operation DROP CONSTRAINT operation_kind;
ALTER TABLE operation ADD CONSTRAINT operation_kind
    CHECK (kind IN ('flatten', 'import', 'clone', 'copy', 'recovery', 'scrub'));

-- No foreign keys to node or lc: the record of a repair outlives both.
CREATE TABLE replica_repair (
    repair_id     BIGSERIAL   PRIMARY KEY,
    operation_id  TEXT        NOT NULL,
    node_id       TEXT        NOT NULL,
    family_id     BIGINT      NOT NULL,
    column_no     INTEGER     NOT NULL,
    lc_id         BIGINT      NOT NULL,
    -- numbered across the lc: pc * 16 + segment
    segment       BIGINT      NOT NULL CHECK (segment >= 0),
    -- damaged: its bytes failed its own CRCs; differed: its content differed from the other members'
    reason        TEXT        NOT NULL CHECK (reason IN ('damaged', 'differed')),
    -- repaired from a good member, or unresolved (no member to trust: no majority, or none intact)
    outcome       TEXT        NOT NULL CHECK (outcome IN ('repaired', 'unresolved')),
    recorded_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX replica_repair_node_idx ON replica_repair (node_id);

-- GET /v1/operations lists the newest first (and the leader looks up the last scrub so): without
-- this, every listing sorted the whole table. Scanned backwards for the newest.
CREATE INDEX operation_created_idx ON operation (created_at);
