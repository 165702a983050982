package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// stmtCache keeps the prepared statements of the hot point reads (session,
// project, API key, user by ID) on the read-only pool. Without it every
// QueryRowContext parses and plans its SQL again: in a CPU profile of GET
// session under load, sqlite3_prepare_v2 was about a sixth of connectd's CPU.
// database/sql prepares a *sql.Stmt once per pooled connection and keeps it.
type stmtCache struct {
	mu     sync.Mutex
	m      map[string]*sql.Stmt
	closed bool
}

// queryRow is s.r.QueryRowContext on a statement prepared once.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := s.reads.get(ctx, s.r, query)
	if err != nil {
		// The same query unprepared gives the caller the error in its *sql.Row.
		return s.r.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

var errStmtsClosed = errors.New("sqlite: store closed")

func (c *stmtCache) get(ctx context.Context, db *sql.DB, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	st, ok := c.m[query]
	closed := c.closed
	c.mu.Unlock()
	if ok {
		return st, nil
	}
	if closed {
		return nil, errStmtsClosed
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		st.Close()
		return nil, errStmtsClosed
	}
	if prev, ok := c.m[query]; ok { // prepared concurrently: keep the first
		st.Close()
		return prev, nil
	}
	if c.m == nil {
		c.m = make(map[string]*sql.Stmt)
	}
	c.m[query] = st
	return st, nil
}

// close closes the statements; later gets fail and queryRow falls back to
// the (closed) pool, whose error the caller sees.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil
}
