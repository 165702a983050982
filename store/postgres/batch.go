package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/store/internal/groupcommit"
)

// Batched session creates.
//
// CreateSession hands its row to a few batch workers. A worker takes every
// create waiting (up to maxBatch) and sends them to the server in one
// pipelined round trip, one statement per row (the very statements of a lone
// create, sqlCreateSession and sqlCreateSessionIdem), which PostgreSQL runs
// as one implicit transaction: one COMMIT, one WAL flush. Each request is
// answered after the server confirmed that COMMIT. There is no waiting for
// a batch to fill: a worker that is free takes what is queued at once, so a
// lone request goes alone, and batches form only while every worker is busy,
// which is exactly when they pay.
//
// The semantics of each row are those of a lone create: with an
// idempotency claim, the claim is completed by the same statement that
// inserts the row, and a row whose claim is not in flight is not inserted
// and fails with ErrConflict, without disturbing its batch. A statement that
// raises an error (a duplicate ID, an unknown project) aborts the
// transaction of its batch: then every row of that batch is run again on its
// own, so that each request gets its own outcome and only the failing ones
// fail.
//
// Queueing, batching and cancellation are those of package groupcommit.

// maxBatch bounds the rows of one batch.
const maxBatch = 128

// createRow is one session create waiting for a batch.
type createRow struct {
	sql  string
	args []any
	idem bool
}

// batcher commits the batches of the group-commit queue on the pool.
type batcher struct {
	pool  *pgxpool.Pool
	queue *groupcommit.Queue[createRow]
}

var errClosed = errors.New("postgres: create session: the store is closed")

// newBatcher starts workers batch workers.
func newBatcher(pool *pgxpool.Pool, workers int) *batcher {
	b := &batcher{pool: pool}
	b.queue = groupcommit.New(workers, maxBatch, errClosed, b.run)
	return b
}

// submit queues r and waits for its outcome.
func (b *batcher) submit(ctx context.Context, r createRow) error {
	return b.queue.Submit(ctx, r)
}

// close stops taking requests and waits for the workers to answer the
// queued ones.
func (b *batcher) close() { b.queue.Close() }

// run executes a batch and sets the outcome of each row.
func (b *batcher) run(batch []createRow, errs []error) {
	// Not a request's context: the batch serves several.
	ctx := context.Background()
	if len(batch) == 1 {
		errs[0] = b.one(ctx, batch[0])
		return
	}
	pb := &pgx.Batch{}
	for i, r := range batch {
		pb.Queue(r.sql, r.args...).Exec(func(tag pgconn.CommandTag) error {
			if r.idem && tag.RowsAffected() == 0 {
				errs[i] = connectd.ErrClaimLost
			}
			return nil
		})
	}
	// Without BEGIN, the statements of one round trip run in one implicit
	// transaction, committed when Close returns nil.
	if err := b.pool.SendBatch(ctx, pb).Close(); err != nil {
		// Nothing of the batch was committed: run each row alone.
		for i, r := range batch {
			errs[i] = b.one(ctx, r)
		}
	}
}

// one runs a single create in a transaction of its own.
func (b *batcher) one(ctx context.Context, r createRow) error {
	tag, err := b.pool.Exec(ctx, r.sql, r.args...)
	if err != nil {
		return mapErr("create session", err)
	}
	if r.idem && tag.RowsAffected() == 0 {
		return connectd.ErrClaimLost
	}
	return nil
}
