-- 0002_resources: the built-in platform's resources (plans, add-ons, SIMs,
-- devices, subscriptions, payment methods, payments, portings).
--
-- Every kind shares one table: a few indexed columns and the resource's
-- JSON. user_id, parent_id and status are NULL when the resource has none.
-- version increases with every write, for compare-and-swap updates.
--
-- data is json, not jsonb: json keeps the text exactly as written (after
-- checking that it is JSON), as SQLite does, whereas jsonb would reorder
-- keys, drop duplicates, rewrite numbers (1e2 becomes 100) and refuse
-- \u0000. Nothing queries inside data; the columns the store filters on are
-- kept beside it.

CREATE TABLE resources (
    project_id text COLLATE "C" NOT NULL REFERENCES projects (id),
    id         text COLLATE "C" NOT NULL,
    kind       text NOT NULL,
    user_id    text COLLATE "C",
    parent_id  text COLLATE "C",
    status     text,
    data       json NOT NULL,
    version    bigint NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (project_id, id)
);

CREATE INDEX resources_kind ON resources (project_id, kind, id);
CREATE INDEX resources_user ON resources (project_id, kind, user_id, id);
CREATE INDEX resources_parent ON resources (project_id, kind, parent_id, id);
