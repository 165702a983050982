package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/connectd/connectd"
)

var _ connectd.PortalStore = (*Store)(nil)

const browserCols = `id, project_id, session_id, user_id, secret_hash, created_at, expires_at, revoked_at`

func scanBrowser(sc interface{ Scan(...any) error }) (*connectd.BrowserSession, error) {
	var b connectd.BrowserSession
	var userID sql.NullString
	var created, expires int64
	var revoked sql.NullInt64
	if err := sc.Scan(&b.ID, &b.ProjectID, &b.SessionID, &userID, &b.SecretHash, &created, &expires, &revoked); err != nil {
		return nil, err
	}
	b.UserID = stringPtr(userID)
	b.CreatedAt, b.ExpiresAt = fromMS(created), fromMS(expires)
	if revoked.Valid {
		t := fromMS(revoked.Int64)
		b.RevokedAt = &t
	}
	return &b, nil
}

const loginCodeCols = `browser_session_id, email, code_hash, attempts, created_at, expires_at`

func scanLoginCode(sc interface{ Scan(...any) error }) (*connectd.LoginCode, error) {
	var c connectd.LoginCode
	var created, expires int64
	if err := sc.Scan(&c.BrowserSessionID, &c.Email, &c.CodeHash, &c.Attempts, &created, &expires); err != nil {
		return nil, err
	}
	c.CreatedAt, c.ExpiresAt = fromMS(created), fromMS(expires)
	return &c, nil
}

// LookupSession returns session id, whatever its project.
func (s *Store) LookupSession(ctx context.Context, id string) (*connectd.Session, error) {
	cs, err := scanSession(s.queryRow(ctx, `SELECT `+sessionCols+` FROM connect_sessions WHERE id = ?`, id))
	if err != nil {
		return nil, mapErr("lookup session", err)
	}
	return cs, nil
}

// EnterSession consumes the token with the conditional update of
// ConsumeToken, then creates p.NewUser and inserts p.Browser, all in one
// IMMEDIATE transaction: a failure of any step writes nothing.
func (s *Store) EnterSession(ctx context.Context, p connectd.EnterParams) (*connectd.Session, error) {
	const op = "enter session"
	if len(p.TokenHash) == 0 {
		return nil, connectd.ErrNotFound
	}
	var metadata string
	var address any
	if p.NewUser != nil {
		var err error
		if metadata, address, err = userArgs(p.NewUser); err != nil {
			return nil, fmt.Errorf("sqlite: %s: new user: %w", op, err)
		}
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, mapErr(op, err)
	}
	defer tx.Rollback()
	until := p.Now.Add(connectd.BrowserSessionTTL)
	if p.Browser != nil {
		until = p.Browser.ExpiresAt
	}
	cs, err := scanSession(tx.QueryRowContext(ctx, sqlConsumeToken, ms(p.Now), ms(until), blob(p.EntryBinding), p.SessionID, p.TokenHash))
	if err != nil {
		return nil, mapErr(op, err)
	}
	if u := p.NewUser; u != nil {
		if cs.UserID != nil {
			// The session already names a user: creating another would
			// leave it pointing at the wrong one.
			return nil, connectd.ErrConflict
		}
		u.ProjectID = cs.ProjectID
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (`+userCols+`, email_lower, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			u.ProjectID, u.ID, u.Email, nullString(u.FullName), nullString(u.Birthday), nullString(u.PreferredLocale),
			metadata, address, ms(u.CreatedAt), connectd.NormalizeEmail(u.Email), ms(u.CreatedAt)); err != nil {
			return nil, mapErr(op, err)
		}
		if cs, err = scanSession(tx.QueryRowContext(ctx, `UPDATE connect_sessions SET user_id = ?, user_details = NULL
			WHERE id = ? RETURNING `+sessionCols, u.ID, cs.ID)); err != nil {
			return nil, mapErr(op, err)
		}
	}
	if err := insertBrowser(ctx, tx, p.Browser, cs); err != nil {
		return nil, mapErr(op, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, mapErr(op, err)
	}
	return cs, nil
}

// insertBrowser inserts b (when not nil) as a browser session of cs.
func insertBrowser(ctx context.Context, tx *sql.Tx, b *connectd.BrowserSession, cs *connectd.Session) error {
	if b == nil {
		return nil
	}
	b.ProjectID, b.SessionID = cs.ProjectID, cs.ID
	var revoked any
	if b.RevokedAt != nil {
		revoked = ms(*b.RevokedAt)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO browser_sessions (`+browserCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		b.ID, b.ProjectID, b.SessionID, nullString(b.UserID), blob(b.SecretHash), ms(b.CreatedAt), ms(b.ExpiresAt), revoked)
	return err
}

// ReenterSession starts another browser session for the browser that
// consumed the url (the same entry binding), in one IMMEDIATE transaction:
// the conditional update decides, the insert follows.
func (s *Store) ReenterSession(ctx context.Context, p connectd.EnterParams) (*connectd.Session, error) {
	const op = "reenter session"
	if len(p.TokenHash) == 0 || len(p.EntryBinding) == 0 || p.Browser == nil {
		return nil, connectd.ErrNotFound
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, mapErr(op, err)
	}
	defer tx.Rollback()
	cs, err := scanSession(tx.QueryRowContext(ctx, `UPDATE connect_sessions
		SET portal_until = MAX(portal_until, ?1)
		WHERE id = ?2 AND token_hash = ?3 AND entry_binding_hash = ?4 AND status = 'active'
			AND token_used_at > ?5 AND portal_until > ?6
		RETURNING `+sessionCols,
		ms(p.Browser.ExpiresAt), p.SessionID, p.TokenHash, p.EntryBinding, ms(p.Now.Add(-connectd.EntryRebindWindow)), ms(p.Now)))
	if err != nil {
		return nil, mapErr(op, err)
	}
	p.Browser.UserID = cs.UserID
	if err := insertBrowser(ctx, tx, p.Browser, cs); err != nil {
		return nil, mapErr(op, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, mapErr(op, err)
	}
	return cs, nil
}

// GetBrowserSession returns the browser session whose secret hashes to
// secretHash, revoked and expired ones too.
func (s *Store) GetBrowserSession(ctx context.Context, secretHash []byte) (*connectd.BrowserSession, error) {
	if len(secretHash) == 0 {
		return nil, connectd.ErrNotFound
	}
	b, err := scanBrowser(s.r.QueryRowContext(ctx, `SELECT `+browserCols+` FROM browser_sessions WHERE secret_hash = ?`, secretHash))
	if err != nil {
		return nil, mapErr("get browser session", err)
	}
	return b, nil
}

// revokeBrowsers revokes every unrevoked browser session of session id.
func revokeBrowsers(ctx context.Context, tx *sql.Tx, sessionID string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE browser_sessions SET revoked_at = ? WHERE session_id = ? AND revoked_at IS NULL`,
		ms(now), sessionID)
	return err
}

// RecordReplay counts a replay of session id's url and revokes its browser
// sessions, in one transaction. ErrNotFound when there is no such session.
func (s *Store) RecordReplay(ctx context.Context, sessionID string, now time.Time) error {
	const op = "record replay"
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return mapErr(op, err)
	}
	defer tx.Rollback()
	var id string
	if err := tx.QueryRowContext(ctx, `UPDATE connect_sessions SET replay_count = replay_count + 1,
		portal_until = CASE WHEN portal_until > ?1 THEN ?1 ELSE portal_until END WHERE id = ?2 RETURNING id`,
		ms(now), sessionID).Scan(&id); err != nil {
		return mapErr(op, err)
	}
	if err := revokeBrowsers(ctx, tx, sessionID, now); err != nil {
		return mapErr(op, err)
	}
	return mapErr(op, tx.Commit())
}

// SignIn sets the user of the session, unless it names another (ErrConflict),
// and of the browser session, unless it names another (ErrConflict), in one
// transaction. ErrNotFound when the session or the browser session (of that
// session) does not exist.
func (s *Store) SignIn(ctx context.Context, browserID, sessionID, userID string, now time.Time) error {
	const op = "sign in"
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return mapErr(op, err)
	}
	defer tx.Rollback()
	// The session first, then its browser session: the order every portal
	// transaction takes.
	var id string
	err = tx.QueryRowContext(ctx, `UPDATE connect_sessions
		SET updated_at = CASE WHEN user_id IS NULL THEN ? ELSE updated_at END, user_id = ?
		WHERE id = ? AND (user_id IS NULL OR user_id = ?) RETURNING id`, ms(now), userID, sessionID, userID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return existsOr(ctx, tx, op, `SELECT EXISTS (SELECT 1 FROM connect_sessions WHERE id = ?)`, sessionID)
	}
	if err != nil {
		return mapErr(op, err)
	}
	err = tx.QueryRowContext(ctx, `UPDATE browser_sessions SET user_id = ?
		WHERE id = ? AND session_id = ? AND (user_id IS NULL OR user_id = ?) RETURNING id`,
		userID, browserID, sessionID, userID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return existsOr(ctx, tx, op, `SELECT EXISTS (SELECT 1 FROM browser_sessions WHERE id = ? AND session_id = ?)`, browserID, sessionID)
	}
	if err != nil {
		return mapErr(op, err)
	}
	return mapErr(op, tx.Commit())
}

// existsOr answers a conditional update that matched no row: ErrConflict
// when the row exists (the condition failed), else ErrNotFound.
func existsOr(ctx context.Context, tx *sql.Tx, op, q string, args ...any) error {
	var exists bool
	if err := tx.QueryRowContext(ctx, q, args...).Scan(&exists); err != nil {
		return mapErr(op, err)
	}
	if exists {
		return connectd.ErrConflict
	}
	return connectd.ErrNotFound
}

// finishable reports whether status is an outcome FinishSession may set.
func finishable(status connectd.SessionStatus) bool {
	return status == connectd.StatusCompleted || status == connectd.StatusAborted || status == connectd.StatusFailed
}

// FinishSession ends an active session with status, or an open, unexpired
// one with failed. When the session has already ended it returns the stored
// session with ErrConflict.
func (s *Store) FinishSession(ctx context.Context, sessionID string, status connectd.SessionStatus, now time.Time) (*connectd.Session, error) {
	if !finishable(status) {
		return nil, fmt.Errorf("sqlite: finish session: status %q is not an outcome", status)
	}
	cs, err := scanSession(s.w.QueryRowContext(ctx, `UPDATE connect_sessions SET status = ?, ended_at = ?, updated_at = ?
		WHERE id = ? AND ((status = 'active' AND (portal_until IS NULL OR portal_until > ?))
			OR (status = 'open' AND ? = 'failed' AND expires_at > ?))
		RETURNING `+sessionCols, string(status), ms(now), ms(now), sessionID, ms(now), string(status), ms(now)))
	if err == nil {
		return cs, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, mapErr("finish session", err)
	}
	// Sessions are never deleted: the one that did not match is there, or
	// never was.
	cs, err = scanSession(s.w.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM connect_sessions WHERE id = ?`, sessionID))
	if err != nil {
		return nil, mapErr("finish session", err)
	}
	return cs, connectd.ErrConflict
}

// PutLoginCode stores c with no attempts, replacing the browser session's
// earlier code. ErrNotFound when the browser session does not exist.
func (s *Store) PutLoginCode(ctx context.Context, c *connectd.LoginCode) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO login_codes (`+loginCodeCols+`) VALUES (?, ?, ?, 0, ?, ?)
		ON CONFLICT (browser_session_id) DO UPDATE SET email = excluded.email, code_hash = excluded.code_hash,
			attempts = 0, created_at = excluded.created_at, expires_at = excluded.expires_at`,
		c.BrowserSessionID, c.Email, blob(c.CodeHash), ms(c.CreatedAt), ms(c.ExpiresAt))
	if err != nil {
		return mapErr("put login code", err)
	}
	c.Attempts = 0
	return nil
}

// AttemptLoginCode counts an attempt at the browser session's code and
// returns it, with Attempts including this one, in one conditional update.
func (s *Store) AttemptLoginCode(ctx context.Context, browserID string, now time.Time, maxAttempts int) (*connectd.LoginCode, error) {
	c, err := scanLoginCode(s.w.QueryRowContext(ctx, `UPDATE login_codes SET attempts = attempts + 1
		WHERE browser_session_id = ? AND expires_at > ? AND attempts < ?
		RETURNING `+loginCodeCols, browserID, ms(now), maxAttempts))
	if err != nil {
		return nil, mapErr("attempt login code", err)
	}
	return c, nil
}

// DeleteLoginCode removes the browser session's code, if any.
func (s *Store) DeleteLoginCode(ctx context.Context, browserID string) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM login_codes WHERE browser_session_id = ?`, browserID)
	return mapErr("delete login code", err)
}
