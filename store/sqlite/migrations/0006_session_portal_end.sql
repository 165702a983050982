-- 0006_session_portal_end: an entered session ends on its own (issue 11.6)
-- and a double tap on "Continue" is told from a replay (issue 11.7).
--
-- portal_until is when the last browser session the url opened stops
-- working: the latest expires_at of its browser sessions, or the time a
-- replay revoked them. An active session reads expired once it has passed.
-- entry_binding_hash is the SHA-256 of the pre-consumption cookie the
-- confirming browser sent with the consuming POST; the same browser's second
-- POST presents the same cookie.

ALTER TABLE connect_sessions ADD COLUMN portal_until INTEGER;
ALTER TABLE connect_sessions ADD COLUMN entry_binding_hash BLOB;

UPDATE connect_sessions SET portal_until = COALESCE(
    (SELECT MAX(CASE WHEN b.revoked_at IS NOT NULL AND b.revoked_at < b.expires_at THEN b.revoked_at ELSE b.expires_at END)
     FROM browser_sessions b WHERE b.session_id = connect_sessions.id),
    token_used_at + 3600000)
WHERE token_used_at IS NOT NULL;
