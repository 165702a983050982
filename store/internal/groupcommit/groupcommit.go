// Package groupcommit is the queue both stores put session creates through,
// so that concurrent creates share one transaction (SQLite: one COMMIT and
// one fsync; PostgreSQL: one pipelined round trip and one WAL flush).
//
// Submit queues an item and waits for its outcome. A few workers (one for
// SQLite, whose writes go through one connection) each take every item
// waiting, up to the batch limit, and hand them to the store's commit
// function, which answers each item. There is no waiting for a batch to
// fill: a worker that is free takes what is queued at once, so a lone item
// goes alone, and batches form only while every worker is busy, which is
// exactly when they pay.
//
// Cancellation: an item whose context ends while it is queued is dropped
// (never committed) and Submit returns the context's error. Once a worker
// took it into a batch it is no longer cancellable: Submit waits for the
// batch (bounded by the time of one transaction) and returns its true
// outcome, nil if the item was committed, even though the context has ended
// meanwhile, so that a caller is never told a stored item failed.
package groupcommit

import (
	"context"
	"sync"
	"sync/atomic"
)

// Commit stores one batch and sets errs[i] to the outcome of batch[i]
// (errs comes zeroed, as long as batch). Only after it returns are the
// submitters answered, so an item it reports nil for must be durable.
type Commit[T any] func(batch []T, errs []error)

// Request states.
const (
	queued int32 = iota
	taken
	cancelled
)

type request[T any] struct {
	state atomic.Int32
	item  T
	done  chan error // buffered: a worker never blocks on it
}

// Queue batches items for a Commit function.
type Queue[T any] struct {
	commit    Commit[T]
	maxBatch  int
	closedErr error

	mu     sync.Mutex
	cond   *sync.Cond // signalled when work is queued or the queue closes
	queue  []*request[T]
	closed bool
	wg     sync.WaitGroup
}

// New starts workers workers committing batches of at most maxBatch items.
// closedErr is what Submit returns after Close.
func New[T any](workers, maxBatch int, closedErr error, commit Commit[T]) *Queue[T] {
	q := &Queue[T]{commit: commit, maxBatch: maxBatch, closedErr: closedErr}
	q.cond = sync.NewCond(&q.mu)
	for range workers {
		q.wg.Add(1)
		go q.work()
	}
	return q
}

// Submit queues item and waits for its outcome.
func (q *Queue[T]) Submit(ctx context.Context, item T) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &request[T]{item: item, done: make(chan error, 1)}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return q.closedErr
	}
	q.queue = append(q.queue, r)
	q.cond.Signal()
	q.mu.Unlock()
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		if r.state.CompareAndSwap(queued, cancelled) {
			return ctx.Err() // the workers will skip it
		}
		return <-r.done // in a batch already: its true outcome
	}
}

// Close stops taking items and waits for the workers to commit and answer
// the queued ones. It may be called twice.
func (q *Queue[T]) Close() {
	q.mu.Lock()
	q.closed = true
	q.cond.Broadcast()
	q.mu.Unlock()
	q.wg.Wait()
}

func (q *Queue[T]) work() {
	defer q.wg.Done()
	reqs := make([]*request[T], 0, q.maxBatch)
	items := make([]T, 0, q.maxBatch)
	errs := make([]error, q.maxBatch)
	for {
		reqs = q.take(reqs[:0])
		if reqs == nil {
			return
		}
		items = items[:0]
		for _, r := range reqs {
			items = append(items, r.item)
		}
		errs := errs[:len(reqs)]
		clear(errs)
		q.commit(items, errs)
		for i, r := range reqs {
			r.done <- errs[i]
		}
		clear(reqs)
		clear(items)
	}
}

// take waits for queued requests and moves up to maxBatch uncancelled ones
// into batch; nil once the queue is closed and empty.
func (q *Queue[T]) take(batch []*request[T]) []*request[T] {
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		for len(q.queue) == 0 {
			if q.closed {
				return nil
			}
			q.cond.Wait()
		}
		n := 0
		for n < len(q.queue) && len(batch) < q.maxBatch {
			r := q.queue[n]
			n++
			if r.state.CompareAndSwap(queued, taken) {
				batch = append(batch, r)
			}
		}
		rest := copy(q.queue, q.queue[n:])
		clear(q.queue[rest:])
		q.queue = q.queue[:rest]
		if len(q.queue) > 0 {
			q.cond.Signal() // more for another worker
		}
		if len(batch) > 0 {
			return batch
		}
	}
}
