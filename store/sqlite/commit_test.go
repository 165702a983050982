package sqlite_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/store/sqlite"
	"github.com/connectd/connectd/store/sqlite/sqlitetest"
)

func testSession(projectID string) *connectd.Session {
	at := time.Now().UTC().Truncate(time.Millisecond)
	_, hash := connectd.NewToken()
	return &connectd.Session{
		ID: connectd.NewID(connectd.PrefixSession), ProjectID: projectID,
		Intent:       connectd.Intent{Type: connectd.IntentViewSubscriptions},
		StoredStatus: connectd.StatusOpen, TokenHash: hash,
		CreatedAt: at, ExpiresAt: at.Add(time.Hour), UpdatedAt: at,
	}
}

// holdWriter takes the writer connection, so that the creates submitted
// meanwhile queue up and go into one batch when release is called.
func holdWriter(t *testing.T, s *sqlite.Store) (release func()) {
	t.Helper()
	w, _ := sqlite.DBs(s)
	conn, err := w.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return func() { conn.Close() }
}

// heldStore returns a store with project "p" whose writer connection is
// held (see holdWriter) until release is called.
func heldStore(t *testing.T) (s *sqlite.Store, release func()) {
	s = sqlitetest.New(t)
	if err := s.CreateProject(context.Background(), &connectd.Project{ID: "p", Name: "p", Settings: connectd.DefaultProjectSettings(), CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return s, holdWriter(t, s)
}

// TestBatchIsolatesFailingRows puts good and bad creates in one group
// commit: each bad one fails alone, with its own error, and the good ones
// are stored.
func TestBatchIsolatesFailingRows(t *testing.T) {
	s := sqlitetest.New(t)
	ctx := context.Background()
	p := &connectd.Project{ID: "p", Name: "p", Settings: connectd.DefaultProjectSettings(), CreatedAt: time.Now()}
	if err := s.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	existing := testSession("p")
	if err := s.CreateSession(ctx, existing, connectd.Idem{}); err != nil {
		t.Fatal(err)
	}
	claimedAt := time.Now().Truncate(time.Millisecond)
	if _, err := s.ClaimIdempotencyKey(ctx, "p", "held", []byte("h"), claimedAt, time.Minute); err != nil {
		t.Fatal(err)
	}

	type tc struct {
		name string
		cs   *connectd.Session
		idem connectd.Idem
		want error
	}
	dup := testSession("p")
	dup.ID = existing.ID
	cases := []tc{
		{"good", testSession("p"), connectd.Idem{}, nil},
		{"duplicate id", dup, connectd.Idem{}, connectd.ErrConflict},
		{"held claim", testSession("p"), connectd.Idem{ProjectID: "p", Key: "held", ClaimedAt: claimedAt}, nil},
		{"good 2", testSession("p"), connectd.Idem{}, nil},
		{"unknown claim", testSession("p"), connectd.Idem{ProjectID: "p", Key: "nobody", ClaimedAt: claimedAt}, connectd.ErrConflict},
		{"claim completed by another row of the batch", testSession("p"), connectd.Idem{ProjectID: "p", Key: "held", ClaimedAt: claimedAt}, connectd.ErrConflict},
		{"unknown project", testSession("nope"), connectd.Idem{}, connectd.ErrNotFound},
		{"good 3", testSession("p"), connectd.Idem{}, nil},
	}
	release := holdWriter(t, s)
	errs := make([]error, len(cases))
	var wg sync.WaitGroup
	for i, c := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.CreateSession(ctx, c.cs, c.idem)
		}()
		time.Sleep(5 * time.Millisecond) // queue them in this order
	}
	release()
	wg.Wait()
	for i, c := range cases {
		if c.want == nil && errs[i] != nil || c.want != nil && !errors.Is(errs[i], c.want) {
			t.Errorf("%s: got %v, want %v", c.name, errs[i], c.want)
		}
		got, err := s.GetSession(ctx, c.cs.ProjectID, c.cs.ID)
		switch {
		case c.name == "duplicate id":
			if err != nil || got.CreatedAt != existing.CreatedAt {
				t.Errorf("%s: the first session changed: %v", c.name, err)
			}
		case c.want == nil && err != nil:
			t.Errorf("%s: not stored: %v", c.name, err)
		case c.want != nil && !errors.Is(err, connectd.ErrNotFound):
			t.Errorf("%s: stored although its create failed (%v)", c.name, err)
		}
	}
	r, err := s.ClaimIdempotencyKey(ctx, "p", "held", []byte("h"), time.Now(), time.Minute)
	if err != nil || r == nil || r.ResourceID != cases[2].cs.ID {
		t.Errorf("the claim was not completed by its own row: %+v, %v", r, err)
	}
}

// TestCreateCancelledWhileQueued: a create whose context ends while it waits
// for a batch either fails with the context's error and is not stored, or
// (taken into a batch already) succeeds and is stored; never anything else.
func TestCreateCancelledWhileQueued(t *testing.T) {
	s, release := heldStore(t)
	ctx := context.Background()
	first := testSession("p")
	firstErr := make(chan error, 1)
	go func() { firstErr <- s.CreateSession(ctx, first, connectd.Idem{}) }()
	time.Sleep(20 * time.Millisecond) // taken into a batch that waits for the writer

	var cancelled []*connectd.Session
	var errs []chan error
	for range 5 {
		cs := testSession("p")
		cctx, cancel := context.WithCancel(ctx)
		ch := make(chan error, 1)
		go func() { ch <- s.CreateSession(cctx, cs, connectd.Idem{}) }()
		time.Sleep(5 * time.Millisecond)
		cancel()
		cancelled, errs = append(cancelled, cs), append(errs, ch)
	}
	dropped := 0
	for i, cs := range cancelled {
		err := <-errs[i]
		if err != nil {
			dropped++
		}
		_, gerr := s.GetSession(ctx, "p", cs.ID)
		switch {
		case errors.Is(err, context.Canceled) && errors.Is(gerr, connectd.ErrNotFound):
		case err == nil && gerr == nil:
		default:
			t.Errorf("cancelled create: got %v, and reading it back %v", err, gerr)
		}
	}
	release()
	if err := <-firstErr; err != nil {
		t.Fatalf("the create taken before the others were cancelled: %v", err)
	}
	if _, err := s.GetSession(ctx, "p", first.ID); err != nil {
		t.Fatal(err)
	}
	if dropped == 0 {
		t.Error("no cancelled create was dropped from the queue")
	}
}

// TestCloseAnswersQueuedCreates: Close lets the committer finish what is
// queued; a create after Close fails instead of hanging.
func TestCloseAnswersQueuedCreates(t *testing.T) {
	s, release := heldStore(t)
	ctx := context.Background()
	errs := make(chan error, 10)
	for range 10 {
		go func() { errs <- s.CreateSession(ctx, testSession("p"), connectd.Idem{}) }()
	}
	time.Sleep(20 * time.Millisecond)
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	time.Sleep(20 * time.Millisecond)
	release()
	for range 10 {
		if err := <-errs; err != nil {
			t.Errorf("a create queued before Close: %v", err)
		}
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, testSession("p"), connectd.Idem{}); err == nil {
		t.Fatal("a create after Close succeeded")
	}
}
