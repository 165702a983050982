package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/store/sqlite"
	"github.com/connectd/connectd/store/sqlite/sqlitetest"
)

func mkPortalSession(t *testing.T, s *sqlite.Store) (*connectd.Session, string) {
	t.Helper()
	ctx := context.Background()
	p := &connectd.Project{ID: connectd.NewID("prj"), Name: "p", Settings: connectd.DefaultProjectSettings(), CreatedAt: time.Now().UTC()}
	if err := s.CreateProject(ctx, p); err != nil && !errors.Is(err, connectd.ErrConflict) {
		t.Fatal(err)
	}
	token, hash := connectd.NewToken()
	at := time.Now().UTC().Truncate(time.Millisecond)
	cs := &connectd.Session{ID: connectd.NewID(connectd.PrefixSession), ProjectID: p.ID,
		Intent: connectd.Intent{Type: connectd.IntentViewSubscriptions}, StoredStatus: connectd.StatusOpen,
		UserDetails: &connectd.UserDetails{Email: connectd.NewID("u") + "@example.com"},
		TokenHash:   hash, CreatedAt: at, ExpiresAt: at.Add(connectd.DefaultSessionTTL), UpdatedAt: at}
	if err := s.CreateSession(ctx, cs, connectd.Idem{}); err != nil {
		t.Fatal(err)
	}
	return cs, token
}

// TestReplayCountAndEndedAt checks the columns the portal writes that no
// interface method reads back.
func TestReplayCountAndEndedAt(t *testing.T) {
	s := sqlitetest.New(t)
	ctx := context.Background()
	cs, token := mkPortalSession(t, s)
	at := cs.CreatedAt.Add(time.Second)
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
	_, r := sqlite.DBs(s)
	var replays int
	var endedAt int64
	if err := r.QueryRowContext(ctx, `SELECT replay_count, ended_at FROM connect_sessions WHERE id = ?`, cs.ID).Scan(&replays, &endedAt); err != nil {
		t.Fatal(err)
	}
	if replays != 3 || endedAt != end.UnixMilli() {
		t.Fatalf("replay_count %d, ended_at %d; want 3, %d", replays, endedAt, end.UnixMilli())
	}
}

// TestEnterSessionAcrossStores races EnterSession of one token through
// several stores on the same file, as several processes would: exactly one
// wins, and exactly one browser session and one user are written.
func TestEnterSessionAcrossStores(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	const nStores, n = 4, 40
	stores := make([]*sqlite.Store, nStores)
	for i := range stores {
		s, err := sqlite.Open(ctx, path, sqlite.Options{})
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
	at := cs.CreatedAt.Add(time.Second)
	errs := make([]error, n)
	browsers := make([]*connectd.BrowserSession, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		u := &connectd.User{ID: connectd.NewID(connectd.PrefixUser), Email: cs.UserDetails.Email, CreatedAt: at}
		browsers[i] = &connectd.BrowserSession{ID: connectd.NewID(connectd.PrefixBrowserSession), UserID: &u.ID,
			SecretHash: connectd.HashToken(connectd.NewID("secret")), CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
		wg.Go(func() {
			<-start
			_, errs[i] = stores[i%nStores].EnterSession(ctx, connectd.EnterParams{SessionID: cs.ID,
				TokenHash: connectd.HashToken(token), Now: at, Browser: browsers[i], NewUser: u})
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
	_, r := sqlite.DBs(stores[0])
	var nb, nu int
	if err := r.QueryRowContext(ctx, `SELECT count(*) FROM browser_sessions WHERE session_id = ?`, cs.ID).Scan(&nb); err != nil {
		t.Fatal(err)
	}
	if err := r.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE project_id = ?`, cs.ProjectID).Scan(&nu); err != nil {
		t.Fatal(err)
	}
	if nb != 1 || nu != 1 {
		t.Fatalf("%d browser sessions and %d users, want 1 and 1", nb, nu)
	}
}
