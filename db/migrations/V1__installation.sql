-- The identity of one Sprig installation: every api-server instance that shares this database
-- sees the same row. A single-row table, guarded by the database itself.
CREATE TABLE installation (
    singleton   BOOLEAN     PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    id          UUID        NOT NULL DEFAULT gen_random_uuid(),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

INSERT INTO installation DEFAULT VALUES;
