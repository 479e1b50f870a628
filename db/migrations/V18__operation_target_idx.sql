-- GET /v1/operations?targetId=: one resource's operations, newest first, without reading the others.
CREATE INDEX operation_target_idx ON operation (target_extern_id, created_at);
