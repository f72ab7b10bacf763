-- Kiosk tokens (issue 13): read-only, revocable, each limited to one wall board. Only the
-- token's SHA-256 is kept; the token itself is shown once, when it is made.
CREATE TABLE kiosk_tokens (
    id BIGSERIAL PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    board TEXT NOT NULL,
    -- The projects its maker could vouch for (comma-separated ids): the screen reads no more,
    -- whatever the board later shows. NULL: made on the command line, the board as configured.
    projects TEXT,
    label TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    last_used_at_ms BIGINT,
    last_used_from TEXT,
    revoked_at_ms BIGINT
);
