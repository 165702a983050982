-- 0003_portal: what the hosted portal keeps beyond the API's objects.
--
-- browser_sessions are the portal sign-ins of one browser for one Connect
-- Session (only the SHA-256 of the cookie secret is kept); login_codes the
-- hosted-login one-time codes, one per browser session (only their hash).
-- connect_sessions gain replay_count (times its used url was opened in
-- another browser) and ended_at (when the portal ended it).

CREATE TABLE browser_sessions (
    id          text COLLATE "C" PRIMARY KEY,
    project_id  text COLLATE "C" NOT NULL,
    session_id  text COLLATE "C" NOT NULL REFERENCES connect_sessions (id),
    user_id     text COLLATE "C",
    secret_hash bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);

CREATE INDEX browser_sessions_session_id ON browser_sessions (session_id);

CREATE TABLE login_codes (
    browser_session_id text COLLATE "C" PRIMARY KEY REFERENCES browser_sessions (id) ON DELETE CASCADE,
    email              text NOT NULL,
    code_hash          bytea NOT NULL,
    attempts           integer NOT NULL DEFAULT 0,
    created_at         timestamptz NOT NULL,
    expires_at         timestamptz NOT NULL
);

ALTER TABLE connect_sessions ADD COLUMN replay_count integer NOT NULL DEFAULT 0;
ALTER TABLE connect_sessions ADD COLUMN ended_at timestamptz;
