package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/connectd/connectd"
)

// sessionInsertCols are the columns a create writes; sessionCols those a
// read returns (portal_until is only ever set by the portal's updates).
const (
	sessionInsertCols = `id, project_id, callback_url, intent, appearance, user_id, user_details, status, token_hash, token_used_at, created_at, expires_at, updated_at`
	sessionCols       = sessionInsertCols + `, portal_until`
)

func scanSession(sc interface{ Scan(...any) error }) (*connectd.Session, error) {
	var s connectd.Session
	var callback, appearance, userID, userDetails sql.NullString
	var intent, status string
	var usedAt, portalUntil sql.NullInt64
	var created, expires, updated int64
	if err := sc.Scan(&s.ID, &s.ProjectID, &callback, &intent, &appearance, &userID, &userDetails, &status,
		&s.TokenHash, &usedAt, &created, &expires, &updated, &portalUntil); err != nil {
		return nil, err
	}
	s.CallbackURL, s.UserID = stringPtr(callback), stringPtr(userID)
	if err := json.Unmarshal([]byte(intent), &s.Intent); err != nil {
		return nil, fmt.Errorf("session %s intent: %w", s.ID, err)
	}
	if appearance.Valid {
		if err := json.Unmarshal([]byte(appearance.String), &s.Appearance); err != nil {
			return nil, fmt.Errorf("session %s appearance: %w", s.ID, err)
		}
	}
	if userDetails.Valid {
		if err := json.Unmarshal([]byte(userDetails.String), &s.UserDetails); err != nil {
			return nil, fmt.Errorf("session %s user details: %w", s.ID, err)
		}
	}
	s.StoredStatus = connectd.SessionStatus(status)
	if usedAt.Valid {
		t := fromMS(usedAt.Int64)
		s.TokenUsedAt = &t
	}
	if portalUntil.Valid {
		t := fromMS(portalUntil.Int64)
		s.PortalUntil = &t
	}
	s.CreatedAt, s.ExpiresAt, s.UpdatedAt = fromMS(created), fromMS(expires), fromMS(updated)
	return &s, nil
}

func (s *Store) CreateSession(ctx context.Context, cs *connectd.Session, idem connectd.Idem) error {
	intent, err := marshal(cs.Intent)
	if err != nil {
		return fmt.Errorf("sqlite: create session: intent: %w", err)
	}
	appearance, err := jsonOrNull(cs.Appearance, cs.Appearance == nil)
	if err != nil {
		return fmt.Errorf("sqlite: create session: appearance: %w", err)
	}
	details, err := jsonOrNull(cs.UserDetails, cs.UserDetails == nil)
	if err != nil {
		return fmt.Errorf("sqlite: create session: user details: %w", err)
	}
	var usedAt any
	if cs.TokenUsedAt != nil {
		usedAt = ms(*cs.TokenUsedAt)
	}
	// Committed with the creates of concurrent callers, in one transaction
	// (commit.go); answered once durable.
	return s.gc.submit(ctx, createRow{
		args: []any{cs.ID, cs.ProjectID, nullString(cs.CallbackURL), intent, appearance, nullString(cs.UserID), details,
			string(cs.StoredStatus), blob(cs.TokenHash), usedAt, ms(cs.CreatedAt), ms(cs.ExpiresAt), ms(cs.UpdatedAt)},
		id:   cs.ID,
		idem: idem,
	})
}

func (s *Store) GetSession(ctx context.Context, projectID, id string) (*connectd.Session, error) {
	cs, err := scanSession(s.queryRow(ctx, `SELECT `+sessionCols+` FROM connect_sessions WHERE project_id = ? AND id = ?`, projectID, id))
	if err != nil {
		return nil, mapErr("get session", err)
	}
	return cs, nil
}

func (s *Store) ListSessions(ctx context.Context, projectID string, f connectd.SessionFilter) (connectd.Page[*connectd.Session], error) {
	from := `connect_sessions WHERE project_id = ?`
	args := []any{projectID}
	if f.UserID != "" {
		from += ` AND user_id = ?`
		args = append(args, f.UserID)
	}
	switch f.Status {
	case "":
	case connectd.StatusOpen:
		from += ` AND status = 'open' AND expires_at > ?`
		args = append(args, ms(f.Now))
	case connectd.StatusActive:
		from += ` AND status = 'active' AND (portal_until IS NULL OR portal_until > ?)`
		args = append(args, ms(f.Now))
	case connectd.StatusExpired:
		from += ` AND (status = 'expired' OR (status = 'open' AND expires_at <= ?) OR (status = 'active' AND portal_until <= ?))`
		args = append(args, ms(f.Now), ms(f.Now))
	default:
		from += ` AND status = ?`
		args = append(args, string(f.Status))
	}
	return listPage(ctx, s.r, "list sessions", sessionCols, from, args, f.ListParams, scanSession,
		func(cs *connectd.Session) string { return cs.ID })
}

// conditional runs an UPDATE ... RETURNING on one session of the project.
// When no row matched, it tells ErrConflict (the session exists) from
// ErrNotFound. Sessions are never deleted, so the check after the fact is
// sound.
func (s *Store) conditional(ctx context.Context, op, projectID, id, q string, args ...any) (*connectd.Session, error) {
	cs, err := scanSession(s.w.QueryRowContext(ctx, q, args...))
	if err == nil {
		return cs, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, mapErr(op, err)
	}
	var exists bool
	if err := s.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM connect_sessions WHERE project_id = ? AND id = ?)`, projectID, id).Scan(&exists); err != nil {
		return nil, mapErr(op, err)
	}
	if exists {
		return nil, connectd.ErrConflict
	}
	return nil, connectd.ErrNotFound
}

func (s *Store) UpdateSession(ctx context.Context, projectID, id string, u connectd.SessionUpdate) (*connectd.Session, error) {
	if u.Associates() && len(u.TokenHash) == 0 {
		return nil, errors.New("sqlite: update session: associating a user needs a new token hash")
	}
	sets := []string{`updated_at = ?`}
	args := []any{ms(u.Now)}
	if u.CallbackURL != nil {
		sets = append(sets, `callback_url = ?`)
		args = append(args, *u.CallbackURL)
	}
	if u.UserID != nil {
		sets = append(sets, `user_id = ?`)
		args = append(args, *u.UserID)
	}
	if u.UserDetails != nil {
		details, err := marshal(u.UserDetails)
		if err != nil {
			return nil, fmt.Errorf("sqlite: update session: user details: %w", err)
		}
		sets = append(sets, `user_details = ?`)
		args = append(args, details)
	}
	if len(u.TokenHash) > 0 {
		sets = append(sets, `token_hash = ?`)
		args = append(args, u.TokenHash)
	}
	where := `project_id = ? AND id = ? AND status = 'open' AND expires_at > ?`
	args = append(args, projectID, id, ms(u.Now))
	if u.Associates() {
		where += ` AND user_id IS NULL AND user_details IS NULL`
	}
	q := `UPDATE connect_sessions SET ` + strings.Join(sets, ", ") + ` WHERE ` + where + ` RETURNING ` + sessionCols
	return s.conditional(ctx, "update session", projectID, id, q, args...)
}

// ExpireSession expires an open or active session, kills its token and
// revokes its portal browser sessions, and completes idem (unless zero)
// with its ID, in one transaction. A session already ended is returned
// unchanged, read in the same transaction; an expired one completes idem
// too, one that ended with an outcome does not (the service refuses it).
func (s *Store) ExpireSession(ctx context.Context, projectID, id string, now time.Time, idem connectd.Idem) (*connectd.Session, error) {
	const op = "expire session"
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, mapErr(op, err)
	}
	defer tx.Rollback()
	cs, err := scanSession(tx.QueryRowContext(ctx, `UPDATE connect_sessions
		SET status = 'expired', token_hash = NULL, updated_at = ?
		WHERE project_id = ? AND id = ? AND status IN ('open', 'active')
		RETURNING `+sessionCols, ms(now), projectID, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// Already ended (returned as it is), or not there.
		if cs, err = scanSession(tx.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM connect_sessions WHERE project_id = ? AND id = ?`, projectID, id)); err != nil {
			return nil, mapErr(op, err)
		}
	case err != nil:
		return nil, mapErr(op, err)
	default:
		if err := revokeBrowsers(ctx, tx, id, now); err != nil {
			return nil, mapErr(op, err)
		}
	}
	// A session that ended with an outcome is refused (409) by the service:
	// its claim stays uncompleted, so the refusal is not remembered.
	if !cs.Ended() {
		if err := completeIdem(ctx, op, completeOn(tx), idem, id); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, mapErr(op, err)
	}
	return cs, nil
}

func (s *Store) RotateToken(ctx context.Context, projectID, id string, tokenHash []byte, now time.Time) (*connectd.Session, error) {
	if len(tokenHash) == 0 {
		return nil, errors.New("sqlite: rotate token: empty token hash")
	}
	return s.conditional(ctx, "rotate token", projectID, id, `UPDATE connect_sessions
		SET token_hash = ?, updated_at = ?
		WHERE project_id = ? AND id = ? AND status = 'open' AND token_used_at IS NULL AND expires_at > ?
		RETURNING `+sessionCols, tokenHash, ms(now), projectID, id, ms(now))
}

// sqlConsumeToken marks the token used and the session active until the
// browser session's end (?2), recording the entry binding (?3).
const sqlConsumeToken = `UPDATE connect_sessions
	SET status = 'active', token_used_at = ?1, updated_at = ?1, portal_until = ?2, entry_binding_hash = ?3
	WHERE id = ?4 AND token_hash = ?5 AND token_used_at IS NULL AND status = 'open' AND expires_at > ?1
	RETURNING ` + sessionCols

func (s *Store) ConsumeToken(ctx context.Context, id string, tokenHash []byte, now time.Time) (*connectd.Session, error) {
	if len(tokenHash) == 0 {
		return nil, connectd.ErrNotFound
	}
	cs, err := scanSession(s.w.QueryRowContext(ctx, sqlConsumeToken, ms(now), ms(now.Add(connectd.BrowserSessionTTL)), nil, id, tokenHash))
	if err != nil {
		return nil, mapErr("consume token", err)
	}
	return cs, nil
}
