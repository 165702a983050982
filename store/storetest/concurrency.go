package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/platform"
)

// Races between callers of one store (each on a connection of its own, as
// across server processes), the round trip of every column, and the typed
// platform layer on top of the store. Moved here from the PostgreSQL tests
// so that every backend runs them.

// t0 is a fixed time with milliseconds, in the future of any test run.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 6_000_000, time.UTC)

// ensureProject creates project id unless it exists: every row belongs to
// a project.
func ensureProject(t testing.TB, s connectd.Store, id string) {
	t.Helper()
	err := s.CreateProject(context.Background(), &connectd.Project{ID: id, Name: id, Settings: connectd.DefaultProjectSettings(), CreatedAt: t0})
	if err != nil && !errors.Is(err, connectd.ErrConflict) {
		t.Fatalf("CreateProject: %v", err)
	}
}

// sessionAtT0 saves an open session of the project (created unless it
// exists) made at t0, changed by mut, and returns it with its token.
func sessionAtT0(t testing.TB, s connectd.Store, projectID string, mut func(*connectd.Session)) (*connectd.Session, string) {
	t.Helper()
	ensureProject(t, s, projectID)
	cs, token := newSession(projectID, t0)
	cs.ExpiresAt = t0.Add(15 * time.Minute)
	if mut != nil {
		mut(cs)
	}
	is(t, "CreateSession", s.CreateSession(context.Background(), cs, connectd.Idem{}), nil)
	return cs, token
}

// recAtT0 returns an unsaved active record of the project made at t0.
func recAtT0(projectID string, kind connectd.ResourceKind, data string) *connectd.ResourceRecord {
	return newRecord(projectID, kind, func(r *connectd.ResourceRecord) {
		r.Data, r.CreatedAt, r.UpdatedAt = []byte(data), t0, t0
	})
}

var concurrencyTests = []test{
	// The races of one token (consumeTokenTests' Concurrent) and of two
	// associations (updateSessionTests' ConcurrentAssociations) are in
	// their groups.

	// Every column of a session comes back unchanged, times in UTC.
	{"SessionRoundTrip", func(t *testing.T, s connectd.Store) {
		ctx := context.Background()
		cb := "https://example.com/back"
		theme := connectd.ThemeDark
		name := "Ada"
		used := t0.Add(time.Second)
		cs, _ := sessionAtT0(t, s, "p1", func(cs *connectd.Session) {
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
	}},

	// A create whose idempotency claim is gone inserts nothing, and one
	// whose insert fails leaves the claim in flight.
	{"IdempotentCreateAtomic", func(t *testing.T, s connectd.Store) {
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
		existing, _ := sessionAtT0(t, s, "p1", nil)
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
	}},

	// Lists order IDs bytewise whatever the database's collation: "B" sorts
	// before "a".
	{"ListOrderBytewise", func(t *testing.T, s connectd.Store) {
		ctx := context.Background()
		for _, id := range []string{"csn_a", "csn_B", "csn_b", "csn_A"} {
			sessionAtT0(t, s, "p1", func(cs *connectd.Session) { cs.ID = id })
		}
		for _, c := range []struct {
			name                  string
			p                     connectd.ListParams
			want                  []string
			moreAfter, moreBefore bool
		}{
			{"first page", connectd.ListParams{Limit: 2}, []string{"csn_b", "csn_a"}, true, false},
			{"second page", connectd.ListParams{Limit: 2, After: "csn_a"}, []string{"csn_B", "csn_A"}, false, true},
			{"before page", connectd.ListParams{Limit: 1, Before: "csn_B"}, []string{"csn_a"}, true, true},
		} {
			page, err := s.ListSessions(ctx, "p1", connectd.SessionFilter{ListParams: c.p})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(idsWhere(page.Items, sessionID, every[*connectd.Session])) != fmt.Sprint(c.want) || page.MoreAfter != c.moreAfter || page.MoreBefore != c.moreBefore {
				t.Fatalf("%s: %v (more after %v, before %v)", c.name, idsWhere(page.Items, sessionID, every[*connectd.Session]), page.MoreAfter, page.MoreBefore)
			}
		}
	}},

	{"BatchedCreatesFailAlone", BatchedCreatesFailAlone},

	// A create after Close fails instead of hanging.
	{"CreateAfterClose", func(t *testing.T, s connectd.Store) {
		ensureProject(t, s, "p")
		s.Close()
		_, hash := connectd.NewToken()
		err := s.CreateSession(context.Background(), &connectd.Session{ID: connectd.NewID(connectd.PrefixSession), ProjectID: "p",
			StoredStatus: connectd.StatusOpen, TokenHash: hash, CreatedAt: t0, ExpiresAt: t0, UpdatedAt: t0}, connectd.Idem{})
		if err == nil {
			t.Fatal("a create after Close succeeded")
		}
	}},

	// Batches updating the same two resources in opposite orders queue on
	// the rows rather than deadlock, so every failure is an ordinary
	// ErrConflict.
	resourceTest("WriteResourcesCrossedOrder", func(t *testing.T, s ResourceStore) {
		p := mkProject(t, s).ID
		x := mkRecord(t, s, p, connectd.KindSubscription)
		y := mkRecord(t, s, p, connectd.KindPayment)
		const workers, rounds = 8, 15
		var wg sync.WaitGroup
		errs := make(chan error, workers*rounds)
		wins := make(chan struct{}, workers*rounds)
		for w := range workers {
			wg.Go(func() {
				for range rounds {
					cx, err := s.GetResource(context.Background(), p, x.Kind, x.ID)
					if err != nil {
						errs <- err
						return
					}
					cy, err := s.GetResource(context.Background(), p, y.Kind, y.ID)
					if err != nil {
						errs <- err
						return
					}
					cx.Data, cy.Data = fmt.Appendf(nil, `{"w":%d}`, w), fmt.Appendf(nil, `{"w":%d}`, w)
					batch := []connectd.ResourceWrite{{Record: cx}, {Record: cy}}
					if w%2 == 1 {
						batch[0], batch[1] = batch[1], batch[0]
					}
					switch err := s.WriteResources(context.Background(), p, batch); {
					case err == nil:
						wins <- struct{}{}
					case !errors.Is(err, connectd.ErrConflict):
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("WriteResources: %v", err)
		}
		if len(wins) == 0 {
			t.Fatal("no batch won: every write was refused as a conflict")
		}
		// Every win bumped both versions together.
		gx, err := s.GetResource(t.Context(), p, x.Kind, x.ID)
		if err != nil {
			t.Fatal(err)
		}
		gy, err := s.GetResource(t.Context(), p, y.Kind, y.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := int64(1 + len(wins)); gx.Version != want || gy.Version != want {
			t.Fatalf("versions %d and %d after %d winning batches, want %d", gx.Version, gy.Version, len(wins), want)
		}
		if !bytes.Equal(gx.Data, gy.Data) {
			t.Fatalf("the resources hold the data of different batches: %s, %s", gx.Data, gy.Data)
		}
	}),

	// The typed platform layer on the store.
	resourceTest("Platform", func(t *testing.T, s ResourceStore) {
		ctx := t.Context()
		p := mkProject(t, s).ID
		b := platform.New(s)
		u := &connectd.User{ID: connectd.NewID(connectd.PrefixUser), ProjectID: p, Email: "u@example.com", CreatedAt: t0}
		if err := s.CreateUser(ctx, u, connectd.Idem{}); err != nil {
			t.Fatal(err)
		}
		plan := &connectd.Plan{Name: "Basic", Status: connectd.PlanActive, Price: connectd.Price{Amount: 1000, Currency: "EUR"}}
		if err := b.Plans().Create(ctx, p, plan); err != nil {
			t.Fatal(err)
		}
		sub := &connectd.Subscription{User: u.ID, Plan: plan.ID, Status: connectd.SubscriptionActive, Recurring: true}
		if err := b.Subscriptions().Create(ctx, p, sub); err != nil {
			t.Fatal(err)
		}
		pin := "1234"
		porting := &connectd.Porting{Subscription: sub.ID, PhoneNumber: "+15550000000", Status: connectd.PortingDraft, AccountPin: &pin}
		if err := b.Portings().Create(ctx, p, porting); err != nil {
			t.Fatal(err)
		}
		got, err := b.Portings().Get(ctx, p, porting.ID)
		if err != nil || got.User != u.ID || got.AccountPin == nil || *got.AccountPin != "1234" {
			t.Fatalf("Get porting: %+v, %v", got, err)
		}
		page, err := b.Portings().List(ctx, p, connectd.PlatformFilter{UserID: u.ID, Subscription: sub.ID})
		if err != nil || len(page.Items) != 1 || page.Items[0].ID != porting.ID {
			t.Fatalf("List portings: %+v, %v", page, err)
		}

		// Concurrent Updates lose no increment. (Update gives up with
		// ErrConflict after a few retries under heavy contention: those
		// increments are not applied, and not counted.)
		var wg sync.WaitGroup
		var applied atomic.Int64
		const workers, increments = 4, 10
		for range workers {
			wg.Go(func() {
				for range increments {
					_, err := connectd.UpdateResource(context.Background(), b.Plans(), p, plan.ID, func(v *connectd.Plan) error { v.Price.Amount++; return nil })
					switch {
					case err == nil:
						applied.Add(1)
					case !errors.Is(err, connectd.ErrConflict):
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		gp, err := b.Plans().Get(ctx, p, plan.ID)
		if err != nil || gp.Price.Amount != 1000+applied.Load() || applied.Load() == 0 {
			t.Fatalf("amount after %d concurrent updates: %+v, %v", applied.Load(), gp, err)
		}

		// A seed of the records as they are now is the same content.
		rec, err := b.SeedRecord(ctx, p, gp)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := s.ApplySeed(ctx, connectd.SeedBatch{Resources: []*connectd.ResourceRecord{rec}}); err != nil || n != 0 {
			t.Fatalf("ApplySeed of the stored plan: %d, %v", n, err)
		}
	}),
}

// BatchedCreatesFailAlone sends bursts of concurrent creates, good ones
// mixed with ones that must fail (a duplicate ID, an unknown project, a
// claim not in flight, a claim completed by another create): however they
// are batched, each gets its own outcome, and exactly the good ones are
// stored, with their claims completed. Odd rounds have no create whose statement fails, so that
// their batches commit whole, lost claims and all.
//
// Run runs it; a backend may run it again on a store configured so that
// batches form more often.
func BatchedCreatesFailAlone(t *testing.T, s connectd.Store) {
	ctx := context.Background()
	existing, _ := sessionAtT0(t, s, "p", nil)
	mk := func(project string) *connectd.Session {
		cs, _ := newSession(project, t0)
		cs.ExpiresAt = t0.Add(time.Hour)
		return cs
	}
	type req struct {
		cs   *connectd.Session
		idem connectd.Idem
		want error
		// claimed by the first of a pair sharing a key: either may win
		pair int
	}
	for round := range 5 {
		var reqs []req
		for i := range 40 {
			key := fmt.Sprintf("r%d-k%d", round, i)
			kind := i % 8
			if round%2 == 1 && (kind == 1 || kind == 2) {
				kind = 0 // no statement fails: the batches commit whole
			}
			switch kind {
			case 1:
				dup := mk("p")
				dup.ID = existing.ID
				reqs = append(reqs, req{cs: dup, want: connectd.ErrConflict})
			case 2:
				reqs = append(reqs, req{cs: mk("nope"), want: connectd.ErrNotFound})
			case 3:
				reqs = append(reqs, req{cs: mk("p"), idem: connectd.Idem{ProjectID: "p", Key: key}, want: connectd.ErrConflict}) // never claimed
			case 4:
				at := time.Now().Truncate(time.Millisecond)
				if _, err := s.ClaimIdempotencyKey(ctx, "p", key, []byte("h"), at, time.Minute); err != nil {
					t.Fatal(err)
				}
				idem := connectd.Idem{ProjectID: "p", Key: key, ClaimedAt: at}
				reqs = append(reqs, req{cs: mk("p"), idem: idem, pair: i + 1},
					req{cs: mk("p"), idem: idem, pair: i + 1})
			default:
				reqs = append(reqs, req{cs: mk("p")})
			}
		}
		errs := parallel(len(reqs), func(i int) error { return s.CreateSession(ctx, reqs[i].cs, reqs[i].idem) })
		pairWins := map[int]int{}
		for i, r := range reqs {
			_, gerr := s.GetSession(ctx, r.cs.ProjectID, r.cs.ID)
			stored := gerr == nil
			if r.cs.ID == existing.ID {
				stored = false
			}
			switch {
			case r.pair != 0:
				if errs[i] == nil {
					pairWins[r.pair]++
				} else if !errors.Is(errs[i], connectd.ErrConflict) {
					t.Errorf("round %d: create %d sharing a claim: %v", round, i, errs[i])
				}
				if stored != (errs[i] == nil) {
					t.Errorf("round %d: create %d sharing a claim: error %v but stored=%v", round, i, errs[i], stored)
				}
			case r.want == nil:
				if errs[i] != nil || !stored {
					t.Errorf("round %d: good create %d: %v (stored=%v)", round, i, errs[i], stored)
				}
			default:
				if !errors.Is(errs[i], r.want) || stored {
					t.Errorf("round %d: bad create %d: got %v, want %v (stored=%v)", round, i, errs[i], r.want, stored)
				}
			}
		}
		// Every pair, also one where both creates failed, has exactly
		// one create that completed its claim.
		for _, r := range reqs {
			if r.pair != 0 && pairWins[r.pair] != 1 {
				t.Errorf("round %d: %d creates completed the claim of pair %d", round, pairWins[r.pair], r.pair)
			}
		}
	}
}
