package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/store/sqlite"
	"github.com/connectd/connectd/store/sqlite/sqlitetest"
	"github.com/connectd/connectd/store/storetest"
)

// backend is SQLite for the conformance suite: its hooks read the tables
// with SQLite's SQL.
var backend = storetest.Backend{
	New: func(t testing.TB) connectd.Store { return sqlitetest.New(t) },
	// Several stores on one database file, as several processes would.
	Shared: storetest.SharedStores(func(tb testing.TB) string { return filepath.Join(tb.TempDir(), "shared.db") },
		func(ctx context.Context, path string) (*sqlite.Store, error) {
			return sqlite.Open(ctx, path, sqlite.Options{})
		}),
	Count: countRows, SessionEnd: sessionEnd, Load: bulkLoad, Plans: listPlans,
}

// TestConformance runs the suite every store passes; the hooks it reads
// the tables with are in backend_test.go.
func TestConformance(t *testing.T) { storetest.Run(t, backend) }

func BenchmarkStore(b *testing.B) { storetest.Bench(b, backend.New) }

// BenchmarkGrowth: see storetest.Growth (CONNECTD_GROWTH_MAX=1000000 for the
// million).
func BenchmarkGrowth(b *testing.B) { storetest.Growth(b, backend) }

func TestExclusive(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "x.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{Exclusive: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = sqlite.Open(ctx, path, sqlite.Options{Exclusive: true})
	if err == nil {
		t.Fatal("a second exclusive Open of the same file succeeded")
	}
	for _, want := range []string{"another connectd process", path, "one instance", "PostgreSQL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error %q does not say %q", err, want)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Closing releases the lock.
	s, err = sqlite.Open(ctx, path, sqlite.Options{Exclusive: true})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	s.Close()
}

func TestMigrateTwice(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Open does not migrate.
	if err := s.CreateProject(ctx, &connectd.Project{ID: "p"}); err == nil {
		t.Fatal("CreateProject worked before Migrate")
	}
	for i := 0; i < 2; i++ {
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("Migrate #%d: %v", i+1, err)
		}
	}
	if err := s.CreateProject(ctx, &connectd.Project{ID: "p", Settings: connectd.DefaultProjectSettings()}); err != nil {
		t.Fatal(err)
	}
	// Another store on the same file sees the schema and the data.
	s2, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if err := s2.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.GetProject(ctx, "p"); err != nil {
		t.Fatal(err)
	}
}

func TestPragmas(t *testing.T) {
	s := sqlitetest.New(t)
	w, r := sqlite.DBs(s)
	check := func(name string, db *sql.DB, want map[string]string) {
		t.Helper()
		for pragma, v := range want {
			var got string
			if err := db.QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatalf("%s: PRAGMA %s: %v", name, pragma, err)
			}
			if got != v {
				t.Errorf("%s: PRAGMA %s = %s, want %s", name, pragma, got, v)
			}
		}
	}
	common := map[string]string{"journal_mode": "wal", "synchronous": "2", "busy_timeout": "5000", "foreign_keys": "1"}
	check("writer", w, common)
	check("writer", w, map[string]string{"query_only": "0"})
	check("reader", r, common)
	check("reader", r, map[string]string{"query_only": "1"})
	if _, err := r.ExecContext(t.Context(), "INSERT INTO projects (id, name, settings, created_at) VALUES ('x', 'x', '{}', 0)"); err == nil {
		t.Error("the reader pool accepted a write")
	}
}

// TestUniqueKeyMigration: migration 0004 over duplicates (issue 11).
func TestUniqueKeyMigration(t *testing.T) {
	s := sqlitetest.New(t)
	w, _ := sqlite.DBs(s)
	storetest.UniqueKeyMigration(t, s, func(q string) error { _, err := w.Exec(q); return err },
		func() error { return s.Migrate(t.Context()) }, "4", "0")
}
