package postgres_test

import (
	"context"
	"testing"

	"github.com/connectd/connectd/store/postgres"
	"github.com/connectd/connectd/store/postgres/pgtest"
	"github.com/connectd/connectd/store/storetest"
)

// TestBatchedCreatesFailAlone runs the suite's test of batched creates
// (which Run runs on a default pool) with one batch worker, so that every
// burst queues up into batches.
func TestBatchedCreatesFailAlone(t *testing.T) {
	u := pgtest.URL(t)
	ctx := context.Background()
	s, err := postgres.Open(ctx, u+"&pool_max_conns=2") // one batch worker: batches form
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	storetest.BatchedCreatesFailAlone(t, s)
}
