package postgres_test

import (
	"testing"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/store/postgres"
	"github.com/connectd/connectd/store/postgres/pgtest"
	"github.com/connectd/connectd/store/storetest"
)

// backend is PostgreSQL for the conformance suite: its hooks read the
// tables with PostgreSQL's SQL.
var backend = storetest.Backend{
	New: func(tb testing.TB) connectd.Store { return pgtest.New(tb) },
	// Several stores (pools) on one fresh schema, as several server
	// processes would.
	Shared: storetest.SharedStores(pgtest.URL, postgres.Open),
	Count:  countRows, SessionEnd: sessionEnd, Load: bulkLoad, Plans: listPlans,
}

// TestConformance runs the suite every store passes; the hooks it reads
// the tables with are in backend_test.go.
func TestConformance(t *testing.T) { storetest.Run(t, backend) }

func BenchmarkStore(b *testing.B) { storetest.Bench(b, backend.New) }

// BenchmarkGrowth: see storetest.Growth (CONNECTD_GROWTH_MAX=1000000 for the
// million).
func BenchmarkGrowth(b *testing.B) { storetest.Growth(b, backend) }

// TestUniqueKeyMigration: migration 0005 over duplicates (issue 11).
func TestUniqueKeyMigration(t *testing.T) {
	s := pgtest.New(t)
	storetest.UniqueKeyMigration(t, s, func(q string) error { _, err := s.Pool().Exec(t.Context(), q); return err },
		func() error { return s.Migrate(t.Context()) }, "5", "'2026-01-01T00:00:00Z'")
}
