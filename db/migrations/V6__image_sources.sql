-- Image import (the seed's Ymer): an image may be registered from a source URL instead of an
-- upload. Its size is unknown until the import has read the source, so size_bytes may be null, but
-- only for an image that is importing or whose import failed.

ALTER TABLE resource ALTER COLUMN size_bytes DROP NOT NULL;
ALTER TABLE resource ADD CONSTRAINT resource_size_known_unless_importing CHECK (
    size_bytes IS NOT NULL OR (kind = 'image' AND state IN ('importing', 'error')));

-- Where an imported image came from. It outlives the import: an evicted image is re-imported from it.
CREATE TABLE image_source (
    extern_id TEXT PRIMARY KEY REFERENCES resource (extern_id) ON DELETE CASCADE,
    url       TEXT NOT NULL CHECK (url <> ''),
    format    TEXT NOT NULL CHECK (format IN ('raw', 'qcow2')),
    sha256    TEXT CHECK (sha256 ~ '^[0-9a-f]{64}$')
);

-- The kind check was declared inline in V4, so PostgreSQL named it (operation_kind_check); look it
-- up rather than rely on the name: the check constraint on the kind column alone.
DO $$
DECLARE
    found TEXT;
BEGIN
    FOR found IN
        SELECT c.conname FROM pg_constraint c
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attname = 'kind'
        WHERE c.conrelid = 'operation'::regclass AND c.contype = 'c' AND c.conkey = ARRAY[a.attnum]
          AND c.conname NOT LIKE 'operation_flatten%'
    LOOP
        EXECUTE format('ALTER TABLE operation DROP CONSTRAINT %I', found);
    END LOOP;
END $$;

ALTER TABLE operation ADD CONSTRAINT operation_kind CHECK (kind IN ('flatten', 'import'));
ALTER TABLE operation ADD CONSTRAINT operation_import_targets_an_image CHECK (
    kind <> 'import' OR target_extern_id LIKE 'img-%');
