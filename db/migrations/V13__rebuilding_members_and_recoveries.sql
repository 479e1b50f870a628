-- Rebuilding members and recoveries (decision 012). A member is in_sync, stale, or rebuilding: a
-- node that joined a set to replace a member whose node is down, takes every new write, and is
-- being filled from an in-sync member; it serves no reads and becomes in_sync only once its copy is
-- complete and verified.

-- The state check was declared inline in V11, so PostgreSQL named it; look it up rather than rely
-- on the name: the check constraint on the state column alone.
DO $$
DECLARE
    found TEXT;
BEGIN
    FOR found IN
        SELECT c.conname FROM pg_constraint c
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attname = 'state'
        WHERE c.conrelid = 'replica_member'::regclass AND c.contype = 'c' AND c.conkey = ARRAY[a.attnum]
    LOOP
        EXECUTE format('ALTER TABLE replica_member DROP CONSTRAINT %I', found);
    END LOOP;
END $$;

ALTER TABLE replica_member ADD CONSTRAINT replica_member_state
    CHECK (state IN ('in_sync', 'stale', 'rebuilding'));

-- A set is degraded while any member is not in sync: the views and the gauge find those members
-- (few among many in-sync ones) through this index.
DROP INDEX replica_member_stale_idx;
CREATE INDEX replica_member_not_in_sync_idx ON replica_member (family_id, column_no) WHERE state <> 'in_sync';

-- A recovery is an operation on one replica set, counted in bytes; its target names the set
-- (rs-<family>-<column>), so that the one-running-per-target index allows one recovery per set.
DO $$
DECLARE
    found TEXT;
BEGIN
    FOR found IN
        SELECT c.conname FROM pg_constraint c
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attname = 'target_extern_id'
        WHERE c.conrelid = 'operation'::regclass AND c.contype = 'c' AND c.conkey = ARRAY[a.attnum]
    LOOP
        EXECUTE format('ALTER TABLE operation DROP CONSTRAINT %I', found);
    END LOOP;
END $$;

ALTER TABLE operation ADD CONSTRAINT operation_target CHECK (
    target_extern_id ~ '^(img|disk|snap)-[0-9a-z]{16}$'
    OR (kind = 'recovery' AND target_extern_id ~ '^rs-[0-9]+-[0-9]+$'));
ALTER TABLE operation DROP CONSTRAINT operation_kind;
ALTER TABLE operation ADD CONSTRAINT operation_kind CHECK (kind IN ('flatten', 'import', 'clone', 'copy', 'recovery'));
ALTER TABLE operation ADD CONSTRAINT operation_recovery_targets_a_set CHECK (
    kind <> 'recovery' OR target_extern_id LIKE 'rs-%');

-- What a recovery works on, and how far it got: the lcs whose fill finished are not filled again
-- when the leader resumes it after a crash (and a fill of an lc it was filling copies only the
-- segments the new member does not hold yet). No foreign key to node: the record outlives a node
-- that is deleted once it left every set.
CREATE TABLE recovery (
    operation_id   TEXT    PRIMARY KEY REFERENCES operation (operation_id) ON DELETE CASCADE,
    family_id      BIGINT  NOT NULL,
    column_no      INTEGER NOT NULL,
    -- the member being replaced (its node is down) and the one replacing it
    old_node_id    TEXT    NOT NULL,
    new_node_id    TEXT    NOT NULL CHECK (new_node_id <> old_node_id),
    filled_lc_ids  BIGINT[] NOT NULL DEFAULT '{}'
);

CREATE INDEX recovery_set_idx ON recovery (family_id, column_no);
