-- Every action attempt, kept across restarts (issue 12): who, what, where, GitLab's answer.
CREATE TABLE audit (
    id BIGSERIAL PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    person_id BIGINT NOT NULL,
    person TEXT NOT NULL,
    action TEXT NOT NULL,
    project_id BIGINT NOT NULL,
    pipeline_id BIGINT,
    job_id BIGINT,
    environment TEXT,
    status INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    message TEXT NOT NULL,
    client_address TEXT,
    request_id TEXT
);
CREATE INDEX audit_project_at ON audit (project_id, at_ms);
CREATE INDEX audit_at ON audit (at_ms);
