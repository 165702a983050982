package storetest

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/connectd/connectd"
)

func reqHash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

const lease = time.Minute

// claim claims key and fails unless the caller got it.
func claim(t testing.TB, s connectd.Store, projectID, key string, hash []byte, at time.Time) {
	t.Helper()
	rec, err := s.ClaimIdempotencyKey(t.Context(), projectID, key, hash, at, lease)
	is(t, "ClaimIdempotencyKey", err, nil)
	if rec != nil {
		t.Fatalf("ClaimIdempotencyKey of %s at %v: refused, record %+v", key, at, rec)
	}
}

// held claims key and fails unless it is held; it returns the record.
func held(t testing.TB, s connectd.Store, projectID, key string, hash []byte, at time.Time) *connectd.IdempotencyRecord {
	t.Helper()
	rec, err := s.ClaimIdempotencyKey(t.Context(), projectID, key, hash, at, lease)
	is(t, "ClaimIdempotencyKey", err, nil)
	if rec == nil {
		t.Fatalf("ClaimIdempotencyKey of %s at %v: claimed, want the existing record", key, at)
	}
	return rec
}

// claimed claims a new key of a new project for request req now, and
// returns them with the request's hash and the time of the claim.
func claimed(t testing.TB, s connectd.Store, req string) (p *connectd.Project, key string, h []byte, at time.Time) {
	t.Helper()
	p, key, h, at = mkProject(t, s), "key-"+uid(), reqHash(req), now()
	claim(t, s, p.ID, key, h, at)
	return p, key, h, at
}

var idempotencyTests = []test{
	{"ClaimAndReplay", func(t *testing.T, s connectd.Store) {
		ctx := t.Context()
		p, key, h, at := claimed(t, s, "POST /v1/connect-sessions {}")

		inFlight := &connectd.IdempotencyRecord{ProjectID: p.ID, Key: key, RequestHash: h, CreatedAt: at, LockedUntil: at.Add(lease)}
		equal(t, "record in flight", held(t, s, p.ID, key, h, at.Add(time.Second)), inFlight)
		equal(t, "record in flight, other request", held(t, s, p.ID, key, reqHash("other"), at.Add(time.Second)), inFlight)

		cs, _ := newSession(p.ID, at)
		is(t, "CreateSession with idem", s.CreateSession(ctx, cs, connectd.Idem{ProjectID: p.ID, Key: key, ClaimedAt: at}), nil)
		done := *inFlight
		done.ResourceID = cs.ID
		equal(t, "completed record", held(t, s, p.ID, key, h, at.Add(2*time.Second)), &done)
		// Past the lease, a completed record is still replayed.
		equal(t, "completed record past the lease", held(t, s, p.ID, key, h, at.Add(time.Hour)), &done)
		// Release leaves a completed record alone.
		is(t, "ReleaseIdempotencyKey", s.ReleaseIdempotencyKey(ctx, connectd.Idem{ProjectID: p.ID, Key: key, ClaimedAt: at}), nil)
		equal(t, "completed record after Release", held(t, s, p.ID, key, h, at.Add(time.Hour)), &done)
		// Older than the TTL, the key is free again.
		later := at.Add(connectd.IdempotencyTTL + time.Minute)
		claim(t, s, p.ID, key, reqHash("new request"), later)
		equal(t, "record of the new claim", held(t, s, p.ID, key, h, later.Add(time.Second)),
			&connectd.IdempotencyRecord{ProjectID: p.ID, Key: key, RequestHash: reqHash("new request"), CreatedAt: later, LockedUntil: later.Add(lease)})
	}},
	{"Release", func(t *testing.T, s connectd.Store) {
		ctx := t.Context()
		p, key, h, at := claimed(t, s, "req")
		is(t, "ReleaseIdempotencyKey", s.ReleaseIdempotencyKey(ctx, connectd.Idem{ProjectID: p.ID, Key: key, ClaimedAt: at}), nil)
		claim(t, s, p.ID, key, h, at.Add(time.Second))
		held(t, s, p.ID, key, h, at.Add(2*time.Second))
	}},
	{"LapsedLease", func(t *testing.T, s connectd.Store) {
		p, key, h, at := claimed(t, s, "req")
		held(t, s, p.ID, key, h, at.Add(lease-time.Millisecond))
		later := at.Add(lease + time.Second)
		claim(t, s, p.ID, key, h, later)
		rec := held(t, s, p.ID, key, h, later.Add(time.Second))
		if !rec.CreatedAt.Equal(later) || !rec.LockedUntil.Equal(later.Add(lease)) || rec.ResourceID != "" {
			t.Fatalf("record after taking over a lapsed claim: %+v", rec)
		}
	}},
	{"LapsedClaimTakenOver", func(t *testing.T, s connectd.Store) {
		// A request that outlives its lease, whose key a retry took over,
		// can neither complete nor release the retry's claim.
		ctx := t.Context()
		p, key, h, at := claimed(t, s, "req")
		first := connectd.Idem{ProjectID: p.ID, Key: key, ClaimedAt: at}
		later := at.Add(lease + time.Second)
		claim(t, s, p.ID, key, h, later)
		retry := connectd.Idem{ProjectID: p.ID, Key: key, ClaimedAt: later}

		is(t, "ReleaseIdempotencyKey of the lapsed claim", s.ReleaseIdempotencyKey(ctx, first), nil)
		held(t, s, p.ID, key, h, later.Add(time.Second))
		cs, _ := newSession(p.ID, at)
		is(t, "CreateSession under the lapsed claim", s.CreateSession(ctx, cs, first), connectd.ErrConflict)
		is(t, "GetSession of the refused create", errOf(s.GetSession(ctx, p.ID, cs.ID)), connectd.ErrNotFound)
		u := &connectd.User{ID: connectd.NewID(connectd.PrefixUser), ProjectID: p.ID, Email: "lapsed-" + uid() + "@example.com", CreatedAt: at}
		is(t, "CreateUser under the lapsed claim", s.CreateUser(ctx, u, first), connectd.ErrConflict)
		// Issue 11.4: nor a resource write or an expiry under it, which
		// then write nothing.
		rec := newRecord(p.ID, connectd.KindPlan)
		is(t, "WriteResources under the lapsed claim",
			s.WriteResources(ctx, p.ID, []connectd.ResourceWrite{{Create: true, Record: rec, Idem: first}}), connectd.ErrClaimLost)
		is(t, "GetResource of the refused create", errOf(s.GetResource(ctx, p.ID, rec.Kind, rec.ID)), connectd.ErrNotFound)
		open, _ := mkSession(t, s, p.ID)
		is(t, "ExpireSession under the lapsed claim", errOf(s.ExpireSession(ctx, p.ID, open.ID, later, first)), connectd.ErrClaimLost)
		got, err := s.GetSession(ctx, p.ID, open.ID)
		is(t, "GetSession", err, nil)
		equal(t, "status after the refused expiry", got.StoredStatus, connectd.StatusOpen)
		if rec := held(t, s, p.ID, key, h, later.Add(time.Second)); rec.ResourceID != "" {
			t.Fatalf("the lapsed claim completed the retry's: %+v", rec)
		}

		mine, _ := newSession(p.ID, later)
		is(t, "CreateSession under the retry's claim", s.CreateSession(ctx, mine, retry), nil)
		if rec := held(t, s, p.ID, key, h, later.Add(time.Second)); rec.ResourceID != mine.ID {
			t.Fatalf("record: %+v, want resource %s", rec, mine.ID)
		}
	}},
	{"PerProject", func(t *testing.T, s connectd.Store) {
		p, q := mkProject(t, s), mkProject(t, s)
		key, h := "key-"+uid(), reqHash("req")
		at := now()
		claim(t, s, p.ID, key, h, at)
		claim(t, s, q.ID, key, h, at)
		claim(t, s, p.ID, "other-"+key, h, at)
		cs, _ := newSession(q.ID, at)
		is(t, "CreateSession with idem", s.CreateSession(t.Context(), cs, connectd.Idem{ProjectID: q.ID, Key: key, ClaimedAt: at}), nil)
		if rec := held(t, s, p.ID, key, h, at); rec.ResourceID != "" {
			t.Fatalf("completing a key in one project completed it in another: %+v", rec)
		}
		if rec := held(t, s, q.ID, key, h, at); rec.ResourceID != cs.ID {
			t.Fatalf("record: %+v, want resource %s", rec, cs.ID)
		}
	}},
	{"CreateUser", func(t *testing.T, s connectd.Store) {
		p, key, h, at := claimed(t, s, "POST /v1/users")
		u := &connectd.User{ID: connectd.NewID(connectd.PrefixUser), ProjectID: p.ID, Email: "idem@example.com", CreatedAt: at}
		is(t, "CreateUser with idem", s.CreateUser(t.Context(), u, connectd.Idem{ProjectID: p.ID, Key: key, ClaimedAt: at}), nil)
		if rec := held(t, s, p.ID, key, h, at); rec.ResourceID != u.ID {
			t.Fatalf("record: %+v, want resource %s", rec, u.ID)
		}
	}},
	{"AtomicWithCreate", func(t *testing.T, s connectd.Store) {
		ctx := t.Context()
		p := mkProject(t, s)
		at := now()
		// A create that fails leaves the claim in flight.
		existing, _ := mkSession(t, s, p.ID)
		key := "key-" + uid()
		claim(t, s, p.ID, key, reqHash("req"), at)
		dup, _ := newSession(p.ID, at)
		dup.ID = existing.ID
		is(t, "CreateSession with a taken ID", s.CreateSession(ctx, dup, connectd.Idem{ProjectID: p.ID, Key: key, ClaimedAt: at}), connectd.ErrConflict)
		if rec := held(t, s, p.ID, key, reqHash("req"), at); rec.ResourceID != "" {
			t.Fatalf("a failed CreateSession completed its key: %+v", rec)
		}

		u := mkUser(t, s, p.ID)
		ukey := "key-" + uid()
		claim(t, s, p.ID, ukey, reqHash("req"), at)
		taken := &connectd.User{ID: connectd.NewID(connectd.PrefixUser), ProjectID: p.ID, Email: u.Email, CreatedAt: at}
		is(t, "CreateUser with a taken email", s.CreateUser(ctx, taken, connectd.Idem{ProjectID: p.ID, Key: ukey, ClaimedAt: at}), connectd.ErrConflict)
		if rec := held(t, s, p.ID, ukey, reqHash("req"), at); rec.ResourceID != "" {
			t.Fatalf("a failed CreateUser completed its key: %+v", rec)
		}
	}},
	{"WriteResources", func(t *testing.T, s connectd.Store) {
		// Issue 11.4: a resource create completes its claim with its ID, in
		// the transaction of the insert.
		ctx := t.Context()
		p, key, h, at := claimed(t, s, "POST /v1/plans")
		idem := connectd.Idem{ProjectID: p.ID, Key: key, ClaimedAt: at}
		rec := newRecord(p.ID, connectd.KindPlan)
		is(t, "WriteResources with idem", s.WriteResources(ctx, p.ID, []connectd.ResourceWrite{{Create: true, Record: rec, Idem: idem}}), nil)
		equal(t, "version of the created resource", rec.Version, int64(1))
		equalRecord(t, "created resource", getRecord(t, s, rec), rec)
		if got := held(t, s, p.ID, key, h, at.Add(time.Hour)); got.ResourceID != rec.ID {
			t.Fatalf("record: %+v, want resource %s", got, rec.ID)
		}
		// The claim is completed: another write under it is refused whole.
		again := newRecord(p.ID, connectd.KindPlan)
		is(t, "WriteResources under a completed claim",
			s.WriteResources(ctx, p.ID, []connectd.ResourceWrite{{Create: true, Record: again, Idem: idem}}), connectd.ErrClaimLost)
		is(t, "GetResource of the refused create", errOf(s.GetResource(ctx, p.ID, again.Kind, again.ID)), connectd.ErrNotFound)
		if got := held(t, s, p.ID, key, h, at.Add(time.Hour)); got.ResourceID != rec.ID {
			t.Fatalf("record after the refused write: %+v, want resource %s", got, rec.ID)
		}
	}},
	{"WriteResourcesFailed", func(t *testing.T, s connectd.Store) {
		// Issue 11.4: a batch that fails completes no claim and writes
		// nothing; the claim stays in flight, the caller's to release.
		ctx := t.Context()
		p := mkProject(t, s)
		existing := mkRecord(t, s, p.ID, connectd.KindSIM)
		stale := *existing
		stale.Version = 99
		missing := newRecord(p.ID, connectd.KindSIM)
		missing.Version = 1
		for _, c := range []struct {
			name  string
			other func() []connectd.ResourceWrite // the batch's writes besides the create
			dupID bool                            // the create reuses existing's ID
			want  error
		}{
			{"ID taken", nil, true, connectd.ErrConflict},
			{"stale update", func() []connectd.ResourceWrite { s := stale; return []connectd.ResourceWrite{{Record: &s}} }, false, connectd.ErrConflict},
			{"update of a missing resource", func() []connectd.ResourceWrite { m := *missing; return []connectd.ResourceWrite{{Record: &m}} }, false, connectd.ErrNotFound},
		} {
			key, h, at := "key-"+uid(), reqHash("req"), now()
			claim(t, s, p.ID, key, h, at)
			rec := newRecord(p.ID, connectd.KindPlan)
			if c.dupID {
				rec.ID = existing.ID
			}
			writes := []connectd.ResourceWrite{{Create: true, Record: rec, Idem: connectd.Idem{ProjectID: p.ID, Key: key, ClaimedAt: at}}}
			if c.other != nil {
				writes = append(writes, c.other()...)
			}
			is(t, "WriteResources with "+c.name, s.WriteResources(ctx, p.ID, writes), c.want)
			if got := held(t, s, p.ID, key, h, at); got.ResourceID != "" {
				t.Fatalf("%s: a failed WriteResources completed its key: %+v", c.name, got)
			}
			if !c.dupID {
				is(t, c.name+": GetResource of the create", errOf(s.GetResource(ctx, p.ID, rec.Kind, rec.ID)), connectd.ErrNotFound)
			}
			equalRecord(t, c.name+": the existing resource", getRecord(t, s, existing), existing)
		}
	}},
	{"ExpireSession", func(t *testing.T, s connectd.Store) {
		// Issue 11.4: an expiry completes its claim with the session's ID,
		// in the transaction that expires it.
		ctx := t.Context()
		p := mkProject(t, s)
		cs, _ := mkSession(t, s, p.ID)
		expire := func(what, id string, want error) (string, []byte, time.Time) {
			t.Helper()
			key, h, at := "key-"+uid(), reqHash("POST expire "+id), now()
			claim(t, s, p.ID, key, h, at)
			_, err := s.ExpireSession(ctx, p.ID, id, at, connectd.Idem{ProjectID: p.ID, Key: key, ClaimedAt: at})
			is(t, what, err, want)
			return key, h, at
		}
		key, h, at := expire("ExpireSession with idem", cs.ID, nil)
		got, err := s.GetSession(ctx, p.ID, cs.ID)
		is(t, "GetSession", err, nil)
		equal(t, "status", got.StoredStatus, connectd.StatusExpired)
		if rec := held(t, s, p.ID, key, h, at); rec.ResourceID != cs.ID {
			t.Fatalf("record: %+v, want resource %s", rec, cs.ID)
		}
		// A session already ended is answered as it is: that answer is
		// remembered too.
		key, h, at = expire("ExpireSession of an expired session with idem", cs.ID, nil)
		if rec := held(t, s, p.ID, key, h, at); rec.ResourceID != cs.ID {
			t.Fatalf("record: %+v, want resource %s", rec, cs.ID)
		}
		// A session that ended with an outcome is refused by the service
		// (409): the store completes nothing, so the refusal is not
		// remembered as an answer.
		failed, _ := mkSession(t, s, p.ID)
		_, err = s.FinishSession(ctx, failed.ID, connectd.StatusFailed, now())
		is(t, "FinishSession failed", err, nil)
		key, h, at = expire("ExpireSession of a failed session with idem", failed.ID, nil)
		if rec := held(t, s, p.ID, key, h, at); rec.ResourceID != "" {
			t.Fatalf("ExpireSession of a session that ended with an outcome completed its key: %+v", rec)
		}
		// An unknown session completes nothing.
		key, h, at = expire("ExpireSession of an unknown session with idem", connectd.NewID(connectd.PrefixSession), connectd.ErrNotFound)
		if rec := held(t, s, p.ID, key, h, at); rec.ResourceID != "" {
			t.Fatalf("a failed ExpireSession completed its key: %+v", rec)
		}
	}},
	{"ConcurrentClaims", func(t *testing.T, s connectd.Store) {
		p := mkProject(t, s)
		at := now()
		for round := 0; round < 5; round++ {
			key := "key-" + uid()
			got := make([]*connectd.IdempotencyRecord, 20)
			errs := parallel(20, func(i int) error {
				var err error
				got[i], err = s.ClaimIdempotencyKey(context.Background(), p.ID, key, reqHash("req"), at, lease)
				return err
			})
			winners(t, "ClaimIdempotencyKey", errs, nil)
			n := 0
			for _, rec := range got {
				if rec == nil {
					n++
				} else if rec.ResourceID != "" || rec.Key != key {
					t.Fatalf("refused claim returned %+v", rec)
				}
			}
			if n != 1 {
				t.Fatalf("round %d: %d of 20 concurrent claims won, want 1", round, n)
			}
		}
	}},
}

func errOf[T any](_ T, err error) error { return err }
