// Package postgres is the PostgreSQL implementation of connectd.Store, on
// pgx v5 and its connection pool.
//
// Every conditional write (consuming a session token, associating a user,
// rotating a token, expiring a session, claiming an idempotency key) is one
// atomic conditional statement, never a read followed by a write, so that
// the exactly-once promises of connectd.Store hold across several server
// processes sharing one database.
//
// Open connects; Migrate brings the schema up to date. Open does not migrate
// by itself. The schema lives in the first schema of the search_path, which
// can be set in the connection URL (for example
// postgres://host/db?search_path=connectd).
package postgres

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/connectd/connectd"
)

// Store is a connectd.Store on a PostgreSQL database.
type Store struct {
	pool  *pgxpool.Pool
	batch *batcher // batched session creates (batch.go)
}

var _ connectd.Store = (*Store)(nil)

// Open connects to the database at url, a PostgreSQL URL or keyword/value
// connection string. Pool settings in it (pool_max_conns, pool_min_conns,
// ...) and run-time parameters such as search_path are honoured. Without
// pool_max_conns the pool holds up to DefaultMaxConns() connections, not
// pgx's max(4, NumCPU). Open checks that the database answers but does not
// migrate it: call Migrate.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx redacts the password from this error.
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns()
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	return &Store{pool: pool, batch: newBatcher(pool, batchWorkers(cfg.MaxConns))}, nil
}

// DefaultMaxConns is the pool size of a URL without pool_max_conns:
// 4×GOMAXPROCS, at least 8 and at most 32. A request holds a connection
// only for its round trips, and under load most of a request's time is the
// database's (a commit's fsync, a network round trip), so a pool of one
// connection per CPU leaves the CPUs idle; 32 keeps a few instances well
// under PostgreSQL's default max_connections of 100.
func DefaultMaxConns() int32 {
	return int32(min(32, max(8, 4*runtime.GOMAXPROCS(0))))
}

// Pool returns the underlying connection pool, for tools and tests.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// batchWorkers is how many batches of session creates may be in flight at
// once: half the pool, so that the other queries always find connections.
func batchWorkers(maxConns int32) int {
	return max(1, int(maxConns)/2)
}

// Close answers the session creates queued for a batch, then closes every
// connection of the pool.
func (s *Store) Close() error {
	s.batch.close()
	s.pool.Close()
	return nil
}

// ms returns t as the store keeps times: to the millisecond, as every
// connectd store does, whatever the precision of the database.
func ms(t time.Time) time.Time { return t.Truncate(time.Millisecond) }

func msPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := ms(*t)
	return &v
}

// PostgreSQL error codes the store maps to connectd's sentinels.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
)

// mapErr turns a driver error into connectd.ErrNotFound or ErrConflict where
// it means one, else wraps it with the operation's name. The messages of
// PostgreSQL errors name constraints, never values (pgx keeps those in
// PgError.Detail, which its Error method leaves out), so that neither tokens
// nor hashes reach a log.
func mapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return connectd.ErrNotFound
	}
	if kt := new(connectd.KeyTakenError); errors.As(err, &kt) {
		return kt // already told apart (keyErr)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case codeUniqueViolation:
			return connectd.ErrConflict
		case codeForeignKeyViolation:
			return connectd.ErrNotFound
		}
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}
