package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/connectd/connectd"
)

// withIdem runs insert in an IMMEDIATE transaction and, for a non-zero
// idem, completes its in-flight claim with resourceID in the same
// transaction. A claim that is missing, taken over or already completed fails the whole
// transaction with ErrConflict: the caller no longer holds it, and must not
// create a second resource under the key.
func (s *Store) withIdem(ctx context.Context, op string, idem connectd.Idem, resourceID string, insert func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return mapErr(op, err)
	}
	defer tx.Rollback()
	if err := insert(tx); err != nil {
		return mapErr(op, err)
	}
	if err := completeIdem(ctx, op, completeOn(tx), idem, resourceID); err != nil {
		return err
	}
	return mapErr(op, tx.Commit())
}

// completeIdem completes claim idem (unless zero) with resourceID by running
// sqlCompleteIdem through complete (on a transaction, or prepared on one):
// ErrClaimLost (an ErrConflict) unless the claim was still the caller's and
// in flight.
func completeIdem(ctx context.Context, op string, complete func(context.Context, ...any) (sql.Result, error), idem connectd.Idem, resourceID string) error {
	if idem == (connectd.Idem{}) {
		return nil
	}
	res, err := complete(ctx, resourceID, idem.ProjectID, idem.Key, ms(idem.ClaimedAt))
	if err != nil {
		return mapErr(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return mapErr(op, err)
	} else if n != 1 {
		return connectd.ErrClaimLost
	}
	return nil
}

// completeOn runs sqlCompleteIdem on tx, for completeIdem.
func completeOn(tx *sql.Tx) func(context.Context, ...any) (sql.Result, error) {
	return func(ctx context.Context, args ...any) (sql.Result, error) {
		return tx.ExecContext(ctx, sqlCompleteIdem, args...)
	}
}

const idemCols = `project_id, key, request_hash, resource_id, created_at, locked_until`

func scanIdem(sc interface{ Scan(...any) error }) (*connectd.IdempotencyRecord, error) {
	var r connectd.IdempotencyRecord
	var resource sql.NullString
	var created, locked int64
	if err := sc.Scan(&r.ProjectID, &r.Key, &r.RequestHash, &resource, &created, &locked); err != nil {
		return nil, err
	}
	r.ResourceID = resource.String
	r.CreatedAt, r.LockedUntil = fromMS(created), fromMS(locked)
	return &r, nil
}

func (s *Store) ClaimIdempotencyKey(ctx context.Context, projectID, key string, requestHash []byte, now time.Time, lease time.Duration) (*connectd.IdempotencyRecord, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, mapErr("claim idempotency key", err)
	}
	defer tx.Rollback()
	// Insert a fresh claim, or take over a lapsed or outdated one; either
	// way a row comes back only when the caller now holds the claim.
	var claimed string
	err = tx.QueryRowContext(ctx, `INSERT INTO idempotency_keys (`+idemCols+`) VALUES (?, ?, ?, NULL, ?, ?)
		ON CONFLICT (project_id, key) DO UPDATE SET
			request_hash = excluded.request_hash, resource_id = NULL,
			created_at = excluded.created_at, locked_until = excluded.locked_until
		WHERE (idempotency_keys.resource_id IS NULL AND idempotency_keys.locked_until <= ?)
			OR idempotency_keys.created_at < ?
		RETURNING key`,
		projectID, key, blob(requestHash), ms(now), ms(now.Add(lease)), ms(now), ms(now.Add(-connectd.IdempotencyTTL))).Scan(&claimed)
	switch {
	case err == nil:
		return nil, mapErr("claim idempotency key", tx.Commit())
	case !errors.Is(err, sql.ErrNoRows):
		return nil, mapErr("claim idempotency key", err)
	}
	r, err := scanIdem(tx.QueryRowContext(ctx, `SELECT `+idemCols+` FROM idempotency_keys WHERE project_id = ? AND key = ?`, projectID, key))
	if err != nil {
		return nil, mapErr("claim idempotency key", err)
	}
	return r, nil
}

// ReleaseIdempotencyKey drops the in-flight claim idem; a completed record,
// a claim taken over since or an unknown key is left alone.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, idem connectd.Idem) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM idempotency_keys
		WHERE project_id = ? AND key = ? AND resource_id IS NULL AND created_at = ?`, idem.ProjectID, idem.Key, ms(idem.ClaimedAt))
	return mapErr("release idempotency key", err)
}
