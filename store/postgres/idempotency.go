package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/connectd/connectd"
)

const (
	// sqlClaimIdempotencyKey claims a key in one statement: it inserts it, or
	// takes it over when its in-flight claim has lapsed or its record has
	// outlived connectd.IdempotencyTTL ($6 is now minus the TTL). A row comes
	// back only when the caller now holds the claim.
	sqlClaimIdempotencyKey = `INSERT INTO idempotency_keys AS k
    (project_id, key, request_hash, resource_id, created_at, locked_until)
VALUES ($1, $2, $3, NULL, $4, $5)
ON CONFLICT (project_id, key) DO UPDATE SET
    request_hash = EXCLUDED.request_hash,
    resource_id = NULL,
    created_at = EXCLUDED.created_at,
    locked_until = EXCLUDED.locked_until
WHERE (k.resource_id IS NULL AND k.locked_until <= EXCLUDED.created_at)
    OR k.created_at <= $6
RETURNING true`

	sqlGetIdempotencyKey = `SELECT project_id, key, request_hash, resource_id, created_at, locked_until
FROM idempotency_keys WHERE project_id = $1 AND key = $2`

	// Release and complete act on the caller's claim only: $3 is its
	// created_at (see connectd.Idem).
	sqlReleaseIdempotencyKey = `DELETE FROM idempotency_keys
WHERE project_id = $1 AND key = $2 AND resource_id IS NULL AND created_at = $3`

	// sqlCompleteIdem completes an in-flight claim with resource $4, in the
	// transaction of the write that made the resource (WriteResources,
	// ExpireSession): one row when the claim was still the caller's.
	sqlCompleteIdem = `UPDATE idempotency_keys SET resource_id = $4
WHERE project_id = $1 AND key = $2 AND created_at = $3 AND resource_id IS NULL`
)

// claimAttempts bounds the retries of a claim whose competing record
// vanished (was released) between the claim and the read of the record.
const claimAttempts = 5

// ClaimIdempotencyKey claims (projectID, key) for a request whose hash is
// requestHash, for lease. It returns nil when the caller holds the claim,
// else the record that stands in the way.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, projectID, key string, requestHash []byte, now time.Time, lease time.Duration) (*connectd.IdempotencyRecord, error) {
	now = ms(now)
	for range claimAttempts {
		var claimed bool
		err := s.pool.QueryRow(ctx, sqlClaimIdempotencyKey, projectID, key, requestHash,
			now, now.Add(lease), now.Add(-connectd.IdempotencyTTL)).Scan(&claimed)
		if err == nil {
			return nil, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return nil, mapErr("claim idempotency key", err)
		}
		var r connectd.IdempotencyRecord
		var resourceID *string
		err = s.pool.QueryRow(ctx, sqlGetIdempotencyKey, projectID, key).Scan(
			&r.ProjectID, &r.Key, &r.RequestHash, &resourceID, &r.CreatedAt, &r.LockedUntil)
		if errors.Is(err, pgx.ErrNoRows) {
			continue // released meanwhile: claim again
		}
		if err != nil {
			return nil, mapErr("claim idempotency key", err)
		}
		if resourceID != nil {
			r.ResourceID = *resourceID
		}
		r.CreatedAt, r.LockedUntil = r.CreatedAt.UTC(), r.LockedUntil.UTC()
		return &r, nil
	}
	return nil, errors.New("postgres: claim idempotency key: the key keeps changing; retry")
}

// ReleaseIdempotencyKey drops the in-flight claim idem. A completed record
// or a claim taken over since stays; releasing nothing is not an error.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, idem connectd.Idem) error {
	_, err := s.pool.Exec(ctx, sqlReleaseIdempotencyKey, idem.ProjectID, idem.Key, ms(idem.ClaimedAt))
	return mapErr("release idempotency key", err)
}

// idemArgs are the arguments of sqlCompleteIdem.
func idemArgs(idem connectd.Idem, resourceID string) []any {
	return []any{idem.ProjectID, idem.Key, ms(idem.ClaimedAt), resourceID}
}

// completed checks the outcome of sqlCompleteIdem: ErrClaimLost unless it
// completed the claim.
func completed(tag pgconn.CommandTag, err error) error {
	if err != nil {
		return mapErr("complete idempotency key", err)
	}
	if tag.RowsAffected() != 1 {
		return connectd.ErrClaimLost
	}
	return nil
}
