package groupcommit

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

var errClosed = errors.New("closed")

// gate is a Commit whose batches wait for release, and that records them.
type gate struct {
	mu      sync.Mutex
	batches [][]int
	entered chan struct{} // one send per batch, before it waits
	release chan struct{}
}

func newGate() *gate {
	return &gate{entered: make(chan struct{}, 100), release: make(chan struct{})}
}

// commit fails odd items alone and passes the others.
func (g *gate) commit(batch []int, errs []error) {
	g.entered <- struct{}{}
	<-g.release
	g.mu.Lock()
	g.batches = append(g.batches, append([]int(nil), batch...))
	g.mu.Unlock()
	for i, v := range batch {
		if v%2 == 1 {
			errs[i] = errors.New("odd")
		}
	}
}

// waitQueued waits until n items are queued.
func waitQueued(t *testing.T, q *Queue[int], n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		q.mu.Lock()
		l := len(q.queue)
		q.mu.Unlock()
		if l == n {
			return
		}
	}
	t.Fatalf("%d items never queued", n)
}

// TestBatching: a lone item goes alone at once; the items submitted while
// the worker is busy go together in the next batch, each with its own
// outcome, and no batch is larger than maxBatch.
func TestBatching(t *testing.T) {
	g := newGate()
	q := New(1, 4, errClosed, g.commit)
	defer q.Close()
	ctx := context.Background()

	first := make(chan error, 1)
	go func() { first <- q.Submit(ctx, 0) }()
	<-g.entered // the lone item is in a batch of its own
	errs := make([]chan error, 6)
	for i := range errs {
		errs[i] = make(chan error, 1)
		go func() { errs[i] <- q.Submit(ctx, i+1) }()
	}
	waitQueued(t, q, len(errs))
	close(g.release)
	if err := <-first; err != nil {
		t.Fatalf("lone item: %v", err)
	}
	for i, ch := range errs {
		if err := <-ch; (err != nil) != ((i+1)%2 == 1) {
			t.Errorf("item %d: %v", i+1, err)
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	sizes := []int{}
	for _, b := range g.batches {
		sizes = append(sizes, len(b))
	}
	if len(sizes) != 3 || sizes[0] != 1 || sizes[1] != 4 || sizes[2] != 2 {
		t.Fatalf("batch sizes %v, want [1 4 2]", sizes)
	}
}

// TestCancelWhileQueued: an item whose context ends while it is queued is
// dropped, never committed; one taken into a batch returns its outcome.
func TestCancelWhileQueued(t *testing.T) {
	g := newGate()
	q := New(1, 8, errClosed, g.commit)
	defer q.Close()

	taken := make(chan error, 1)
	tctx, tcancel := context.WithCancel(context.Background())
	go func() { taken <- q.Submit(tctx, 2) }()
	<-g.entered
	tcancel() // too late: it is in a batch

	cctx, cancel := context.WithCancel(context.Background())
	dropped := make(chan error, 1)
	go func() { dropped <- q.Submit(cctx, 4) }()
	waitQueued(t, q, 1)
	cancel()
	if err := <-dropped; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled queued item: %v", err)
	}
	close(g.release)
	if err := <-taken; err != nil {
		t.Fatalf("item cancelled once in a batch: %v, want its outcome (nil)", err)
	}
	q.Close()
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, b := range g.batches {
		for _, v := range b {
			if v == 4 {
				t.Fatal("a cancelled queued item was committed")
			}
		}
	}
}

// TestClose: Close commits and answers what is queued; Submit after Close
// fails with the closed error.
func TestClose(t *testing.T) {
	g := newGate()
	q := New(1, 8, errClosed, g.commit)
	ctx := context.Background()
	errs := make(chan error, 10)
	go func() { errs <- q.Submit(ctx, 0) }()
	<-g.entered // the worker is busy: the others queue
	for i := 1; i < 10; i++ {
		go func() { errs <- q.Submit(ctx, 2*i) }()
	}
	waitQueued(t, q, 9)
	closed := make(chan struct{})
	go func() { q.Close(); close(closed) }()
	close(g.release)
	for range 10 {
		if err := <-errs; err != nil {
			t.Errorf("an item queued before Close: %v", err)
		}
	}
	<-closed
	if err := q.Submit(ctx, 0); !errors.Is(err, errClosed) {
		t.Fatalf("Submit after Close: %v", err)
	}
	q.Close() // twice is fine
}
