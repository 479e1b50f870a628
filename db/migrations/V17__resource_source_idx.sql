-- Listing by source (GET /v1/disks/{id}/snapshots, GET /v1/snapshots?diskId=, GET /v1/disks?sourceId=)
-- walks one source's resources of one kind in page order, instead of every resource of the kind.
CREATE INDEX resource_source_idx ON resource (source_extern_id, kind, created_at, extern_id)
    WHERE source_extern_id IS NOT NULL;
