-- Idempotency-Key on POSTs: the first response to a (principal, key) is kept and replayed to every
-- retry with the same request; a retry with a different request under the same key is refused.
CREATE TABLE idempotency_key (
    principal      TEXT        NOT NULL,
    key            TEXT        NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    method         TEXT        NOT NULL,
    path           TEXT        NOT NULL,
    -- SHA-256 of method, path, query and body: what "the same request" means
    request_hash   TEXT        NOT NULL,
    -- null while the first request is still being served
    status         INTEGER     CHECK (status BETWEEN 100 AND 599),
    content_type   TEXT,
    location       TEXT,
    body           BYTEA,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (principal, key),
    CHECK ((status IS NULL) = (body IS NULL))
);

CREATE INDEX idempotency_key_created_idx ON idempotency_key (created_at);
