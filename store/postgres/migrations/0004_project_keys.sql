-- Every row belongs to an existing project, as on SQLite: a user, session
-- or idempotency key of an unknown project is refused by the database, not
-- only by the code that writes it.
ALTER TABLE users ADD CONSTRAINT users_project_fk FOREIGN KEY (project_id) REFERENCES projects (id);
ALTER TABLE connect_sessions ADD CONSTRAINT connect_sessions_project_fk FOREIGN KEY (project_id) REFERENCES projects (id);
ALTER TABLE idempotency_keys ADD CONSTRAINT idempotency_keys_project_fk FOREIGN KEY (project_id) REFERENCES projects (id);
ALTER TABLE browser_sessions ADD CONSTRAINT browser_sessions_project_fk FOREIGN KEY (project_id) REFERENCES projects (id);
