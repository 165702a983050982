package postgres

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/connectd/connectd"
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
// Cancellation: a request whose context ends while it is queued is dropped
// (never inserted) and fails with the context's error. Once in a batch it
// runs to its end, and CreateSession returns its true outcome.

// maxBatch bounds the rows of one batch.
const maxBatch = 128

const (
	reqQueued int32 = iota
	reqTaken
	reqCancelled
)

type createReq struct {
	state atomic.Int32
	sql   string
	args  []any
	idem  bool
	done  chan error // buffered
}

type batcher struct {
	pool *pgxpool.Pool

	mu     sync.Mutex
	cond   *sync.Cond // signalled when work is queued or the batcher closes
	queue  []*createReq
	closed bool
	wg     sync.WaitGroup
}

var errClosed = errors.New("postgres: create session: the store is closed")

// newBatcher starts workers batch workers.
func newBatcher(pool *pgxpool.Pool, workers int) *batcher {
	b := &batcher{pool: pool}
	b.cond = sync.NewCond(&b.mu)
	for range workers {
		b.wg.Add(1)
		go b.work()
	}
	return b
}

// submit queues r and waits for its outcome.
func (b *batcher) submit(ctx context.Context, r *createReq) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return errClosed
	}
	b.queue = append(b.queue, r)
	b.cond.Signal()
	b.mu.Unlock()
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		if r.state.CompareAndSwap(reqQueued, reqCancelled) {
			return ctx.Err()
		}
		return <-r.done
	}
}

// close stops taking requests and waits for the workers to answer the
// queued ones.
func (b *batcher) close() {
	b.mu.Lock()
	b.closed = true
	b.cond.Broadcast()
	b.mu.Unlock()
	b.wg.Wait()
}

func (b *batcher) work() {
	defer b.wg.Done()
	batch := make([]*createReq, 0, maxBatch)
	for {
		batch = b.take(batch[:0])
		if batch == nil {
			return
		}
		b.run(batch)
		clear(batch)
	}
}

// take waits for queued requests and moves up to maxBatch uncancelled ones
// into batch; nil once the batcher is closed and the queue empty.
func (b *batcher) take(batch []*createReq) []*createReq {
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		for len(b.queue) == 0 {
			if b.closed {
				return nil
			}
			b.cond.Wait()
		}
		n := 0
		for n < len(b.queue) && len(batch) < maxBatch {
			r := b.queue[n]
			n++
			if r.state.CompareAndSwap(reqQueued, reqTaken) {
				batch = append(batch, r)
			}
		}
		rest := copy(b.queue, b.queue[n:])
		clear(b.queue[rest:])
		b.queue = b.queue[:rest]
		if len(b.queue) > 0 {
			b.cond.Signal() // more for another worker
		}
		if len(batch) > 0 {
			return batch
		}
	}
}

// run executes a batch and answers its requests.
func (b *batcher) run(batch []*createReq) {
	// Not a request's context: the batch serves several.
	ctx := context.Background()
	if len(batch) == 1 {
		batch[0].done <- b.one(ctx, batch[0])
		return
	}
	errs := make([]error, len(batch))
	pb := &pgx.Batch{}
	for i, r := range batch {
		pb.Queue(r.sql, r.args...).Exec(func(tag pgconn.CommandTag) error {
			if r.idem && tag.RowsAffected() == 0 {
				errs[i] = connectd.ErrConflict
			}
			return nil
		})
	}
	// Without BEGIN, the statements of one round trip run in one implicit
	// transaction, committed when Close returns nil.
	if err := b.pool.SendBatch(ctx, pb).Close(); err != nil {
		// Nothing of the batch was committed: run each row alone.
		for _, r := range batch {
			r.done <- b.one(ctx, r)
		}
		return
	}
	for i, r := range batch {
		r.done <- errs[i]
	}
}

// one runs a single create in a transaction of its own.
func (b *batcher) one(ctx context.Context, r *createReq) error {
	tag, err := b.pool.Exec(ctx, r.sql, r.args...)
	if err != nil {
		return mapErr("create session", err)
	}
	if r.idem && tag.RowsAffected() == 0 {
		return connectd.ErrConflict
	}
	return nil
}
