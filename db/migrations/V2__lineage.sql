-- Lineage: extern_id -> lc (the seed's Metaserver). An lc is one node of the ROW tree; images,
-- disks and snapshots are resources that point at one lc each. The database guards the rules
-- that keep the tree sound, so that no code path can break them.

CREATE SEQUENCE lc_id_seq AS BIGINT START WITH 1;

CREATE TABLE lc (
    lc_id        BIGINT      PRIMARY KEY,
    parent_lc_id BIGINT      REFERENCES lc (lc_id),
    -- the root lc of the family; every lc of a family shares its placement, even after a flatten
    family_id    BIGINT      NOT NULL,
    size_bytes   BIGINT      NOT NULL CHECK (size_bytes > 0),
    frozen       BOOLEAN     NOT NULL DEFAULT FALSE,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (parent_lc_id IS NULL OR parent_lc_id <> lc_id)
);

CREATE INDEX lc_parent_idx ON lc (parent_lc_id);

-- ROW: a child reads unowned segments from its parent, so a parent must never change again.
CREATE FUNCTION lc_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.frozen AND NOT NEW.frozen THEN
        RAISE EXCEPTION 'lc % is frozen and cannot be unfrozen', OLD.lc_id USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.parent_lc_id IS NOT NULL
       AND (TG_OP = 'INSERT' OR NEW.parent_lc_id IS DISTINCT FROM OLD.parent_lc_id)
       AND NOT (SELECT frozen FROM lc WHERE lc_id = NEW.parent_lc_id) THEN
        RAISE EXCEPTION 'parent lc % of lc % is not frozen', NEW.parent_lc_id, NEW.lc_id
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.parent_lc_id IS NOT NULL AND NEW.size_bytes < (SELECT size_bytes FROM lc WHERE lc_id = NEW.parent_lc_id) THEN
        RAISE EXCEPTION 'lc % is smaller than its parent', NEW.lc_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER lc_guard BEFORE INSERT OR UPDATE ON lc FOR EACH ROW EXECUTE FUNCTION lc_guard();

-- Images, disks and snapshots: what users see, by extern_id.
CREATE TABLE resource (
    extern_id        TEXT        PRIMARY KEY,
    kind             TEXT        NOT NULL CHECK (kind IN ('image', 'disk', 'snapshot')),
    name             TEXT        NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
    size_bytes       BIGINT      NOT NULL CHECK (size_bytes > 0),
    state            TEXT        NOT NULL,
    -- null only while an image waits for its content
    lc_id            BIGINT      UNIQUE REFERENCES lc (lc_id),
    -- what a disk was cloned from, or the disk a snapshot was taken of
    source_extern_id TEXT        REFERENCES resource (extern_id) ON DELETE SET NULL,
    bytes_received   BIGINT      NOT NULL DEFAULT 0 CHECK (bytes_received >= 0),
    error            TEXT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT resource_extern_id_prefix CHECK (
        extern_id ~ ('^' || CASE kind WHEN 'image' THEN 'img' WHEN 'disk' THEN 'disk' ELSE 'snap' END
                     || '-[0-9a-z]{16}$')),
    CONSTRAINT resource_state_per_kind CHECK (
        (kind = 'image' AND state IN ('queued', 'importing', 'available', 'error', 'deleting'))
        OR (kind = 'disk' AND state IN ('creating', 'available', 'flattening', 'deleting', 'error'))
        OR (kind = 'snapshot' AND state IN ('creating', 'available', 'deleting', 'error'))),
    CONSTRAINT resource_available_has_lc CHECK (state <> 'available' OR lc_id IS NOT NULL),
    CONSTRAINT resource_upload_within_size CHECK (bytes_received <= size_bytes)
);

-- Names are unique per kind among resources that are not being deleted.
CREATE UNIQUE INDEX resource_name_per_kind ON resource (kind, name) WHERE state <> 'deleting';
-- Keyset pagination walks (kind, created_at, extern_id).
CREATE INDEX resource_page_idx ON resource (kind, created_at, extern_id);
