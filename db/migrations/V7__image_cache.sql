-- The image cache (the seed's Frigga): an image's copy is the frozen root lc its clones hang under.
-- Copies of images imported from a source are cache entries: they count against the cache's
-- capacity and may be evicted (least recently used first) once no lc reads from them; the image
-- then stays available, with no copy, and its next clone imports it again. An uploaded image has
-- no source to come back from: its copy is pinned.

CREATE TABLE image_copy (
    lc_id        BIGINT      PRIMARY KEY REFERENCES lc (lc_id) ON DELETE CASCADE,
    extern_id    TEXT        NOT NULL REFERENCES resource (extern_id) ON DELETE CASCADE,
    -- false while an import fills it: it is not cloned from, but its bytes are reserved
    ready        BOOLEAN     NOT NULL DEFAULT FALSE,
    -- image data it holds (segments that are not all zero), or expects to hold while filling
    stored_bytes BIGINT      NOT NULL CHECK (stored_bytes >= 0),
    -- the last clone from it, or its import: what LRU eviction orders by
    last_used_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX image_copy_image_idx ON image_copy (extern_id);
CREATE INDEX image_copy_lru_idx ON image_copy (last_used_at) WHERE ready;

-- Copies of the images that exist already: an uploaded image's (pinned) and an imported one's.
INSERT INTO image_copy (lc_id, extern_id, ready, stored_bytes, last_used_at, created_at)
SELECT lc_id, extern_id, TRUE, coalesce(size_bytes, 0), updated_at, updated_at
FROM resource WHERE kind = 'image' AND state = 'available' AND lc_id IS NOT NULL;

-- An evicted image is available with no lc: cloning it imports it again.
ALTER TABLE resource DROP CONSTRAINT resource_available_has_lc;
ALTER TABLE resource ADD CONSTRAINT resource_available_has_lc CHECK (
    state <> 'available' OR lc_id IS NOT NULL OR kind = 'image');

-- What the cache has done, shared by every api-server instance on the database. One row.
CREATE TABLE cache_stats (
    id             BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (id),
    -- disks cloned from a cached copy, and disks requested while their image was not cached
    hits           BIGINT  NOT NULL DEFAULT 0 CHECK (hits >= 0),
    misses         BIGINT  NOT NULL DEFAULT 0 CHECK (misses >= 0),
    evictions      BIGINT  NOT NULL DEFAULT 0 CHECK (evictions >= 0),
    imports        BIGINT  NOT NULL DEFAULT 0 CHECK (imports >= 0),
    bytes_imported BIGINT  NOT NULL DEFAULT 0 CHECK (bytes_imported >= 0)
);
INSERT INTO cache_stats DEFAULT VALUES;

-- A bulk clone of an image that is not cached: an operation that waits for the import, then clones.
ALTER TABLE operation DROP CONSTRAINT operation_kind;
ALTER TABLE operation ADD CONSTRAINT operation_kind CHECK (kind IN ('flatten', 'import', 'clone'));
ALTER TABLE operation ADD CONSTRAINT operation_clone_targets_an_image CHECK (
    kind <> 'clone' OR target_extern_id LIKE 'img-%');
-- The stable problem code of a failure (CACHE_FULL, …), beside its message.
ALTER TABLE operation ADD COLUMN error_code TEXT;

-- Bulk clones waiting on an image's import run beside that import: one running operation per
-- target, except clones.
DROP INDEX operation_one_running_per_target;
CREATE UNIQUE INDEX operation_one_running_per_target ON operation (target_extern_id)
    WHERE state = 'running' AND kind <> 'clone';

-- What a waiting bulk clone will create.
CREATE TABLE clone_request (
    operation_id TEXT    PRIMARY KEY REFERENCES operation (operation_id) ON DELETE CASCADE,
    name_prefix  TEXT    NOT NULL,
    count        INTEGER NOT NULL CHECK (count BETWEEN 1 AND 5000),
    size_bytes   BIGINT  CHECK (size_bytes > 0)
);
