-- 0003_portal: what the hosted portal keeps beyond the API's objects.
-- browser_sessions are the portal sign-ins of one browser for one Connect
-- Session (only the SHA-256 of the cookie secret is kept); login_codes the
-- hosted-login one-time codes, one per browser session (only their hash).
-- connect_sessions gain replay_count (times its used url was opened in
-- another browser) and ended_at (when the portal ended it).

CREATE TABLE browser_sessions (
    id          TEXT    NOT NULL PRIMARY KEY,
    project_id  TEXT    NOT NULL REFERENCES projects (id),
    session_id  TEXT    NOT NULL REFERENCES connect_sessions (id),
    user_id     TEXT,
    secret_hash BLOB    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
) STRICT;

CREATE INDEX browser_sessions_session ON browser_sessions (session_id);

CREATE TABLE login_codes (
    browser_session_id TEXT    NOT NULL PRIMARY KEY REFERENCES browser_sessions (id) ON DELETE CASCADE,
    email              TEXT    NOT NULL,
    code_hash          BLOB    NOT NULL,
    attempts           INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,
    expires_at         INTEGER NOT NULL
) STRICT;

ALTER TABLE connect_sessions ADD COLUMN replay_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE connect_sessions ADD COLUMN ended_at INTEGER;
