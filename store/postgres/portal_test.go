package postgres_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/store/postgres"
	"github.com/connectd/connectd/store/postgres/pgtest"
)

func mkPortalSession(t *testing.T, s *postgres.Store) (*connectd.Session, string) {
	t.Helper()
	return newSession(t, s, "p1", func(cs *connectd.Session) {
		cs.UserDetails = &connectd.UserDetails{Email: connectd.NewID("u") + "@example.com"}
		cs.ExpiresAt = t0.Add(time.Hour)
	})
}

// TestReplayCountAndEndedAt checks the columns the portal writes that no
// interface method reads back.
func TestReplayCountAndEndedAt(t *testing.T) {
	s := pgtest.New(t)
	ctx := context.Background()
	cs, token := mkPortalSession(t, s)
	at := t0.Add(time.Second)
	if _, err := s.EnterSession(ctx, connectd.EnterParams{SessionID: cs.ID, TokenHash: connectd.HashToken(token), Now: at,
		Browser: &connectd.BrowserSession{ID: connectd.NewID(connectd.PrefixBrowserSession), SecretHash: connectd.HashToken("x"),
			CreatedAt: at, ExpiresAt: at.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := s.RecordReplay(ctx, cs.ID, at); err != nil {
			t.Fatal(err)
		}
	}
	end := at.Add(time.Minute)
	if _, err := s.FinishSession(ctx, cs.ID, connectd.StatusCompleted, end); err != nil {
		t.Fatal(err)
	}
	var replays int
	var endedAt time.Time
	if err := s.Pool().QueryRow(ctx, `SELECT replay_count, ended_at FROM connect_sessions WHERE id = $1`, cs.ID).Scan(&replays, &endedAt); err != nil {
		t.Fatal(err)
	}
	if replays != 3 || !endedAt.Equal(end) {
		t.Fatalf("replay_count %d, ended_at %v; want 3, %v", replays, endedAt, end)
	}
}

// TestEnterSessionAcrossStores races EnterSession of one token through
// several stores (pools) on one database, as several server processes
// would: exactly one wins, and exactly one browser session and one user are
// written.
func TestEnterSessionAcrossStores(t *testing.T) {
	ctx := context.Background()
	u := pgtest.URL(t)
	const nStores, n = 4, 40
	stores := make([]*postgres.Store, nStores)
	for i := range stores {
		s, err := postgres.Open(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		stores[i] = s
	}
	cs, token := mkPortalSession(t, stores[0])
	at := t0.Add(time.Second)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		nu := &connectd.User{ID: connectd.NewID(connectd.PrefixUser), Email: cs.UserDetails.Email, CreatedAt: at}
		b := &connectd.BrowserSession{ID: connectd.NewID(connectd.PrefixBrowserSession), UserID: &nu.ID,
			SecretHash: connectd.HashToken(connectd.NewID("secret")), CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
		wg.Go(func() {
			<-start
			_, errs[i] = stores[i%nStores].EnterSession(ctx, connectd.EnterParams{SessionID: cs.ID,
				TokenHash: connectd.HashToken(token), Now: at, Browser: b, NewUser: nu})
		})
	}
	close(start)
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, connectd.ErrNotFound):
			t.Fatalf("EnterSession: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d winners, want 1", wins)
	}
	var nb, nu int
	if err := stores[0].Pool().QueryRow(ctx, `SELECT count(*) FROM browser_sessions WHERE session_id = $1`, cs.ID).Scan(&nb); err != nil {
		t.Fatal(err)
	}
	if err := stores[0].Pool().QueryRow(ctx, `SELECT count(*) FROM users WHERE project_id = $1`, cs.ProjectID).Scan(&nu); err != nil {
		t.Fatal(err)
	}
	if nb != 1 || nu != 1 {
		t.Fatalf("%d browser sessions and %d users, want 1 and 1", nb, nu)
	}
}
