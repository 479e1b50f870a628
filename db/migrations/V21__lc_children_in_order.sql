-- The console draws a lineage tree with the first few children of each lc: an index on the parent
-- alone makes that read and sort every child (100,000 clones of one image), one on (parent, lc_id)
-- walks the first few in order. It serves every lookup by parent the old one did.
CREATE INDEX lc_parent_child_idx ON lc (parent_lc_id, lc_id);
DROP INDEX lc_parent_idx;
