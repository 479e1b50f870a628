-- Operations: long-running work (flatten, later import, cascade delete) that a request starts and a
-- client follows by polling GET /v1/operations/{id}. The row is the work's durable record: progress
-- is written as it goes, and work left running by a crash is resumed when api-server starts.
CREATE TABLE operation (
    operation_id     TEXT        PRIMARY KEY CHECK (operation_id ~ '^op-[0-9a-z]{16}$'),
    kind             TEXT        NOT NULL CHECK (kind IN ('flatten')),
    -- The resource the work is on. Kept as text without a foreign key on purpose: the record of
    -- what was done to a disk outlives the disk (an operator can still read what op-… did).
    target_extern_id TEXT        NOT NULL CHECK (target_extern_id ~ '^(img|disk|snap)-[0-9a-z]{16}$'),
    state            TEXT        NOT NULL CHECK (state IN ('running', 'succeeded', 'failed')),
    -- progress in the kind's unit (PCs for a flatten)
    done             BIGINT      NOT NULL DEFAULT 0 CHECK (done >= 0),
    total            BIGINT      NOT NULL CHECK (total >= 0),
    error            TEXT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at      TIMESTAMPTZ,
    CONSTRAINT operation_done_within_total CHECK (done <= total),
    CONSTRAINT operation_flatten_targets_a_disk CHECK (kind <> 'flatten' OR target_extern_id LIKE 'disk-%'),
    CONSTRAINT operation_succeeded_is_complete CHECK (state <> 'succeeded' OR done = total),
    CONSTRAINT operation_failed_says_why CHECK ((state = 'failed') = (error IS NOT NULL AND error <> '')),
    CONSTRAINT operation_finished_when_not_running CHECK ((state = 'running') = (finished_at IS NULL)),
    CONSTRAINT operation_times_in_order CHECK (updated_at >= created_at AND (finished_at IS NULL OR finished_at >= created_at))
);

-- One piece of work at a time per resource: a second request finds the running one.
CREATE UNIQUE INDEX operation_one_running_per_target ON operation (target_extern_id) WHERE state = 'running';
-- Start-up looks for work a crash left running.
CREATE INDEX operation_running_idx ON operation (created_at) WHERE state = 'running';
