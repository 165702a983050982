-- 0002_resources: the built-in platform's resources (plans, add-ons, SIMs,
-- devices, subscriptions, payment methods, payments, portings).
-- Every kind shares one table: a few indexed columns and the resource's
-- JSON. user_id and parent_id are NULL when the resource has none.
-- version increases with every write, for compare-and-swap updates.

CREATE TABLE resources (
    project_id TEXT    NOT NULL REFERENCES projects (id),
    id         TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    user_id    TEXT,
    parent_id  TEXT,
    status     TEXT,
    data       TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (project_id, id)
) STRICT;

CREATE INDEX resources_kind ON resources (project_id, kind, id);
CREATE INDEX resources_user ON resources (project_id, kind, user_id, id);
CREATE INDEX resources_parent ON resources (project_id, kind, parent_id, id);
