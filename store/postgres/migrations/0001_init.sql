-- Initial schema of connectd on PostgreSQL.
--
-- IDs are text: object IDs sort by creation time (see connectd.NewID), so
-- ordering by id is ordering by age, provided that ids compare bytewise: hence
-- COLLATE "C" on every id column. Times are timestamptz, read back in UTC.

CREATE TABLE projects (
    id         text COLLATE "C" PRIMARY KEY,
    name       text NOT NULL,
    settings   jsonb NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE api_keys (
    id          text COLLATE "C" PRIMARY KEY,
    project_id  text COLLATE "C" NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    secret_hash bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL
);

CREATE INDEX api_keys_project_id ON api_keys (project_id);

CREATE TABLE users (
    project_id       text COLLATE "C" NOT NULL,
    id               text COLLATE "C" NOT NULL,
    email            text NOT NULL,
    email_lower      text NOT NULL,
    full_name        text,
    birthday         text,
    preferred_locale text,
    metadata         jsonb,
    address          jsonb,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    PRIMARY KEY (project_id, id),
    UNIQUE (project_id, email_lower)
);

CREATE TABLE connect_sessions (
    id            text COLLATE "C" PRIMARY KEY,
    project_id    text COLLATE "C" NOT NULL,
    callback_url  text,
    intent        jsonb NOT NULL,
    appearance    jsonb,
    user_id       text COLLATE "C",
    user_details  jsonb,
    status        text NOT NULL CHECK (status IN ('open', 'active', 'completed', 'aborted', 'failed', 'expired')),
    token_hash    bytea,
    token_used_at timestamptz,
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

CREATE INDEX connect_sessions_project_id ON connect_sessions (project_id, id);
CREATE INDEX connect_sessions_project_user_id ON connect_sessions (project_id, user_id, id);

CREATE TABLE idempotency_keys (
    project_id   text COLLATE "C" NOT NULL,
    key          text NOT NULL,
    request_hash bytea NOT NULL,
    resource_id  text,
    created_at   timestamptz NOT NULL,
    locked_until timestamptz NOT NULL,
    PRIMARY KEY (project_id, key)
);
