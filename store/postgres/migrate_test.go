package postgres_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/connectd/connectd/store/postgres"
	"github.com/connectd/connectd/store/postgres/pgtest"
)

// migrationFiles counts the files of migrations/, which Migrate embeds.
func migrationFiles(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") {
			n++
		}
	}
	if n == 0 {
		t.Fatal("no migrations found")
	}
	return n
}

func countMigrations(t *testing.T, s *postgres.Store) int {
	t.Helper()
	var n int
	if err := s.Pool().QueryRow(context.Background(), "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestMigrateConcurrent starts five migrations of one fresh schema at once,
// as five server processes starting together would: all succeed, and each
// migration is applied once.
func TestMigrateConcurrent(t *testing.T) {
	u := pgtest.URL(t)
	ctx := context.Background()
	const n = 5
	stores := make([]*postgres.Store, n)
	for i := range stores {
		s, err := postgres.Open(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores[i] = s
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, s := range stores {
		wg.Go(func() { errs[i] = s.Migrate(ctx) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Migrate %d: %v", i, err)
		}
	}
	if got, want := countMigrations(t, stores[0]), migrationFiles(t); got != want {
		t.Errorf("schema_migrations has %d rows, want %d", got, want)
	}
}

// TestMigrateTwice checks that migrating a migrated schema changes nothing.
func TestMigrateTwice(t *testing.T) {
	s := pgtest.New(t) // migrated once
	ctx := context.Background()
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if got, want := countMigrations(t, s), migrationFiles(t); got != want {
		t.Errorf("schema_migrations has %d rows, want %d", got, want)
	}
}

// TestMigrateNoSchema checks that a search_path naming no existing schema is
// refused clearly rather than migrating somewhere unexpected.
func TestMigrateNoSchema(t *testing.T) {
	base := os.Getenv(pgtest.EnvURL)
	pgtest.URL(t) // skips or fails as the other tests do when there is no database
	pgtest.NeedURLForm(t, base)
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	s, err := postgres.Open(context.Background(), base+sep+"search_path=t_does_not_exist")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(context.Background()); err == nil || !strings.Contains(err.Error(), "search_path") {
		t.Fatalf("Migrate = %v, want an error about the search_path", err)
	}
}

// TestOpenHonoursURL checks that pool settings and search_path given in the
// URL are applied.
func TestOpenHonoursURL(t *testing.T) {
	u := pgtest.URL(t)
	pgtest.NeedURLForm(t, u)
	s, err := postgres.Open(context.Background(), u+"&pool_max_conns=3")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.Pool().Config().MaxConns; got != 3 {
		t.Errorf("MaxConns = %d, want 3", got)
	}
	var schema string
	if err := s.Pool().QueryRow(context.Background(), "SELECT current_schema()").Scan(&schema); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(u, "search_path="+schema) {
		t.Errorf("current_schema() = %q, not the one of %s", schema, u)
	}
}

// TestOpenDefaultPoolSize checks that a URL without pool_max_conns gets
// DefaultMaxConns, not pgx's max(4, NumCPU).
func TestOpenDefaultPoolSize(t *testing.T) {
	if got := postgres.DefaultMaxConns(); got < 8 || got > 32 {
		t.Fatalf("DefaultMaxConns() = %d, want 8 to 32", got)
	}
	s, err := postgres.Open(context.Background(), pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, want := s.Pool().Config().MaxConns, postgres.DefaultMaxConns(); got != want {
		t.Errorf("MaxConns = %d, want %d", got, want)
	}
}
