-- Storage nodes (the remote backend) and where each lc family lives. Nodes register themselves and
-- heartbeat by repeating the registration; their state (up, unreachable, down) follows from the age
-- of the last heartbeat, draining is set by an operator.

CREATE TABLE node (
    node_id           TEXT        PRIMARY KEY CHECK (node_id ~ '^[a-z0-9][a-z0-9.-]{0,62}$'),
    http_endpoint     TEXT        NOT NULL CHECK (http_endpoint ~ '^https?://[^/]+$'),
    nbd_host          TEXT        NOT NULL CHECK (length(nbd_host) BETWEEN 1 AND 253),
    nbd_port          INTEGER     NOT NULL CHECK (nbd_port BETWEEN 1 AND 65535),
    -- the node's bearer token: api-server calls the node with it and hands it to client-agents
    token             TEXT        NOT NULL CHECK (length(token) >= 16),
    capacity_bytes    BIGINT      NOT NULL CHECK (capacity_bytes > 0),
    used_bytes        BIGINT      NOT NULL CHECK (used_bytes >= 0),
    draining          BOOLEAN     NOT NULL DEFAULT FALSE,
    registered_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_heartbeat_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- A family's PCs are striped over node_ids in order: PC i lives on node_ids[i % n + 1]. Chosen when
-- the family's root lc is defined and never changed, so that every clone, snapshot and clone of a
-- clone redirects on the node that holds its parent's copy of the PC.
CREATE TABLE family_placement (
    family_id  BIGINT      PRIMARY KEY,
    node_ids   TEXT[]      NOT NULL CHECK (cardinality(node_ids) BETWEEN 1 AND 64),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
