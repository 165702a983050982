package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/connectd/connectd"
)

// Group commit of session creates.
//
// With synchronous=FULL every COMMIT waits for an fsync of the WAL, so one
// transaction per create caps the store at the disk's fsync rate. Instead,
// CreateSession hands its row to a committer goroutine, which takes every
// create waiting (up to maxBatch) and inserts them in one IMMEDIATE
// transaction, so that they share one COMMIT and one fsync. Each request is
// answered only after that COMMIT returned, that is, once its row is
// durable: the durability of an acknowledged create is exactly that of a
// transaction of its own.
//
// Each row is inserted under a SAVEPOINT of its own, with the completion of
// its idempotency claim: a row that fails (a duplicate ID, an unknown
// project, a claim no longer in flight) is rolled back alone and fails only
// its own request. An error of the transaction as a whole (BEGIN or COMMIT
// failing) fails every request of the batch, none of whose rows was stored.
//
// The committer borrows the one writer connection for each batch (a
// transaction of the writer pool), so batches and the other writes of the
// store serialize on it: they never interleave.
//
// Cancellation: a request whose context ends while it waits in the queue is
// dropped (never inserted) and fails with the context's error. Once the
// committer took it into a batch, it is no longer cancellable: CreateSession
// waits for the batch (bounded by the time of one transaction) and returns
// its true outcome, nil if the row was committed, even though the context
// has ended meanwhile, so that a caller is never told a stored session
// failed.

// maxBatch bounds the rows of one transaction.
const maxBatch = 128

// Request states.
const (
	reqQueued int32 = iota
	reqTaken
	reqCancelled
)

type createReq struct {
	state atomic.Int32
	args  []any // the INSERT's arguments
	id    string
	idem  connectd.Idem
	done  chan error // buffered: the committer never blocks on it
}

type committer struct {
	db *sql.DB

	mu      sync.Mutex
	queue   []*createReq
	closed  bool
	wake    chan struct{} // cap 1: work may be waiting
	stopped chan struct{} // closed when the goroutine has returned

	insert, complete *sql.Stmt // prepared on db
}

var errClosed = errors.New("sqlite: create session: the store is closed")

const (
	sqlInsertSession = `INSERT INTO connect_sessions (` + sessionCols + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	// sqlCompleteIdem completes an in-flight claim, only while it is the
	// caller's (created_at is the claim's; see connectd.Idem).
	sqlCompleteIdem = `UPDATE idempotency_keys SET resource_id = ?
		WHERE project_id = ? AND key = ? AND resource_id IS NULL AND created_at = ?`
)

func newCommitter(db *sql.DB) *committer {
	c := &committer{db: db, wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	go c.run()
	return c
}

// prepare prepares the statements of a batch once, on the first batch: the
// store may not be migrated when it opens. Only the committer goroutine
// calls it.
func (c *committer) prepare(ctx context.Context) error {
	var err error
	if c.insert == nil {
		if c.insert, err = c.db.PrepareContext(ctx, sqlInsertSession); err != nil {
			c.insert = nil
			return err
		}
	}
	if c.complete == nil {
		if c.complete, err = c.db.PrepareContext(ctx, sqlCompleteIdem); err != nil {
			c.complete = nil
			return err
		}
	}
	return nil
}

// submit queues r and waits for its outcome.
func (c *committer) submit(ctx context.Context, r *createReq) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return errClosed
	}
	c.queue = append(c.queue, r)
	select { // under mu: close closes wake under it too
	case c.wake <- struct{}{}:
	default:
	}
	c.mu.Unlock()
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		if r.state.CompareAndSwap(reqQueued, reqCancelled) {
			return ctx.Err() // the committer will skip it
		}
		return <-r.done // in a batch already: its true outcome
	}
}

// close stops taking requests, lets the committer finish the queued ones,
// and waits for it.
func (c *committer) close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.wake)
	}
	c.mu.Unlock()
	<-c.stopped
	for _, st := range []*sql.Stmt{c.insert, c.complete} {
		if st != nil {
			st.Close()
		}
	}
}

func (c *committer) run() {
	defer close(c.stopped)
	batch := make([]*createReq, 0, maxBatch)
	for {
		_, open := <-c.wake
		for {
			batch = c.take(batch[:0])
			if len(batch) == 0 {
				break
			}
			c.commit(batch)
			clear(batch)
		}
		if !open {
			return
		}
	}
}

// take moves up to maxBatch queued, uncancelled requests into batch.
func (c *committer) take(batch []*createReq) []*createReq {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for n < len(c.queue) && len(batch) < maxBatch {
		r := c.queue[n]
		n++
		if r.state.CompareAndSwap(reqQueued, reqTaken) {
			batch = append(batch, r)
		}
	}
	rest := copy(c.queue, c.queue[n:])
	clear(c.queue[rest:])
	c.queue = c.queue[:rest]
	return batch
}

// commit inserts the batch in one transaction and answers every request
// after COMMIT.
func (c *committer) commit(batch []*createReq) {
	errs := make([]error, len(batch))
	err := c.tx(batch, errs)
	for i, r := range batch {
		if err != nil {
			r.done <- err
		} else {
			r.done <- errs[i]
		}
	}
}

func (c *committer) tx(batch []*createReq, errs []error) error {
	const op = "create session"
	// Not a request's context: the batch serves several, and must run to
	// its end whoever gave up meanwhile.
	ctx := context.Background()
	if err := c.prepare(ctx); err != nil {
		return mapErr(op, err)
	}
	tx, err := c.db.BeginTx(ctx, nil) // BEGIN IMMEDIATE (_txlock)
	if err != nil {
		return mapErr(op, err)
	}
	defer tx.Rollback()
	insert, complete := tx.StmtContext(ctx, c.insert), tx.StmtContext(ctx, c.complete)
	single := len(batch) == 1 // nothing to isolate a lone row from
	for i, r := range batch {
		if !single {
			if _, err := tx.ExecContext(ctx, `SAVEPOINT row`); err != nil {
				return mapErr(op, err)
			}
		}
		errs[i] = c.row(ctx, insert, complete, r)
		if single {
			if errs[i] != nil {
				return errs[i]
			}
			break
		}
		if errs[i] != nil {
			if _, err := tx.ExecContext(ctx, `ROLLBACK TO row`); err != nil {
				return mapErr(op, fmt.Errorf("roll back a failed row: %w", err))
			}
		}
		if _, err := tx.ExecContext(ctx, `RELEASE row`); err != nil {
			return mapErr(op, err)
		}
	}
	return mapErr(op, tx.Commit())
}

// row inserts one session and completes its idempotency claim.
func (c *committer) row(ctx context.Context, insert, complete *sql.Stmt, r *createReq) error {
	const op = "create session"
	if _, err := insert.ExecContext(ctx, r.args...); err != nil {
		return mapErr(op, err)
	}
	if r.idem == (connectd.Idem{}) {
		return nil
	}
	res, err := complete.ExecContext(ctx, r.id, r.idem.ProjectID, r.idem.Key, ms(r.idem.ClaimedAt))
	if err != nil {
		return mapErr(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return mapErr(op, err)
	} else if n != 1 {
		return connectd.ErrConflict
	}
	return nil
}
