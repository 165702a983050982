package postgres_test

import (
	"testing"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/store/postgres/pgtest"
	"github.com/connectd/connectd/store/storetest"
)

func newStore(tb testing.TB) connectd.Store { return pgtest.New(tb) }

// TestConformance runs the suite every connectd.Store passes.
func TestConformance(t *testing.T) { storetest.Run(t, newStore) }

// TestPortalConformance runs the suite of connectd.PortalStore.
func TestPortalConformance(t *testing.T) { storetest.RunPortal(t, newStore) }

func BenchmarkStore(b *testing.B) { storetest.Bench(b, newStore) }
