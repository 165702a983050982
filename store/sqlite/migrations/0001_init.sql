-- 0001_init: the first schema of connectd on SQLite.
-- Times are INTEGER milliseconds since the Unix epoch (UTC).
-- JSON columns hold the encoding/json form of the Go values.

CREATE TABLE projects (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    settings   TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE api_keys (
    id          TEXT    NOT NULL PRIMARY KEY,
    project_id  TEXT    NOT NULL REFERENCES projects (id),
    secret_hash BLOB    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX api_keys_project ON api_keys (project_id);

CREATE TABLE users (
    project_id       TEXT    NOT NULL REFERENCES projects (id),
    id               TEXT    NOT NULL,
    email            TEXT    NOT NULL,
    email_lower      TEXT    NOT NULL,
    full_name        TEXT,
    birthday         TEXT,
    preferred_locale TEXT,
    metadata         TEXT    NOT NULL DEFAULT '{}',
    address          TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (project_id, id),
    UNIQUE (project_id, email_lower)
) STRICT;

CREATE TABLE connect_sessions (
    id            TEXT    NOT NULL PRIMARY KEY,
    project_id    TEXT    NOT NULL REFERENCES projects (id),
    callback_url  TEXT,
    intent        TEXT    NOT NULL,
    appearance    TEXT,
    user_id       TEXT,
    user_details  TEXT,
    status        TEXT    NOT NULL CHECK (status IN ('open', 'active', 'completed', 'aborted', 'failed', 'expired')),
    token_hash    BLOB,
    token_used_at INTEGER,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

CREATE INDEX connect_sessions_project ON connect_sessions (project_id, id);
CREATE INDEX connect_sessions_user ON connect_sessions (project_id, user_id, id);

CREATE TABLE idempotency_keys (
    project_id   TEXT    NOT NULL REFERENCES projects (id),
    key          TEXT    NOT NULL,
    request_hash BLOB    NOT NULL,
    resource_id  TEXT,
    created_at   INTEGER NOT NULL,
    locked_until INTEGER NOT NULL,
    PRIMARY KEY (project_id, key)
) STRICT;
