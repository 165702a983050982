// Package store opens the storage backend a --db URL names.
package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/store/postgres"
	"github.com/connectd/connectd/store/sqlite"
)

// Store is a connectd.Store that can bring its schema up to date.
type Store interface {
	connectd.Store
	// Migrate applies the embedded migrations not applied yet. It is safe
	// to call from several processes at once.
	Migrate(ctx context.Context) error
}

// Options tune Open.
type Options struct {
	// Exclusive makes a SQLite store refuse to open a file another process
	// holds: SQLite serves one connectd instance. PostgreSQL ignores it.
	Exclusive bool
}

// Open opens dsn: "sqlite:PATH" or a "postgres://" / "postgresql://" URL.
func Open(ctx context.Context, dsn string, opts Options) (Store, error) {
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(dsn, "sqlite:")
		if path == "" {
			return nil, fmt.Errorf("--db sqlite: needs a file path, such as sqlite:./connectd.db")
		}
		st, err := sqlite.Open(ctx, path, sqlite.Options{Exclusive: opts.Exclusive})
		if err != nil {
			return nil, err // not a typed nil in a non-nil interface
		}
		return st, nil
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		st, err := postgres.Open(ctx, dsn)
		if err != nil {
			return nil, err
		}
		return st, nil
	}
	return nil, fmt.Errorf("--db must be sqlite:PATH or a postgres:// URL")
}
