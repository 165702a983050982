package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/connectd/connectd"
)

var _ connectd.PortalStore = (*Store)(nil)

// Every portal transaction that writes both a session and its browser
// sessions locks the connect_sessions row first, so that they cannot
// deadlock one another.
const (
	browserColumns = `id, project_id, session_id, user_id, secret_hash, created_at, expires_at, revoked_at`

	loginCodeColumns = `browser_session_id, email, code_hash, attempts, created_at, expires_at`

	sqlLookupSession = `SELECT ` + sessionColumns + ` FROM connect_sessions WHERE id = $1`

	sqlEnterSetUser = `UPDATE connect_sessions SET user_id = $2, user_details = NULL
WHERE id = $1
RETURNING ` + sessionColumns

	sqlInsertBrowser = `INSERT INTO browser_sessions (` + browserColumns + `)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`

	sqlGetBrowser = `SELECT ` + browserColumns + ` FROM browser_sessions WHERE secret_hash = $1`

	sqlRevokeBrowsers = `UPDATE browser_sessions SET revoked_at = $2 WHERE session_id = $1 AND revoked_at IS NULL`

	// sqlCountReplay counts a replay and ends the session's portal at $2.
	sqlCountReplay = `UPDATE connect_sessions SET replay_count = replay_count + 1,
    portal_until = CASE WHEN portal_until > $2 THEN $2 ELSE portal_until END
WHERE id = $1 RETURNING id`

	// sqlReenter lets the browser that consumed the url (entry binding $4)
	// confirm again within the rebind window ($5: the earliest consumption
	// time) while its portal lives ($6: now), extending it to $1.
	sqlReenter = `UPDATE connect_sessions SET portal_until = GREATEST(portal_until, $1)
WHERE id = $2 AND token_hash = $3 AND entry_binding_hash = $4 AND status = 'active'
    AND token_used_at > $5 AND portal_until > $6
RETURNING ` + sessionColumns

	// sqlSignInSession names the user in a session that has none (updated
	// then) or already names them.
	sqlSignInSession = `UPDATE connect_sessions
SET updated_at = CASE WHEN user_id IS NULL THEN $3 ELSE updated_at END, user_id = $2
WHERE id = $1 AND (user_id IS NULL OR user_id = $2)
RETURNING id`

	sqlSessionIDExists = `SELECT EXISTS (SELECT 1 FROM connect_sessions WHERE id = $1)`

	sqlSignInBrowser = `UPDATE browser_sessions SET user_id = $3
WHERE id = $1 AND session_id = $2 AND (user_id IS NULL OR user_id = $3)
RETURNING id`

	sqlBrowserExists = `SELECT EXISTS (SELECT 1 FROM browser_sessions WHERE id = $1 AND session_id = $2)`

	// sqlFinishSession ends an active session with $2, or an open,
	// unexpired one with failed.
	sqlFinishSession = `UPDATE connect_sessions SET status = $2, ended_at = $3, updated_at = $3
WHERE id = $1 AND ((status = 'active' AND (portal_until IS NULL OR portal_until > $3))
    OR (status = 'open' AND $2 = 'failed' AND expires_at > $3))
RETURNING ` + sessionColumns

	sqlPutLoginCode = `INSERT INTO login_codes (` + loginCodeColumns + `) VALUES ($1, $2, $3, 0, $4, $5)
ON CONFLICT (browser_session_id) DO UPDATE SET email = excluded.email, code_hash = excluded.code_hash,
    attempts = 0, created_at = excluded.created_at, expires_at = excluded.expires_at`

	sqlAttemptLoginCode = `UPDATE login_codes SET attempts = attempts + 1
WHERE browser_session_id = $1 AND expires_at > $2 AND attempts < $3
RETURNING ` + loginCodeColumns

	sqlDeleteLoginCode = `DELETE FROM login_codes WHERE browser_session_id = $1`
)

// LookupSession returns session id, whatever its project.
func (s *Store) LookupSession(ctx context.Context, id string) (*connectd.Session, error) {
	cs, err := scanSession(s.pool.QueryRow(ctx, sqlLookupSession, id))
	if err != nil {
		return nil, mapErr("lookup session", err)
	}
	return cs, nil
}

// inTx runs f in a transaction, committed when f returns nil and rolled
// back otherwise.
func (s *Store) inTx(ctx context.Context, op string, f func(tx pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return mapErr(op, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := f(tx); err != nil {
		return err
	}
	return mapErr(op, tx.Commit(ctx))
}

// EnterSession consumes the token with the conditional update of
// ConsumeToken (which locks the row: of concurrent callers on any number of
// connections or processes, exactly one matches), then creates p.NewUser
// and inserts p.Browser, in one transaction.
func (s *Store) EnterSession(ctx context.Context, p connectd.EnterParams) (*connectd.Session, error) {
	const op = "enter session"
	if p.TokenHash == nil {
		return nil, connectd.ErrNotFound
	}
	var metadata, address any
	if p.NewUser != nil {
		var err error
		if metadata, address, err = userJSON(p.NewUser); err != nil {
			return nil, fmt.Errorf("postgres: %s: new user: %w", op, err)
		}
	}
	var cs *connectd.Session
	err := s.inTx(ctx, op, func(tx pgx.Tx) error {
		var err error
		now := ms(p.Now)
		until := p.Now.Add(connectd.BrowserSessionTTL)
		if p.Browser != nil {
			until = p.Browser.ExpiresAt
		}
		if cs, err = scanSession(tx.QueryRow(ctx, sqlConsumeToken, p.SessionID, p.TokenHash, now, ms(until), p.EntryBinding)); err != nil {
			return mapErr(op, err)
		}
		if u := p.NewUser; u != nil {
			if cs.UserID != nil {
				// The session already names a user: creating another would
				// leave it pointing at the wrong one.
				return connectd.ErrConflict
			}
			u.ProjectID = cs.ProjectID
			if _, err := tx.Exec(ctx, sqlCreateUser, u.ID, u.ProjectID, u.Email, connectd.NormalizeEmail(u.Email),
				u.FullName, u.Birthday, u.PreferredLocale, metadata, address, ms(u.CreatedAt)); err != nil {
				return mapErr(op, err)
			}
			if cs, err = scanSession(tx.QueryRow(ctx, sqlEnterSetUser, cs.ID, u.ID)); err != nil {
				return mapErr(op, err)
			}
		}
		return insertBrowser(ctx, tx, op, p.Browser, cs)
	})
	if err != nil {
		return nil, err
	}
	return cs, nil
}

// insertBrowser inserts b (when not nil) as a browser session of cs.
func insertBrowser(ctx context.Context, tx pgx.Tx, op string, b *connectd.BrowserSession, cs *connectd.Session) error {
	if b == nil {
		return nil
	}
	b.ProjectID, b.SessionID = cs.ProjectID, cs.ID
	_, err := tx.Exec(ctx, sqlInsertBrowser, b.ID, b.ProjectID, b.SessionID, b.UserID, b.SecretHash,
		ms(b.CreatedAt), ms(b.ExpiresAt), msPtr(b.RevokedAt))
	return mapErr(op, err)
}

// ReenterSession starts another browser session for the browser that
// consumed the url (the same entry binding), in one transaction: the
// conditional update (which locks the session row) decides, the insert
// follows.
func (s *Store) ReenterSession(ctx context.Context, p connectd.EnterParams) (*connectd.Session, error) {
	const op = "reenter session"
	if len(p.TokenHash) == 0 || len(p.EntryBinding) == 0 || p.Browser == nil {
		return nil, connectd.ErrNotFound
	}
	var cs *connectd.Session
	err := s.inTx(ctx, op, func(tx pgx.Tx) error {
		var err error
		if cs, err = scanSession(tx.QueryRow(ctx, sqlReenter, ms(p.Browser.ExpiresAt), p.SessionID, p.TokenHash,
			p.EntryBinding, ms(p.Now.Add(-connectd.EntryRebindWindow)), ms(p.Now))); err != nil {
			return mapErr(op, err)
		}
		p.Browser.UserID = cs.UserID
		return insertBrowser(ctx, tx, op, p.Browser, cs)
	})
	if err != nil {
		return nil, err
	}
	return cs, nil
}

// GetBrowserSession returns the browser session whose secret hashes to
// secretHash, revoked and expired ones too.
func (s *Store) GetBrowserSession(ctx context.Context, secretHash []byte) (*connectd.BrowserSession, error) {
	if secretHash == nil {
		return nil, connectd.ErrNotFound
	}
	b, err := scanBrowser(s.pool.QueryRow(ctx, sqlGetBrowser, secretHash))
	if err != nil {
		return nil, mapErr("get browser session", err)
	}
	return b, nil
}

// RecordReplay counts a replay of session id's url and revokes its browser
// sessions, in one transaction. ErrNotFound when there is no such session.
func (s *Store) RecordReplay(ctx context.Context, sessionID string, now time.Time) error {
	const op = "record replay"
	return s.inTx(ctx, op, func(tx pgx.Tx) error {
		var id string
		if err := tx.QueryRow(ctx, sqlCountReplay, sessionID, ms(now)).Scan(&id); err != nil {
			return mapErr(op, err)
		}
		_, err := tx.Exec(ctx, sqlRevokeBrowsers, sessionID, ms(now))
		return mapErr(op, err)
	})
}

// SignIn sets the user of the session, unless it names another (ErrConflict),
// and of the browser session, unless it names another (ErrConflict), in one
// transaction. ErrNotFound when the session or the browser session (of that
// session) does not exist.
func (s *Store) SignIn(ctx context.Context, browserID, sessionID, userID string, now time.Time) error {
	const op = "sign in"
	return s.inTx(ctx, op, func(tx pgx.Tx) error {
		var id string
		err := tx.QueryRow(ctx, sqlSignInSession, sessionID, userID, ms(now)).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return existsOr(ctx, tx, op, sqlSessionIDExists, sessionID)
		}
		if err != nil {
			return mapErr(op, err)
		}
		err = tx.QueryRow(ctx, sqlSignInBrowser, browserID, sessionID, userID).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return existsOr(ctx, tx, op, sqlBrowserExists, browserID, sessionID)
		}
		return mapErr(op, err)
	})
}

// existsOr answers a conditional update that matched no row: ErrConflict
// when the row exists (the condition failed), else ErrNotFound.
func existsOr(ctx context.Context, tx pgx.Tx, op, q string, args ...any) error {
	var exists bool
	if err := tx.QueryRow(ctx, q, args...).Scan(&exists); err != nil {
		return mapErr(op, err)
	}
	if exists {
		return connectd.ErrConflict
	}
	return connectd.ErrNotFound
}

// FinishSession ends an active session with status, or an open, unexpired
// one with failed. When the session has already ended it returns the stored
// session with ErrConflict.
func (s *Store) FinishSession(ctx context.Context, sessionID string, status connectd.SessionStatus, now time.Time) (*connectd.Session, error) {
	switch status {
	case connectd.StatusCompleted, connectd.StatusAborted, connectd.StatusFailed:
	default:
		return nil, fmt.Errorf("postgres: finish session: status %q is not an outcome", status)
	}
	cs, err := scanSession(s.pool.QueryRow(ctx, sqlFinishSession, sessionID, string(status), ms(now)))
	if err == nil {
		return cs, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, mapErr("finish session", err)
	}
	// Sessions are never deleted: the one that did not match is there, or
	// never was.
	if cs, err = s.LookupSession(ctx, sessionID); err != nil {
		return nil, err
	}
	return cs, connectd.ErrConflict
}

// PutLoginCode stores c with no attempts, replacing the browser session's
// earlier code. ErrNotFound when the browser session does not exist.
func (s *Store) PutLoginCode(ctx context.Context, c *connectd.LoginCode) error {
	_, err := s.pool.Exec(ctx, sqlPutLoginCode, c.BrowserSessionID, c.Email, c.CodeHash, ms(c.CreatedAt), ms(c.ExpiresAt))
	if err != nil {
		return mapErr("put login code", err)
	}
	c.Attempts = 0
	return nil
}

// AttemptLoginCode counts an attempt at the browser session's code and
// returns it, with Attempts including this one, in one conditional update.
func (s *Store) AttemptLoginCode(ctx context.Context, browserID string, now time.Time, maxAttempts int) (*connectd.LoginCode, error) {
	c, err := scanLoginCode(s.pool.QueryRow(ctx, sqlAttemptLoginCode, browserID, ms(now), maxAttempts))
	if err != nil {
		return nil, mapErr("attempt login code", err)
	}
	return c, nil
}

// DeleteLoginCode removes the browser session's code, if any.
func (s *Store) DeleteLoginCode(ctx context.Context, browserID string) error {
	_, err := s.pool.Exec(ctx, sqlDeleteLoginCode, browserID)
	return mapErr("delete login code", err)
}

func scanBrowser(row pgx.Row) (*connectd.BrowserSession, error) {
	var b connectd.BrowserSession
	if err := row.Scan(&b.ID, &b.ProjectID, &b.SessionID, &b.UserID, &b.SecretHash, &b.CreatedAt, &b.ExpiresAt, &b.RevokedAt); err != nil {
		return nil, err
	}
	b.CreatedAt, b.ExpiresAt = b.CreatedAt.UTC(), b.ExpiresAt.UTC()
	if b.RevokedAt != nil {
		t := b.RevokedAt.UTC()
		b.RevokedAt = &t
	}
	return &b, nil
}

func scanLoginCode(row pgx.Row) (*connectd.LoginCode, error) {
	var c connectd.LoginCode
	var attempts int32
	if err := row.Scan(&c.BrowserSessionID, &c.Email, &c.CodeHash, &attempts, &c.CreatedAt, &c.ExpiresAt); err != nil {
		return nil, err
	}
	c.Attempts = int(attempts)
	c.CreatedAt, c.ExpiresAt = c.CreatedAt.UTC(), c.ExpiresAt.UTC()
	return &c, nil
}
