// Package sqlite implements connectd.Store on an SQLite database file, for a
// single connectd instance. It uses the pure-Go driver modernc.org/sqlite.
//
// The database runs in WAL mode with synchronous=FULL. Writes go through one
// connection, so that they are serialized inside the process, and every
// transaction begins IMMEDIATE, so that they are serialized across processes
// too; reads use a separate pool of read-only connections. Conditional writes
// are single UPDATE ... WHERE ... RETURNING statements, never a read followed
// by a write. Session creates are group-committed: concurrent ones share
// one transaction and one fsync, and each is answered once its transaction
// committed (commit.go).
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/store/internal/migrate"
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// readerMmap is the mmap_size of the read-only connections: they read the
// database file through a memory map instead of SQLite's page cache.
//
// modernc.org/sqlite builds SQLite's page cache with one LRU shared by every
// connection of the process (pcache1 separateCache=0). A connection at its
// own cache_size recycles the least recently used page of any connection
// and keeps it, so the writer takes over the readers' pages; a reader below
// its own limit then allocates a page for each read and frees it as soon as
// it is released, the shared cache being over its total. Measured: the same
// few B-tree pages read from the file again on every call of a list page
// (about 26 pread(2) a call), and list latency growing with the table (the
// growth benchmark, docs/performance.md). Pages read through the map skip
// that cache. Writes never use the map (WAL mode writes with write(2) and
// fsyncs as before), so durability is unchanged; mapped pages count in RSS as
// the kernel's file cache, shared and reclaimable.
const readerMmap = 1 << 30

// Options tune Open.
type Options struct {
	// Exclusive takes an advisory lock on PATH.lock for as long as the store
	// is open, so that a second connectd process on the same file fails at
	// start instead of sharing it. connectd serve sets it.
	Exclusive bool
}

// Store is a connectd.Store on SQLite.
type Store struct {
	path  string
	w     *sql.DB // the one writer connection
	r     *sql.DB // read-only connections
	lock  *os.File
	ident os.FileInfo // the file opened at path (fileident.go)
	gc    *committer  // group commit of session creates (commit.go)
	reads stmtCache   // prepared point reads on r (stmts.go)

	closeOnce sync.Once
}

var _ connectd.Store = (*Store)(nil)

// Open opens (creating it if need be) the database at path. It does not
// migrate: call Migrate.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: database path: %w", err)
	}
	s := &Store{path: abs}
	if opts.Exclusive {
		if s.lock, err = lockFile(abs); err != nil {
			return nil, err
		}
	}
	fail := func(err error) (*Store, error) {
		s.Close()
		return nil, err
	}

	base := "file:" + (&url.URL{Path: abs}).EscapedPath()
	common := "_busy_timeout=5000&_foreign_keys=1&_synchronous=FULL"
	s.w, err = sql.Open("sqlite", base+"?"+common+"&_journal_mode=WAL&_txlock=immediate")
	if err != nil {
		return fail(fmt.Errorf("sqlite: open %s: %w", abs, err))
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	s.w.SetConnMaxIdleTime(0)
	// Connecting the writer first switches the file to WAL before any reader
	// opens it.
	if err := s.w.PingContext(ctx); err != nil {
		return fail(fmt.Errorf("sqlite: open %s: %w", abs, err))
	}
	if err := s.watchFile(ctx); err != nil {
		return fail(fmt.Errorf("sqlite: open %s: %w", abs, err))
	}
	s.gc = newCommitter(s.w)

	s.r, err = sql.Open("sqlite", base+"?"+common+"&_query_only=1&_pragma=mmap_size("+strconv.Itoa(readerMmap)+")")
	if err != nil {
		return fail(fmt.Errorf("sqlite: open %s: %w", abs, err))
	}
	n := max(4, runtime.GOMAXPROCS(0))
	s.r.SetMaxOpenConns(n)
	s.r.SetMaxIdleConns(n)
	if err := s.r.PingContext(ctx); err != nil {
		return fail(fmt.Errorf("sqlite: open %s: %w", abs, err))
	}
	return s, nil
}

// Path is the absolute path of the database file.
func (s *Store) Path() string { return s.path }

// Ping checks that the database answers, for reads and writes, and that
// its path still names the file the store writes to.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.sameFile(); err != nil {
		return err
	}
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// Close closes the database and releases the lock of an exclusive store.
// Session creates already queued for a group commit are committed (or
// failed) and answered first; later ones fail.
//
// The handles stay in place: a call after Close fails with an error (sql:
// database is closed) instead of crashing, and Close may be called twice.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		if s.gc != nil {
			s.gc.close() // answers the creates queued, then stops
		}
		s.reads.close()
		var errs []error
		for _, db := range []*sql.DB{s.r, s.w} {
			if db != nil {
				errs = append(errs, db.Close())
			}
		}
		if s.lock != nil {
			errs = append(errs, s.lock.Close()) // closing the file drops the flock
		}
		if e := errors.Join(errs...); e != nil {
			err = fmt.Errorf("sqlite: close: %w", e)
		}
	})
	return err
}

// Migrate applies the migrations not applied yet, in order, each in its own
// IMMEDIATE transaction, so that concurrent callers (even in other
// processes) apply each exactly once. It is a no-op on an up-to-date
// database.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := migrate.Load(migrationFiles)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		applied_at INTEGER NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	for _, m := range ms {
		if err := s.migrate(ctx, m); err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
		}
	}
	return nil
}

func (s *Store) migrate(ctx context.Context, m migrate.Migration) error {
	tx, err := s.w.BeginTx(ctx, nil) // BEGIN IMMEDIATE: _txlock
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var applied bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?)`, m.Version).Scan(&applied); err != nil {
		return err
	}
	if applied {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return err
	}
	// applied_at is bookkeeping only: the wall clock decides no outcome here.
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, m.Version, time.Now().UnixMilli()); err != nil {
		return err
	}
	return tx.Commit()
}

// mapErr turns constraint failures into the connectd sentinels and wraps
// anything else with a short context. SQLite's messages name tables and
// columns, never bound values.
func mapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return connectd.ErrNotFound
	}
	if kt := new(connectd.KeyTakenError); errors.As(err, &kt) {
		return kt // already told apart (keyErr)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return connectd.ErrConflict
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return connectd.ErrNotFound
		case sqlite3.SQLITE_CONSTRAINT_COMMITHOOK:
			// The file check of fileident.go refused the commit.
			return fmt.Errorf("sqlite: %s: the database file was deleted or replaced: %w", op, connectd.ErrStorageUnavailable)
		}
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// blob binds b, or NULL when b is nil (the driver would bind an empty blob).
func blob(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// nullString binds *p, or NULL.
func nullString(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

func stringPtr(v sql.NullString) *string {
	if !v.Valid {
		return nil
	}
	return &v.String
}

// jsonOrNull marshals v, or binds NULL when isNil.
func jsonOrNull(v any, isNil bool) (any, error) {
	if isNil {
		return nil, nil
	}
	return marshal(v)
}
