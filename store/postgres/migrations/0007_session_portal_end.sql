-- 0007_session_portal_end: an entered session ends on its own (issue 11.6)
-- and a double tap on "Continue" is told from a replay (issue 11.7).
--
-- portal_until is when the last browser session the url opened stops
-- working: the latest expires_at of its browser sessions, or the time a
-- replay revoked them. An active session reads expired once it has passed.
-- entry_binding_hash is the SHA-256 of the pre-consumption cookie the
-- confirming browser sent with the consuming POST; the same browser's second
-- POST presents the same cookie.

ALTER TABLE connect_sessions ADD COLUMN portal_until timestamptz;
ALTER TABLE connect_sessions ADD COLUMN entry_binding_hash bytea;

UPDATE connect_sessions c SET portal_until = COALESCE(
    (SELECT MAX(LEAST(b.revoked_at, b.expires_at)) FROM browser_sessions b WHERE b.session_id = c.id),
    c.token_used_at + interval '60 minutes')
WHERE c.token_used_at IS NOT NULL;
