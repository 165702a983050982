package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/store/postgres"
	"github.com/connectd/connectd/store/postgres/pgtest"
)

// TestBatchedCreatesFailAlone sends bursts of concurrent creates, good ones
// mixed with ones that must fail (a duplicate ID, an unknown project, a
// claim not in flight, a claim completed by another create): however they
// are batched, each gets its own outcome, and exactly the good ones are
// stored, with their claims completed. Odd rounds have no create whose
// statement fails, so that their batches commit whole, lost claims and all.
func TestBatchedCreatesFailAlone(t *testing.T) {
	u := pgtest.URL(t)
	ctx := context.Background()
	s, err := postgres.Open(ctx, u+"&pool_max_conns=2") // one batch worker: batches form
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	ensureProject(t, s, "p")
	existing, _ := newSession(t, s, "p", nil)

	mk := func(project string) *connectd.Session {
		_, hash := connectd.NewToken()
		return &connectd.Session{ID: connectd.NewID(connectd.PrefixSession), ProjectID: project,
			Intent: connectd.Intent{Type: connectd.IntentViewSubscriptions}, StoredStatus: connectd.StatusOpen,
			TokenHash: hash, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), UpdatedAt: t0}
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
		errs := make([]error, len(reqs))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, r := range reqs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = s.CreateSession(ctx, r.cs, r.idem)
			}()
		}
		close(start)
		wg.Wait()
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
		for p, n := range pairWins {
			if n != 1 {
				t.Errorf("round %d: %d creates completed the claim of pair %d", round, n, p)
			}
		}
	}
}

// TestCreateAfterClose fails instead of hanging.
func TestCreateAfterClose(t *testing.T) {
	s := pgtest.New(t)
	ensureProject(t, s, "p")
	s.Close()
	_, hash := connectd.NewToken()
	err := s.CreateSession(context.Background(), &connectd.Session{ID: connectd.NewID(connectd.PrefixSession), ProjectID: "p",
		StoredStatus: connectd.StatusOpen, TokenHash: hash, CreatedAt: t0, ExpiresAt: t0, UpdatedAt: t0}, connectd.Idem{})
	if err == nil {
		t.Fatal("a create after Close succeeded")
	}
}
