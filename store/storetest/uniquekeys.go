package storetest

import (
	"errors"
	"sync"
	"testing"

	"github.com/connectd/connectd"
)

// Issue 11.1 and 11.2: a ResourceRecord's UniqueKey (a SIM's ICCID, the SIM
// a live subscription sits on) is held by at most one resource of its kind
// in the project, refused by the database on every write path.

// keyTaken checks that err is the *KeyTakenError of rec (also an
// ErrConflict).
func keyTaken(t testing.TB, what string, err error, rec *connectd.ResourceRecord) {
	t.Helper()
	var kt *connectd.KeyTakenError
	if !errors.As(err, &kt) || kt.Kind != rec.Kind || kt.ID != rec.ID || !errors.Is(err, connectd.ErrConflict) {
		t.Fatalf("%s: got %v, want the KeyTakenError of %s %s", what, err, rec.Kind, rec.ID)
	}
}

func withKey(key string) func(*connectd.ResourceRecord) {
	return func(r *connectd.ResourceRecord) { r.UniqueKey = key }
}

var uniqueKeyTests = []test{
	resourceTest("CreateAndUpdate", func(t *testing.T, s ResourceStore) {
		ctx := t.Context()
		p, other := mkProject(t, s), mkProject(t, s)
		sim := mkRecord(t, s, p.ID, connectd.KindSIM, withKey("8901"))
		if got := getRecord(t, s, sim); got.UniqueKey != "8901" {
			t.Fatalf("UniqueKey read back %q, want 8901", got.UniqueKey)
		}
		// The same key: refused for the same kind in the same project only.
		dup := newRecord(p.ID, connectd.KindSIM, withKey("8901"))
		keyTaken(t, "CreateResource of a taken key", s.CreateResource(ctx, dup), dup)
		mkRecord(t, s, p.ID, connectd.KindSubscription, withKey("8901"))
		mkRecord(t, s, other.ID, connectd.KindSIM, withKey("8901"))
		mkRecord(t, s, p.ID, connectd.KindSIM) // no key: any number
		mkRecord(t, s, p.ID, connectd.KindSIM)

		// An update to a taken key is refused, and the batch writes nothing.
		sim2 := mkRecord(t, s, p.ID, connectd.KindSIM, withKey("8902"))
		sub := newRecord(p.ID, connectd.KindSubscription, withKey(sim2.ID))
		sim2.UniqueKey = "8901"
		err := s.WriteResources(ctx, p.ID, []connectd.ResourceWrite{{Create: true, Record: sub}, {Record: sim2}})
		keyTaken(t, "WriteResources updating to a taken key", err, sim2)
		if _, err := s.GetResource(ctx, p.ID, connectd.KindSubscription, sub.ID); !errors.Is(err, connectd.ErrNotFound) {
			t.Fatalf("the failed batch created its subscription: %v", err)
		}
		if got := getRecord(t, s, sim2); got.UniqueKey != "8902" || got.Version != 1 {
			t.Fatalf("the failed batch changed the SIM: key %q version %d", got.UniqueKey, got.Version)
		}

		// Freeing a key (a subscription that ended) lets another take it.
		holder := mkRecord(t, s, p.ID, connectd.KindSubscription, withKey("sim_A"))
		taker := newRecord(p.ID, connectd.KindSubscription, withKey("sim_A"))
		keyTaken(t, "WriteResources creating a second holder", s.WriteResources(ctx, p.ID, []connectd.ResourceWrite{{Create: true, Record: taker}}), taker)
		holder.UniqueKey = ""
		is(t, "free the key", s.WriteResources(ctx, p.ID, []connectd.ResourceWrite{{Record: holder}}), nil)
		is(t, "take the freed key", s.WriteResources(ctx, p.ID, []connectd.ResourceWrite{{Create: true, Record: taker}}), nil)
		holder.UniqueKey = "sim_A"
		keyTaken(t, "retake a key held by another", s.WriteResources(ctx, p.ID, []connectd.ResourceWrite{{Record: holder}}), holder)
	}),
	resourceTest("Race50", func(t *testing.T, s ResourceStore) {
		// 50 concurrent writers attach one key to 50 different records,
		// half by creating them, half by updating existing ones: exactly
		// one wins, every other is told KeyTakenError.
		ctx := t.Context()
		p := mkProject(t, s)
		const n = 50
		recs := make([]*connectd.ResourceRecord, n)
		for i := range recs {
			if i%2 == 0 {
				recs[i] = newRecord(p.ID, connectd.KindSubscription)
			} else {
				recs[i] = mkRecord(t, s, p.ID, connectd.KindSubscription)
			}
			recs[i].UniqueKey = "sim_raced"
		}
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, r := range recs {
			wg.Go(func() {
				<-start
				errs[i] = s.WriteResources(ctx, p.ID, []connectd.ResourceWrite{{Create: i%2 == 0, Record: r}})
			})
		}
		close(start)
		wg.Wait()
		wins := 0
		for i, err := range errs {
			if err == nil {
				wins++
				continue
			}
			keyTaken(t, "a losing writer", err, recs[i])
		}
		if wins != 1 {
			t.Fatalf("%d of %d writers attached the key, want exactly 1", wins, n)
		}
	}),
}
