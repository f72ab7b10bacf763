-- Replicas sharing this database (docs/operations.md, "Replicas"): the one holding the
-- leader's advisory lock polls GitLab, says where the others reach it, and writes what changed
-- here, with a NOTIFY on `stageboard_changes` so that they read it at once. The rows are kept
-- a while, so that a replica whose connection dropped (and missed its notifications) reads
-- what it missed.
CREATE TABLE replica_changes (
    seq BIGSERIAL PRIMARY KEY,
    -- The replica that wrote it (it does not apply its own).
    origin TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL DEFAULT now(),
    body JSONB NOT NULL
);

CREATE INDEX replica_changes_at ON replica_changes (at);

CREATE TABLE replica_leader (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    replica TEXT NOT NULL,
    url TEXT NOT NULL,
    since TIMESTAMPTZ NOT NULL
);

-- The newest row pruned: a replica whose last row read is older missed changes, and tells its
-- browsers to read everything again.
CREATE TABLE replica_pruned (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    upto BIGINT NOT NULL
);
