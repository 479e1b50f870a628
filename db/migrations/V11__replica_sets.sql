-- Replica sets (decision 011): each stripe column of a family is a set of distinct nodes that all
-- hold that column's PCs of every lc of the family. A member is in_sync (it has every acknowledged
-- write) or stale (it was dropped; it serves nothing until it is brought back). Every member dropped
-- bumps its column's epoch; the nodes fence data tokens issued at an older epoch.

CREATE TABLE replica_set (
    family_id  BIGINT      NOT NULL,
    -- PC i of every lc of the family lives in column i % (number of columns)
    column_no  INTEGER     NOT NULL CHECK (column_no BETWEEN 0 AND 63),
    epoch      BIGINT      NOT NULL DEFAULT 1 CHECK (epoch >= 1),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (family_id, column_no)
);

CREATE TABLE replica_member (
    family_id  BIGINT      NOT NULL,
    column_no  INTEGER     NOT NULL,
    node_id    TEXT        NOT NULL REFERENCES node (node_id),
    -- the member's place in its set: column c prefers the member at position c % members for reads
    position   INTEGER     NOT NULL CHECK (position BETWEEN 0 AND 15),
    state      TEXT        NOT NULL CHECK (state IN ('in_sync', 'stale')),
    changed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (family_id, column_no, node_id),
    UNIQUE (family_id, column_no, position),
    FOREIGN KEY (family_id, column_no) REFERENCES replica_set (family_id, column_no) ON DELETE CASCADE
);

-- the sets a node is in: its fences, pushed when it comes back
CREATE INDEX replica_member_node_idx ON replica_member (node_id);

-- Epochs only go up: a fence raised on a node never comes down, so an epoch that went down would
-- leave the set's members refusing every token issued after it.
CREATE FUNCTION replica_set_epoch_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.epoch < OLD.epoch THEN
        RAISE EXCEPTION 'the epoch of replica set (%, %) cannot go down from % to %',
            OLD.family_id, OLD.column_no, OLD.epoch, NEW.epoch USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER replica_set_epoch_guard BEFORE UPDATE OF epoch ON replica_set
    FOR EACH ROW EXECUTE FUNCTION replica_set_epoch_guard();

-- Families placed before replication keep their columns, each a set of one.
INSERT INTO replica_set (family_id, column_no, epoch, created_at)
SELECT p.family_id, (c.ordinality - 1)::INTEGER, 1, p.created_at
FROM family_placement p, unnest(p.node_ids) WITH ORDINALITY AS c(node_id, ordinality);

INSERT INTO replica_member (family_id, column_no, node_id, position, state, changed_at)
SELECT p.family_id, (c.ordinality - 1)::INTEGER, c.node_id, 0, 'in_sync', p.created_at
FROM family_placement p, unnest(p.node_ids) WITH ORDINALITY AS c(node_id, ordinality);

DROP TABLE family_placement;
