-- Per-node registration credentials: PUT /v1/nodes/{id} accepts only the credential an operator
-- issued for that id (POST /v1/nodes/{id}:issueCredential), so that a node cannot register as
-- another and a node credential works for nothing else. Only a SHA-256 digest is kept: the
-- credential is shown once, when issued. Issuing again replaces it; deleting the row revokes it.

CREATE TABLE node_credential (
    node_id    TEXT        PRIMARY KEY CHECK (node_id ~ '^[a-z0-9][a-z0-9.-]{0,62}$'),
    digest     BYTEA       NOT NULL CHECK (length(digest) = 32),
    issued_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

COMMENT ON COLUMN node.token IS
    'the node''s control token: api-server calls the node with it and derives the key that signs the'
    ' node''s data tokens from it; it never leaves api-server';
