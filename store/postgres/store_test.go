package postgres_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/store/postgres"
	"github.com/connectd/connectd/store/postgres/pgtest"
)

// These tests cover what is proper to PostgreSQL: concurrency across
// connections of a pool (as across server processes), and the round trip of
// every column. The behaviour common to all stores is storetest's.

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 6_000_000, time.UTC)

// ensureProject creates project id unless it exists: every row belongs to
// a project (migration 0004).
func ensureProject(t *testing.T, s *postgres.Store, id string) {
	t.Helper()
	err := s.CreateProject(context.Background(), &connectd.Project{ID: id, Name: id, Settings: connectd.DefaultProjectSettings(), CreatedAt: t0})
	if err != nil && !errors.Is(err, connectd.ErrConflict) {
		t.Fatalf("CreateProject: %v", err)
	}
}

func newSession(t *testing.T, s *postgres.Store, projectID string, mut func(*connectd.Session)) (*connectd.Session, string) {
	t.Helper()
	ensureProject(t, s, projectID)
	token, hash := connectd.NewToken()
	cs := &connectd.Session{
		ID:           connectd.NewID(connectd.PrefixSession),
		ProjectID:    projectID,
		Intent:       connectd.Intent{Type: connectd.IntentViewSubscriptions},
		StoredStatus: connectd.StatusOpen,
		TokenHash:    hash,
		CreatedAt:    t0,
		ExpiresAt:    t0.Add(15 * time.Minute),
		UpdatedAt:    t0,
	}
	if mut != nil {
		mut(cs)
	}
	if err := s.CreateSession(context.Background(), cs, connectd.Idem{}); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	return cs, token
}

// TestConsumeTokenExactlyOnce races 50 consumers of one token, each on a
// connection of its own: exactly one wins.
func TestConsumeTokenExactlyOnce(t *testing.T) {
	s := pgtest.New(t)
	cs, token := newSession(t, s, "p1", nil)
	var wins, notFound atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 50 {
		wg.Go(func() {
			<-start
			_, err := s.ConsumeToken(context.Background(), cs.ID, connectd.HashToken(token), t0.Add(time.Minute))
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, connectd.ErrNotFound):
				notFound.Add(1)
			default:
				t.Errorf("ConsumeToken: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	if wins.Load() != 1 || notFound.Load() != 49 {
		t.Fatalf("%d wins and %d ErrNotFound, want 1 and 49", wins.Load(), notFound.Load())
	}
	got, err := s.GetSession(context.Background(), "p1", cs.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.StoredStatus != connectd.StatusActive || got.TokenUsedAt == nil || !got.TokenUsedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("after consume: status %s, used at %v", got.StoredStatus, got.TokenUsedAt)
	}
}

// TestAssociateConcurrent races two associations of one session: exactly one
// wins, the other gets ErrConflict.
func TestAssociateConcurrent(t *testing.T) {
	s := pgtest.New(t)
	for range 10 {
		cs, _ := newSession(t, s, "p1", nil)
		var wins, conflicts atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 2 {
			wg.Go(func() {
				<-start
				uid := connectd.NewID(connectd.PrefixUser)
				_, hash := connectd.NewToken()
				u := connectd.SessionUpdate{TokenHash: hash, Now: t0.Add(time.Second)}
				if i == 0 {
					u.UserID = &uid
				} else {
					u.UserDetails = &connectd.UserDetails{Email: "a@example.com"}
				}
				_, err := s.UpdateSession(context.Background(), "p1", cs.ID, u)
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, connectd.ErrConflict):
					conflicts.Add(1)
				default:
					t.Errorf("UpdateSession: %v", err)
				}
			})
		}
		close(start)
		wg.Wait()
		if wins.Load() != 1 || conflicts.Load() != 1 {
			t.Fatalf("%d wins and %d conflicts, want 1 and 1", wins.Load(), conflicts.Load())
		}
	}
}

// TestSessionRoundTrip stores every column of a session and reads it back
// unchanged, times in UTC.
func TestSessionRoundTrip(t *testing.T) {
	s := pgtest.New(t)
	ctx := context.Background()
	cb := "https://example.com/back"
	theme := connectd.ThemeDark
	name := "Ada"
	used := t0.Add(time.Second)
	cs, _ := newSession(t, s, "p1", func(cs *connectd.Session) {
		cs.CallbackURL = &cb
		cs.Intent = connectd.Intent{Type: connectd.IntentCheckoutAddon, Subscription: "sub_1", Addons: []string{"add_1", "add_2"}}
		cs.Appearance = &connectd.Appearance{Theme: &theme}
		cs.UserDetails = &connectd.UserDetails{Email: "Ada@Example.com", FullName: &name, Metadata: map[string]string{"k": "v"}}
		cs.StoredStatus = connectd.StatusActive
		cs.TokenUsedAt = &used
		cs.CreatedAt = t0.In(time.FixedZone("X", 3600))
	})
	got, err := s.GetSession(ctx, "p1", cs.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.CreatedAt.Location() != time.UTC || !got.CreatedAt.Equal(t0) || !got.TokenUsedAt.Equal(used) {
		t.Errorf("times: %v %v", got.CreatedAt, got.TokenUsedAt)
	}
	if *got.CallbackURL != cb || *got.Appearance.Theme != theme || got.UserDetails.Email != "Ada@Example.com" ||
		*got.UserDetails.FullName != name || got.UserDetails.Metadata["k"] != "v" ||
		got.Intent.Type != connectd.IntentCheckoutAddon || len(got.Intent.Addons) != 2 || got.UserID != nil {
		t.Errorf("got %+v", got)
	}
	if _, err := s.GetSession(ctx, "p2", cs.ID); !errors.Is(err, connectd.ErrNotFound) {
		t.Errorf("other project: %v", err)
	}
}

// TestIdempotentCreateAtomic checks that a create whose idempotency claim is
// gone inserts nothing, and that one whose insert fails leaves the claim in
// flight.
func TestIdempotentCreateAtomic(t *testing.T) {
	s := pgtest.New(t)
	ctx := context.Background()
	ensureProject(t, s, "p1")
	idem := connectd.Idem{ProjectID: "p1", Key: "k1", ClaimedAt: t0}
	cs := &connectd.Session{ID: connectd.NewID(connectd.PrefixSession), ProjectID: "p1",
		Intent: connectd.Intent{Type: connectd.IntentViewSubscriptions}, StoredStatus: connectd.StatusOpen,
		CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), UpdatedAt: t0}
	if err := s.CreateSession(ctx, cs, idem); !errors.Is(err, connectd.ErrConflict) {
		t.Fatalf("create without claim: %v", err)
	}
	if _, err := s.GetSession(ctx, "p1", cs.ID); !errors.Is(err, connectd.ErrNotFound) {
		t.Fatalf("session created without claim: %v", err)
	}
	if r, err := s.ClaimIdempotencyKey(ctx, "p1", "k1", []byte("h"), t0, time.Minute); r != nil || err != nil {
		t.Fatalf("claim: %v %v", r, err)
	}
	existing, _ := newSession(t, s, "p1", nil)
	dup := *cs
	dup.ID = existing.ID
	if err := s.CreateSession(ctx, &dup, idem); !errors.Is(err, connectd.ErrConflict) {
		t.Fatalf("duplicate id: %v", err)
	}
	r, err := s.ClaimIdempotencyKey(ctx, "p1", "k1", []byte("h"), t0.Add(time.Second), time.Minute)
	if err != nil || r == nil || r.ResourceID != "" {
		t.Fatalf("after failed insert, claim = %+v, %v; want still in flight", r, err)
	}
	if err := s.CreateSession(ctx, cs, idem); err != nil {
		t.Fatal(err)
	}
	r, err = s.ClaimIdempotencyKey(ctx, "p1", "k1", []byte("h"), t0.Add(2*time.Second), time.Minute)
	if err != nil || r == nil || r.ResourceID != cs.ID || !r.CreatedAt.Equal(t0) {
		t.Fatalf("after create, claim = %+v, %v", r, err)
	}
}

// TestListOrderBytewise checks that lists order IDs bytewise whatever the
// database's collation: "B" sorts before "a".
func TestListOrderBytewise(t *testing.T) {
	s := pgtest.New(t)
	ctx := context.Background()
	for _, id := range []string{"csn_a", "csn_B", "csn_b", "csn_A"} {
		newSession(t, s, "p1", func(cs *connectd.Session) { cs.ID = id })
	}
	page, err := s.ListSessions(ctx, "p1", connectd.SessionFilter{ListParams: connectd.ListParams{Limit: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 2 || page.Items[0].ID != "csn_b" || page.Items[1].ID != "csn_a" || !page.MoreAfter || page.MoreBefore {
		t.Fatalf("first page: %v", ids(page))
	}
	page, err = s.ListSessions(ctx, "p1", connectd.SessionFilter{ListParams: connectd.ListParams{Limit: 2, After: "csn_a"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 2 || page.Items[0].ID != "csn_B" || page.Items[1].ID != "csn_A" || page.MoreAfter || !page.MoreBefore {
		t.Fatalf("second page: %v", ids(page))
	}
	page, err = s.ListSessions(ctx, "p1", connectd.SessionFilter{ListParams: connectd.ListParams{Limit: 1, Before: "csn_B"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].ID != "csn_a" || !page.MoreAfter || !page.MoreBefore {
		t.Fatalf("before page: %v", ids(page))
	}
}

func ids(p connectd.Page[*connectd.Session]) []string {
	var out []string
	for _, s := range p.Items {
		out = append(out, s.ID)
	}
	return out
}
