-- Several copies of one image (the seed's clone limit): past sprig.cache.max-clones-per-copy clones
-- on its copies, another copy is made on nodes apart from them, and new clones go to the copy with
-- the fewest. Each copy carries a count of the clones made from it, added to by the statement that
-- records a clone's use of the copy (no extra statement on the clone path). It is not lowered when
-- clones go (a trigger doing so deadlocked deletes against clones); it is recounted whenever it
-- claims a copy is past the limit, before another copy is made.

ALTER TABLE image_copy ADD COLUMN clones BIGINT NOT NULL DEFAULT 0 CHECK (clones >= 0);
UPDATE image_copy c SET clones = (SELECT count(*) FROM lc WHERE lc.parent_lc_id = c.lc_id);
CREATE INDEX image_copy_load_idx ON image_copy (extern_id, clones, lc_id) WHERE ready;

-- At most one copy of an image is being filled at a time (an import, or a copy past the limit).
CREATE UNIQUE INDEX image_copy_one_filling ON image_copy (extern_id) WHERE NOT ready;

-- Hits are counted on the copy that served them, in the statement that records its use: a single
-- counter row would serialise every clone of every image on its lock. cache_stats.hits keeps the
-- hits of copies that are gone (folded in when they are evicted or their image is deleted).
ALTER TABLE image_copy ADD COLUMN hits BIGINT NOT NULL DEFAULT 0 CHECK (hits >= 0);

-- Making another copy of an image is an operation, counted in PCs.
ALTER TABLE operation DROP CONSTRAINT operation_kind;
ALTER TABLE operation ADD CONSTRAINT operation_kind CHECK (kind IN ('flatten', 'import', 'clone', 'copy'));
ALTER TABLE operation ADD CONSTRAINT operation_copy_targets_an_image CHECK (
    kind <> 'copy' OR target_extern_id LIKE 'img-%');
