// Package sqlitetest makes throwaway SQLite stores for tests.
package sqlitetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/connectd/connectd/store/sqlite"
)

// New returns a fresh, migrated, exclusive store in t.TempDir(), closed when
// the test ends.
func New(t testing.TB) *sqlite.Store {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "connectd.db"), sqlite.Options{Exclusive: true})
	if err != nil {
		t.Fatalf("sqlitetest: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("sqlitetest: %v", err)
		}
	})
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("sqlitetest: %v", err)
	}
	return s
}
