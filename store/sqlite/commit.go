package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/store/internal/groupcommit"
)

// Group commit of session creates.
//
// With synchronous=FULL every COMMIT waits for an fsync of the WAL, so one
// transaction per create caps the store at the disk's fsync rate. Instead,
// CreateSession hands its row to the group-commit queue, whose one worker
// takes every create waiting (up to maxBatch) and inserts them in one IMMEDIATE
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
// Queueing, batching and cancellation are those of package groupcommit,
// with one worker.

// maxBatch bounds the rows of one transaction.
const maxBatch = 128

// createRow is one session create waiting for a batch.
type createRow struct {
	args []any // the INSERT's arguments
	id   string
	idem connectd.Idem
}

// committer commits the batches of the group-commit queue. It has one
// worker (the store has one writer connection), so its statements need no
// lock.
type committer struct {
	db    *sql.DB
	queue *groupcommit.Queue[createRow]

	insert, complete *sql.Stmt // prepared on db
}

var errClosed = errors.New("sqlite: create session: the store is closed")

const (
	sqlInsertSession = `INSERT INTO connect_sessions (` + sessionInsertCols + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	// sqlCompleteIdem completes an in-flight claim, only while it is the
	// caller's (created_at is the claim's; see connectd.Idem).
	sqlCompleteIdem = `UPDATE idempotency_keys SET resource_id = ?
		WHERE project_id = ? AND key = ? AND resource_id IS NULL AND created_at = ?`
)

func newCommitter(db *sql.DB) *committer {
	c := &committer{db: db}
	c.queue = groupcommit.New(1, maxBatch, errClosed, c.commit)
	return c
}

// prepare prepares the statements of a batch once, on the first batch: the
// store may not be migrated when it opens. Only the committer's one worker
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
func (c *committer) submit(ctx context.Context, r createRow) error {
	return c.queue.Submit(ctx, r)
}

// close stops taking requests, lets the committer finish the queued ones,
// and waits for it.
func (c *committer) close() {
	c.queue.Close()
	for _, st := range []*sql.Stmt{c.insert, c.complete} {
		if st != nil {
			st.Close()
		}
	}
}

// commit inserts the batch in one transaction; an error of the transaction
// as a whole fails every row.
func (c *committer) commit(batch []createRow, errs []error) {
	if err := c.tx(batch, errs); err != nil {
		for i := range errs {
			errs[i] = err
		}
	}
}

func (c *committer) tx(batch []createRow, errs []error) error {
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
	for i := range batch {
		if !single {
			if _, err := tx.ExecContext(ctx, `SAVEPOINT row`); err != nil {
				return mapErr(op, err)
			}
		}
		errs[i] = c.row(ctx, insert, complete, &batch[i])
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
func (c *committer) row(ctx context.Context, insert, complete *sql.Stmt, r *createRow) error {
	const op = "create session"
	if _, err := insert.ExecContext(ctx, r.args...); err != nil {
		return mapErr(op, err)
	}
	return completeIdem(ctx, op, complete.ExecContext, r.idem, r.id)
}
