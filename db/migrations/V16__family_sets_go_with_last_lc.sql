-- A family's replica sets go with its last lc. Before this, the sets of a family whose every image,
-- disk and snapshot had been deleted stayed for good: recoveries rebuilt and caught up their
-- columns (copying nothing), drains moved them, scrubs listed them, and their nodes stayed members
-- of them, which refuses a node's removal until a drain has moved them too.
--
-- An lc is inserted only under a parent that exists, and a parent with children is not deleted, so
-- once the last lc of a family is gone none joins it again. Two transactions deleting a family's
-- last two lcs at once would each still see the other's; the sets' rows, locked first, make the
-- second wait for the first, and its check (a statement of its own, so a snapshot taken after that
-- wait) then sees the first one's lc gone. The order, an lc's row and then its family's sets (by
-- column, as ReplicaSetRepository.lock takes them), crosses no other: the set operations lock the
-- sets alone, and a deadlock would be run again by Transactions anyway.
CREATE INDEX lc_family_idx ON lc (family_id);

CREATE FUNCTION family_sets_go_with_last_lc() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM replica_set WHERE family_id = OLD.family_id ORDER BY column_no FOR UPDATE;
    IF FOUND AND NOT EXISTS (SELECT 1 FROM lc WHERE family_id = OLD.family_id) THEN
        -- the members go with their sets (ON DELETE CASCADE)
        DELETE FROM replica_set WHERE family_id = OLD.family_id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER lc_family_sets_go_with_last_lc
    AFTER DELETE ON lc
    FOR EACH ROW EXECUTE FUNCTION family_sets_go_with_last_lc();
