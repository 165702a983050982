package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/connectd/connectd"
)

const (
	// sessionInsertColumns are the columns a create writes; sessionColumns
	// those a read returns (portal_until is only set by the portal's updates).
	sessionInsertColumns = `id, project_id, callback_url, intent, appearance, user_id, user_details, status,
    token_hash, token_used_at, created_at, expires_at, updated_at`
	sessionColumns = sessionInsertColumns + `, portal_until`

	sqlCreateSession = `INSERT INTO connect_sessions (` + sessionInsertColumns + `)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`

	// sqlCreateSessionIdem inserts a session and completes the in-flight
	// idempotency claim ($14, $15, taken at $16) with its ID, in one
	// statement: nothing is inserted unless the claim is completed, and a
	// failed insert undoes the completion.
	sqlCreateSessionIdem = `WITH idem AS (
    UPDATE idempotency_keys SET resource_id = $1
    WHERE project_id = $14 AND key = $15 AND resource_id IS NULL AND created_at = $16
    RETURNING 1
)
INSERT INTO connect_sessions (` + sessionInsertColumns + `)
SELECT $1::text, $2::text, $3::text, $4::jsonb, $5::jsonb, $6::text, $7::jsonb, $8::text,
    $9::bytea, $10::timestamptz, $11::timestamptz, $12::timestamptz, $13::timestamptz
WHERE EXISTS (SELECT 1 FROM idem)`

	sqlGetSession = `SELECT ` + sessionColumns + ` FROM connect_sessions WHERE project_id = $1 AND id = $2`

	sqlSessionExists = `SELECT EXISTS (SELECT 1 FROM connect_sessions WHERE project_id = $1 AND id = $2)`

	// sqlUpdateSession applies a PATCH to an open, unexpired session; with
	// $11 (associate) the session must have no user yet. Each field changes
	// only when its flag is set.
	sqlUpdateSession = `UPDATE connect_sessions SET
    callback_url = CASE WHEN $3::bool THEN $4::text ELSE callback_url END,
    user_id      = CASE WHEN $5::bool THEN $6::text ELSE user_id END,
    user_details = CASE WHEN $7::bool THEN $8::jsonb ELSE user_details END,
    token_hash   = CASE WHEN $9::bool THEN $10::bytea ELSE token_hash END,
    updated_at   = $12
WHERE project_id = $1 AND id = $2
    AND status = 'open' AND expires_at > $12
    AND (NOT $11::bool OR (user_id IS NULL AND user_details IS NULL))
RETURNING ` + sessionColumns

	sqlExpireSession = `UPDATE connect_sessions SET status = 'expired', token_hash = NULL, updated_at = $3
WHERE project_id = $1 AND id = $2 AND status IN ('open', 'active')
RETURNING ` + sessionColumns

	sqlRotateToken = `UPDATE connect_sessions SET token_hash = $3, updated_at = $4
WHERE project_id = $1 AND id = $2
    AND status = 'open' AND token_used_at IS NULL AND expires_at > $4
RETURNING ` + sessionColumns

	// sqlConsumeToken marks the token used and the session active until
	// the browser session's end ($4), recording the entry binding ($5).
	sqlConsumeToken = `UPDATE connect_sessions SET status = 'active', token_used_at = $3, updated_at = $3,
    portal_until = $4, entry_binding_hash = $5
WHERE id = $1 AND token_hash = $2
    AND token_used_at IS NULL AND status = 'open' AND expires_at > $3
RETURNING ` + sessionColumns
)

// sessionJSON returns the JSON columns of s.
func sessionJSON(s *connectd.Session) (intent, appearance, details any, err error) {
	if intent, err = jsonArg(s.Intent, false); err != nil {
		return nil, nil, nil, fmt.Errorf("session intent: %w", err)
	}
	if appearance, err = jsonArg(s.Appearance, s.Appearance == nil); err != nil {
		return nil, nil, nil, fmt.Errorf("session appearance: %w", err)
	}
	if details, err = jsonArg(s.UserDetails, s.UserDetails == nil); err != nil {
		return nil, nil, nil, fmt.Errorf("session user details: %w", err)
	}
	return intent, appearance, details, nil
}

// CreateSession inserts s, completing idem with its ID when idem is set.
// ErrConflict if the ID is taken, or if idem is not an in-flight claim.
func (s *Store) CreateSession(ctx context.Context, cs *connectd.Session, idem connectd.Idem) error {
	intent, appearance, details, err := sessionJSON(cs)
	if err != nil {
		return fmt.Errorf("postgres: create session: %w", err)
	}
	args := []any{cs.ID, cs.ProjectID, cs.CallbackURL, intent, appearance, cs.UserID, details,
		string(cs.StoredStatus), cs.TokenHash, msPtr(cs.TokenUsedAt), ms(cs.CreatedAt), ms(cs.ExpiresAt), ms(cs.UpdatedAt)}
	// Sent with the creates of concurrent callers, in one transaction
	// (batch.go); answered after its COMMIT.
	r := createRow{sql: sqlCreateSession, args: args}
	if idem != (connectd.Idem{}) {
		r.sql, r.args, r.idem = sqlCreateSessionIdem, append(args, idem.ProjectID, idem.Key, ms(idem.ClaimedAt)), true
	}
	return s.batch.submit(ctx, r)
}

// GetSession returns session id of the project.
func (s *Store) GetSession(ctx context.Context, projectID, id string) (*connectd.Session, error) {
	cs, err := scanSession(s.pool.QueryRow(ctx, sqlGetSession, projectID, id))
	if err != nil {
		return nil, mapErr("get session", err)
	}
	return cs, nil
}

// ListSessions returns one page of the project's sessions, newest first. A
// status filter compares the status clients see at f.Now: expired includes
// open sessions whose url has expired, and open excludes them.
func (s *Store) ListSessions(ctx context.Context, projectID string, f connectd.SessionFilter) (connectd.Page[*connectd.Session], error) {
	q := listQuery{columns: sessionColumns, table: "connect_sessions", where: "project_id = $1", args: []any{projectID}}
	arg := func(v any) string {
		q.args = append(q.args, v)
		return "$" + strconv.Itoa(len(q.args))
	}
	if f.UserID != "" {
		q.where += " AND user_id = " + arg(f.UserID)
	}
	switch f.Status {
	case "":
	case connectd.StatusOpen:
		q.where += " AND status = 'open' AND expires_at > " + arg(ms(f.Now))
	case connectd.StatusActive:
		q.where += " AND status = 'active' AND (portal_until IS NULL OR portal_until > " + arg(ms(f.Now)) + ")"
	case connectd.StatusExpired:
		now := arg(ms(f.Now))
		q.where += " AND (status = 'expired' OR (status = 'open' AND expires_at <= " + now + ") OR (status = 'active' AND portal_until <= " + now + "))"
	default:
		q.where += " AND status = " + arg(string(f.Status))
	}
	page, err := listPage(ctx, s, q, f.ListParams, scanSession)
	if err != nil {
		return page, mapErr("list sessions", err)
	}
	return page, nil
}

// UpdateSession applies u in one conditional statement. ErrConflict when the
// session is not open and unexpired at u.Now, or when u associates a user
// with a session that has one; ErrNotFound when there is no such session.
func (s *Store) UpdateSession(ctx context.Context, projectID, id string, u connectd.SessionUpdate) (*connectd.Session, error) {
	associates := u.Associates()
	if associates && u.TokenHash == nil {
		return nil, errors.New("postgres: update session: associating a user requires a new token hash")
	}
	details, err := jsonArg(u.UserDetails, u.UserDetails == nil)
	if err != nil {
		return nil, fmt.Errorf("postgres: update session: user details: %w", err)
	}
	cs, err := scanSession(s.pool.QueryRow(ctx, sqlUpdateSession, projectID, id,
		u.CallbackURL != nil, u.CallbackURL,
		u.UserID != nil, u.UserID,
		u.UserDetails != nil, details,
		u.TokenHash != nil, u.TokenHash,
		associates, ms(u.Now)))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, s.conditionFailed(ctx, "update session", projectID, id)
	}
	if err != nil {
		return nil, mapErr("update session", err)
	}
	return cs, nil
}

// conditionFailed tells why a conditional update of session id matched no
// row: ErrNotFound if the session does not exist, else ErrConflict.
func (s *Store) conditionFailed(ctx context.Context, op, projectID, id string) error {
	var exists bool
	if err := s.pool.QueryRow(ctx, sqlSessionExists, projectID, id).Scan(&exists); err != nil {
		return mapErr(op, err)
	}
	if !exists {
		return connectd.ErrNotFound
	}
	return connectd.ErrConflict
}

// ExpireSession sets an open or active session's status to expired, drops
// its token hash, revokes its portal browser sessions and completes idem
// (unless zero) with its ID, in one transaction. A session already ended
// is returned unchanged, read in the same transaction, and completes idem
// too.
func (s *Store) ExpireSession(ctx context.Context, projectID, id string, now time.Time, idem connectd.Idem) (*connectd.Session, error) {
	const op = "expire session"
	var cs *connectd.Session
	err := s.inTx(ctx, op, func(tx pgx.Tx) error {
		var err error
		cs, err = scanSession(tx.QueryRow(ctx, sqlExpireSession, projectID, id, ms(now)))
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			// Already ended (returned as it is), or not there.
			if cs, err = scanSession(tx.QueryRow(ctx, sqlGetSession, projectID, id)); err != nil {
				return mapErr(op, err)
			}
		case err != nil:
			return mapErr(op, err)
		default:
			if _, err := tx.Exec(ctx, sqlRevokeBrowsers, id, ms(now)); err != nil {
				return mapErr(op, err)
			}
		}
		// A session that ended with an outcome is refused (409) by the
		// service: its claim stays uncompleted, so the refusal is not
		// remembered as an answer.
		if idem == (connectd.Idem{}) || cs.Ended() {
			return nil
		}
		return completed(tx.Exec(ctx, sqlCompleteIdem, idemArgs(idem, id)...))
	})
	if err != nil {
		return nil, err
	}
	return cs, nil
}

// RotateToken replaces the token hash of an open, unused, unexpired session.
func (s *Store) RotateToken(ctx context.Context, projectID, id string, tokenHash []byte, now time.Time) (*connectd.Session, error) {
	if tokenHash == nil {
		return nil, errors.New("postgres: rotate token: no token hash")
	}
	cs, err := scanSession(s.pool.QueryRow(ctx, sqlRotateToken, projectID, id, tokenHash, ms(now)))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, s.conditionFailed(ctx, "rotate token", projectID, id)
	}
	if err != nil {
		return nil, mapErr("rotate token", err)
	}
	return cs, nil
}

// ConsumeToken marks the token of session id used and the session active, in
// one conditional update: of concurrent callers, exactly one succeeds.
func (s *Store) ConsumeToken(ctx context.Context, id string, tokenHash []byte, now time.Time) (*connectd.Session, error) {
	if tokenHash == nil {
		return nil, connectd.ErrNotFound
	}
	cs, err := scanSession(s.pool.QueryRow(ctx, sqlConsumeToken, id, tokenHash, ms(now), ms(now.Add(connectd.BrowserSessionTTL)), nil))
	if err != nil {
		return nil, mapErr("consume token", err)
	}
	return cs, nil
}

func scanSession(row pgx.Row) (*connectd.Session, error) {
	var s connectd.Session
	var intent, appearance, details []byte
	var status string
	err := row.Scan(&s.ID, &s.ProjectID, &s.CallbackURL, &intent, &appearance, &s.UserID, &details, &status,
		&s.TokenHash, &s.TokenUsedAt, &s.CreatedAt, &s.ExpiresAt, &s.UpdatedAt, &s.PortalUntil)
	if err != nil {
		return nil, err
	}
	s.StoredStatus = connectd.SessionStatus(status)
	if err := json.Unmarshal(intent, &s.Intent); err != nil {
		return nil, fmt.Errorf("session intent: %w", err)
	}
	if appearance != nil {
		if err := json.Unmarshal(appearance, &s.Appearance); err != nil {
			return nil, fmt.Errorf("session appearance: %w", err)
		}
	}
	if details != nil {
		if err := json.Unmarshal(details, &s.UserDetails); err != nil {
			return nil, fmt.Errorf("session user details: %w", err)
		}
	}
	if s.TokenUsedAt != nil {
		t := s.TokenUsedAt.UTC()
		s.TokenUsedAt = &t
	}
	if s.PortalUntil != nil {
		t := s.PortalUntil.UTC()
		s.PortalUntil = &t
	}
	s.CreatedAt, s.ExpiresAt, s.UpdatedAt = s.CreatedAt.UTC(), s.ExpiresAt.UTC(), s.UpdatedAt.UTC()
	return &s, nil
}
