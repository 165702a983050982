package storetest

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/connectd/connectd"
)

// consumable reports whether token opens session id at the given time. It
// uses the token up when it does.
func consumable(t testing.TB, s connectd.Store, id, token string, at time.Time) bool {
	t.Helper()
	_, err := s.ConsumeToken(t.Context(), id, connectd.HashToken(token), at)
	if err != nil {
		is(t, "ConsumeToken", err, connectd.ErrNotFound)
		return false
	}
	return true
}

var updateSessionTests = []test{
	{"Callback", func(t *testing.T, s connectd.Store) {
		ctx := t.Context()
		p := mkProject(t, s)
		cs, token := mkSession(t, s, p.ID)
		at := cs.CreatedAt.Add(time.Second)
		got, err := s.UpdateSession(ctx, p.ID, cs.ID, connectd.SessionUpdate{CallbackURL: ptr("https://example.com/new"), Now: at})
		is(t, "UpdateSession", err, nil)
		want := *cs
		want.CallbackURL = ptr("https://example.com/new")
		want.UpdatedAt = at
		equal(t, "UpdateSession result", got, &want)
		equal(t, "GetSession after UpdateSession", getSession(t, s, p.ID, cs.ID), &want)

		// An empty update changes nothing but UpdatedAt, and a non-associating
		// update is allowed on a session that has a user.
		at = at.Add(time.Second)
		got, err = s.UpdateSession(ctx, p.ID, cs.ID, connectd.SessionUpdate{Now: at})
		is(t, "empty UpdateSession", err, nil)
		want.UpdatedAt = at
		equal(t, "empty UpdateSession result", got, &want)
		if !consumable(t, s, cs.ID, token, at) {
			t.Fatal("the token no longer opens the session after a callback change")
		}
	}},
	{"AssociateUserID", func(t *testing.T, s connectd.Store) {
		ctx := t.Context()
		p := mkProject(t, s)
		u := mkUser(t, s, p.ID)
		cs, oldToken := mkSession(t, s, p.ID)
		token, hash := connectd.NewToken()
		at := cs.CreatedAt.Add(time.Second)
		got, err := s.UpdateSession(ctx, p.ID, cs.ID, connectd.SessionUpdate{UserID: &u.ID, TokenHash: hash, Now: at})
		is(t, "UpdateSession", err, nil)
		want := *cs
		want.UserID = &u.ID
		want.TokenHash = hash
		want.UpdatedAt = at
		equal(t, "UpdateSession result", got, &want)
		equal(t, "GetSession after UpdateSession", getSession(t, s, p.ID, cs.ID), &want)

		// With a user, the session takes no other.
		v := mkUser(t, s, p.ID)
		_, other := connectd.NewToken()
		_, err = s.UpdateSession(ctx, p.ID, cs.ID, connectd.SessionUpdate{UserID: &v.ID, TokenHash: other, Now: at})
		is(t, "UpdateSession associating a second user", err, connectd.ErrConflict)
		_, err = s.UpdateSession(ctx, p.ID, cs.ID, connectd.SessionUpdate{UserDetails: &connectd.UserDetails{Email: "x@example.com"}, TokenHash: other, Now: at})
		is(t, "UpdateSession adding user details", err, connectd.ErrConflict)
		equal(t, "GetSession after the refused updates", getSession(t, s, p.ID, cs.ID), &want)

		if consumable(t, s, cs.ID, oldToken, at) {
			t.Fatal("the replaced token still opens the session")
		}
		if !consumable(t, s, cs.ID, token, at) {
			t.Fatal("the new token does not open the session")
		}
	}},
	{"AssociateUserDetails", func(t *testing.T, s connectd.Store) {
		ctx := t.Context()
		p := mkProject(t, s)
		cs, _ := mkSession(t, s, p.ID)
		token, hash := connectd.NewToken()
		at := cs.CreatedAt.Add(time.Second)
		details := &connectd.UserDetails{Email: "new@example.com", FullName: ptr("New"), Metadata: map[string]string{"k": "v"}}
		got, err := s.UpdateSession(ctx, p.ID, cs.ID, connectd.SessionUpdate{UserDetails: details, TokenHash: hash, CallbackURL: ptr("https://example.com/cb"), Now: at})
		is(t, "UpdateSession", err, nil)
		want := *cs
		want.UserDetails = details
		want.TokenHash = hash
		want.CallbackURL = ptr("https://example.com/cb")
		want.UpdatedAt = at
		equal(t, "UpdateSession result", got, &want)
		equal(t, "GetSession after UpdateSession", getSession(t, s, p.ID, cs.ID), &want)

		u := mkUser(t, s, p.ID)
		_, other := connectd.NewToken()
		_, err = s.UpdateSession(ctx, p.ID, cs.ID, connectd.SessionUpdate{UserID: &u.ID, TokenHash: other, Now: at})
		is(t, "UpdateSession associating a user to a session with details", err, connectd.ErrConflict)
		_, err = s.UpdateSession(ctx, p.ID, cs.ID, connectd.SessionUpdate{UserDetails: details, TokenHash: other, Now: at})
		is(t, "UpdateSession replacing the details", err, connectd.ErrConflict)
		if !consumable(t, s, cs.ID, token, at) {
			t.Fatal("the new token does not open the session")
		}
	}},
	{"CreatedWithUser", func(t *testing.T, s connectd.Store) {
		p := mkProject(t, s)
		u, v := mkUser(t, s, p.ID), mkUser(t, s, p.ID)
		cs, _ := mkSession(t, s, p.ID, func(cs *connectd.Session) { cs.UserID = &u.ID })
		_, hash := connectd.NewToken()
		_, err := s.UpdateSession(t.Context(), p.ID, cs.ID, connectd.SessionUpdate{UserID: &v.ID, TokenHash: hash, Now: now()})
		is(t, "UpdateSession associating a user to a session created with one", err, connectd.ErrConflict)
		equal(t, "GetSession", getSession(t, s, p.ID, cs.ID), cs)
	}},
	{"NotOpen", func(t *testing.T, s connectd.Store) {
		ctx := t.Context()
		p := mkProject(t, s)
		u := mkUser(t, s, p.ID)
		_, hash := connectd.NewToken()
		updates := map[string]connectd.SessionUpdate{
			"callback":  {CallbackURL: ptr("https://example.com/x")},
			"associate": {UserID: &u.ID, TokenHash: hash},
		}
		for name, upd := range updates {
			// Entered: the token was used.
			entered, token := mkSession(t, s, p.ID)
			at := entered.CreatedAt.Add(time.Second)
			if !consumable(t, s, entered.ID, token, at) {
				t.Fatal("fresh token refused")
			}
			upd.Now = at
			_, err := s.UpdateSession(ctx, p.ID, entered.ID, upd)
			is(t, name+" on an entered session", err, connectd.ErrConflict)

			// Expired at u.Now, though stored as open.
			lapsed, _ := mkSession(t, s, p.ID)
			upd.Now = lapsed.ExpiresAt
			_, err = s.UpdateSession(ctx, p.ID, lapsed.ID, upd)
			is(t, name+" on an open session at its expiry", err, connectd.ErrConflict)
			equal(t, "GetSession after the refused update", getSession(t, s, p.ID, lapsed.ID), lapsed)

			// Expired explicitly.
			ended, _ := mkSession(t, s, p.ID)
			_, err = s.ExpireSession(ctx, p.ID, ended.ID, ended.CreatedAt, connectd.Idem{})
			is(t, "ExpireSession", err, nil)
			upd.Now = ended.CreatedAt.Add(time.Second)
			_, err = s.UpdateSession(ctx, p.ID, ended.ID, upd)
			is(t, name+" on an expired session", err, connectd.ErrConflict)

			// Completed.
			done, _ := mkSession(t, s, p.ID, func(cs *connectd.Session) { cs.StoredStatus = connectd.StatusCompleted })
			_, err = s.UpdateSession(ctx, p.ID, done.ID, upd)
			is(t, name+" on a completed session", err, connectd.ErrConflict)
		}
	}},
	{"Missing", func(t *testing.T, s connectd.Store) {
		ctx := t.Context()
		p, q := mkProject(t, s), mkProject(t, s)
		cs, _ := mkSession(t, s, p.ID)
		upd := connectd.SessionUpdate{CallbackURL: ptr("https://example.com/x"), Now: now()}
		_, err := s.UpdateSession(ctx, p.ID, connectd.NewID(connectd.PrefixSession), upd)
		is(t, "UpdateSession of an unknown session", err, connectd.ErrNotFound)
		_, err = s.UpdateSession(ctx, q.ID, cs.ID, upd)
		is(t, "UpdateSession in another project", err, connectd.ErrNotFound)
		equal(t, "GetSession", getSession(t, s, p.ID, cs.ID), cs)
	}},
	{"ConcurrentAssociations", func(t *testing.T, s connectd.Store) {
		p := mkProject(t, s)
		users := []*connectd.User{mkUser(t, s, p.ID), mkUser(t, s, p.ID)}
		for round := 0; round < 20; round++ {
			cs, _ := mkSession(t, s, p.ID)
			at := cs.CreatedAt.Add(time.Second)
			hashes := make([][]byte, 2)
			for i := range hashes {
				_, hashes[i] = connectd.NewToken()
			}
			errs := parallel(2, func(i int) error {
				upd := connectd.SessionUpdate{UserID: &users[i].ID, TokenHash: hashes[i], Now: at}
				if round%2 == 1 && i == 1 { // every other round, details against an ID
					upd = connectd.SessionUpdate{UserDetails: &connectd.UserDetails{Email: "d@example.com"}, TokenHash: hashes[i], Now: at}
				}
				_, err := s.UpdateSession(context.Background(), p.ID, cs.ID, upd)
				return err
			})
			if n := winners(t, fmt.Sprintf("round %d", round), errs, connectd.ErrConflict); n != 1 {
				t.Fatalf("round %d: %d of 2 concurrent associations won, want 1", round, n)
			}
			w := 0
			if errs[0] != nil {
				w = 1
			}
			got := getSession(t, s, p.ID, cs.ID)
			if !bytes.Equal(got.TokenHash, hashes[w]) {
				t.Fatalf("round %d: the stored token hash is not the winner's", round)
			}
			if (got.UserID != nil) == (got.UserDetails != nil) {
				t.Fatalf("round %d: both or neither of UserID and UserDetails are set", round)
			}
			if got.UserID != nil && *got.UserID != users[w].ID {
				t.Fatalf("round %d: the stored user is not the winner's", round)
			}
		}
	}},
}

var consumeTokenTests = []test{
	{"Once", func(t *testing.T, s connectd.Store) {
		ctx := t.Context()
		p := mkProject(t, s)
		cs, token := mkSession(t, s, p.ID)
		at := cs.CreatedAt.Add(time.Second)

		_, wrong := connectd.NewToken()
		_, err := s.ConsumeToken(ctx, cs.ID, wrong, at)
		is(t, "ConsumeToken with a wrong token", err, connectd.ErrNotFound)
		_, err = s.ConsumeToken(ctx, connectd.NewID(connectd.PrefixSession), cs.TokenHash, at)
		is(t, "ConsumeToken of an unknown session", err, connectd.ErrNotFound)

		got, err := s.ConsumeToken(ctx, cs.ID, connectd.HashToken(token), at)
		is(t, "ConsumeToken", err, nil)
		if got.ID != cs.ID || got.ProjectID != p.ID {
			t.Fatalf("ConsumeToken returned session %s of %s", got.ID, got.ProjectID)
		}
		if got.StoredStatus != connectd.StatusActive {
			t.Fatalf("StoredStatus after ConsumeToken: %s, want active", got.StoredStatus)
		}
		if got.TokenUsedAt == nil || !got.TokenUsedAt.Equal(at) {
			t.Fatalf("TokenUsedAt after ConsumeToken: %v, want %v", got.TokenUsedAt, at)
		}
		equal(t, "GetSession after ConsumeToken", getSession(t, s, p.ID, cs.ID), got)

		_, err = s.ConsumeToken(ctx, cs.ID, connectd.HashToken(token), at)
		is(t, "second ConsumeToken", err, connectd.ErrNotFound)
	}},
	{"Expired", func(t *testing.T, s connectd.Store) {
		ctx := t.Context()
		p := mkProject(t, s)
		cs, token := mkSession(t, s, p.ID)
		_, err := s.ConsumeToken(ctx, cs.ID, connectd.HashToken(token), cs.ExpiresAt)
		is(t, "ConsumeToken at the expiry", err, connectd.ErrNotFound)
		_, err = s.ConsumeToken(ctx, cs.ID, connectd.HashToken(token), cs.ExpiresAt.Add(time.Hour))
		is(t, "ConsumeToken after the expiry", err, connectd.ErrNotFound)
		equal(t, "GetSession after the refused ConsumeToken", getSession(t, s, p.ID, cs.ID), cs)
		if !consumable(t, s, cs.ID, token, cs.ExpiresAt.Add(-time.Millisecond)) {
			t.Fatal("ConsumeToken refused a millisecond before the expiry")
		}

		for _, st := range []connectd.SessionStatus{connectd.StatusCompleted, connectd.StatusAborted, connectd.StatusFailed, connectd.StatusExpired, connectd.StatusActive} {
			ended, token := mkSession(t, s, p.ID, func(cs *connectd.Session) { cs.StoredStatus = st })
			if consumable(t, s, ended.ID, token, ended.CreatedAt) {
				t.Fatalf("ConsumeToken opened a session stored as %s", st)
			}
		}
	}},
	{"Concurrent", func(t *testing.T, s connectd.Store) {
		p := mkProject(t, s)
		cs, token := mkSession(t, s, p.ID)
		at := cs.CreatedAt.Add(time.Second)
		hash := connectd.HashToken(token)
		errs := parallel(50, func(int) error {
			_, err := s.ConsumeToken(context.Background(), cs.ID, hash, at)
			return err
		})
		if n := winners(t, "ConsumeToken", errs, connectd.ErrNotFound); n != 1 {
			t.Fatalf("%d of 50 concurrent ConsumeToken calls succeeded, want 1", n)
		}
		got := getSession(t, s, p.ID, cs.ID)
		if got.StoredStatus != connectd.StatusActive || got.TokenUsedAt == nil || !got.TokenUsedAt.Equal(at) {
			t.Fatalf("after consume: status %s, used at %v", got.StoredStatus, got.TokenUsedAt)
		}
	}},
}

var rotateTokenTests = []test{
	{"Open", func(t *testing.T, s connectd.Store) {
		ctx := t.Context()
		p := mkProject(t, s)
		cs, oldToken := mkSession(t, s, p.ID)
		token, hash := connectd.NewToken()
		at := cs.CreatedAt.Add(time.Second)
		got, err := s.RotateToken(ctx, p.ID, cs.ID, hash, at)
		is(t, "RotateToken", err, nil)
		if !bytes.Equal(got.TokenHash, hash) {
			t.Fatal("RotateToken did not return the new token hash")
		}
		if got.StoredStatus != connectd.StatusOpen || got.TokenUsedAt != nil {
			t.Fatalf("RotateToken changed the state: %s, used %v", got.StoredStatus, got.TokenUsedAt)
		}
		equal(t, "GetSession after RotateToken", getSession(t, s, p.ID, cs.ID), got)
		if consumable(t, s, cs.ID, oldToken, at) {
			t.Fatal("the old token still opens the session")
		}
		if !consumable(t, s, cs.ID, token, at) {
			t.Fatal("the new token does not open the session")
		}
		// Now used: no more rotation.
		_, again := connectd.NewToken()
		_, err = s.RotateToken(ctx, p.ID, cs.ID, again, at)
		is(t, "RotateToken of a used token", err, connectd.ErrConflict)
	}},
	{"Refused", func(t *testing.T, s connectd.Store) {
		ctx := t.Context()
		p, q := mkProject(t, s), mkProject(t, s)
		_, hash := connectd.NewToken()
		lapsed, _ := mkSession(t, s, p.ID)
		_, err := s.RotateToken(ctx, p.ID, lapsed.ID, hash, lapsed.ExpiresAt)
		is(t, "RotateToken at the expiry", err, connectd.ErrConflict)
		equal(t, "GetSession after the refused RotateToken", getSession(t, s, p.ID, lapsed.ID), lapsed)

		for _, st := range []connectd.SessionStatus{connectd.StatusActive, connectd.StatusCompleted, connectd.StatusExpired} {
			cs, _ := mkSession(t, s, p.ID, func(cs *connectd.Session) { cs.StoredStatus = st })
			_, err := s.RotateToken(ctx, p.ID, cs.ID, hash, cs.CreatedAt)
			is(t, "RotateToken of a session stored as "+string(st), err, connectd.ErrConflict)
		}
		cs, _ := mkSession(t, s, p.ID)
		_, err = s.RotateToken(ctx, q.ID, cs.ID, hash, cs.CreatedAt)
		is(t, "RotateToken in another project", err, connectd.ErrNotFound)
		_, err = s.RotateToken(ctx, p.ID, connectd.NewID(connectd.PrefixSession), hash, cs.CreatedAt)
		is(t, "RotateToken of an unknown session", err, connectd.ErrNotFound)
	}},
}

var expireSessionTests = []test{
	{"OpenOrActive", func(t *testing.T, s connectd.Store) {
		ctx := t.Context()
		p := mkProject(t, s)

		open, token := mkSession(t, s, p.ID)
		at := open.CreatedAt.Add(time.Second)
		got, err := s.ExpireSession(ctx, p.ID, open.ID, at, connectd.Idem{})
		is(t, "ExpireSession of an open session", err, nil)
		if got.StoredStatus != connectd.StatusExpired || got.Status(at) != connectd.StatusExpired {
			t.Fatalf("status after ExpireSession: %s", got.StoredStatus)
		}
		equal(t, "GetSession after ExpireSession", getSession(t, s, p.ID, open.ID), got)
		if consumable(t, s, open.ID, token, at) {
			t.Fatal("the token of an expired session still opens it")
		}

		active, token := mkSession(t, s, p.ID)
		if !consumable(t, s, active.ID, token, at) {
			t.Fatal("fresh token refused")
		}
		got, err = s.ExpireSession(ctx, p.ID, active.ID, at, connectd.Idem{})
		is(t, "ExpireSession of an active session", err, nil)
		if got.StoredStatus != connectd.StatusExpired {
			t.Fatalf("status after ExpireSession: %s", got.StoredStatus)
		}

		// An open session past its expiry is written down as expired.
		lapsed, _ := mkSession(t, s, p.ID)
		got, err = s.ExpireSession(ctx, p.ID, lapsed.ID, lapsed.ExpiresAt.Add(time.Minute), connectd.Idem{})
		is(t, "ExpireSession of a lapsed session", err, nil)
		if got.StoredStatus != connectd.StatusExpired {
			t.Fatalf("status after ExpireSession: %s", got.StoredStatus)
		}
	}},
	{"Ended", func(t *testing.T, s connectd.Store) {
		ctx := t.Context()
		p := mkProject(t, s)
		for _, st := range []connectd.SessionStatus{connectd.StatusCompleted, connectd.StatusAborted, connectd.StatusFailed, connectd.StatusExpired} {
			cs, _ := mkSession(t, s, p.ID, func(cs *connectd.Session) { cs.StoredStatus = st })
			got, err := s.ExpireSession(ctx, p.ID, cs.ID, cs.CreatedAt.Add(time.Second), connectd.Idem{})
			is(t, "ExpireSession of a session stored as "+string(st), err, nil)
			equal(t, "ExpireSession of a session stored as "+string(st), got, cs)
			equal(t, "GetSession", getSession(t, s, p.ID, cs.ID), cs)
		}
	}},
	{"Missing", func(t *testing.T, s connectd.Store) {
		ctx := t.Context()
		p, q := mkProject(t, s), mkProject(t, s)
		cs, _ := mkSession(t, s, p.ID)
		_, err := s.ExpireSession(ctx, p.ID, connectd.NewID(connectd.PrefixSession), now(), connectd.Idem{})
		is(t, "ExpireSession of an unknown session", err, connectd.ErrNotFound)
		_, err = s.ExpireSession(ctx, q.ID, cs.ID, now(), connectd.Idem{})
		is(t, "ExpireSession in another project", err, connectd.ErrNotFound)
		equal(t, "GetSession", getSession(t, s, p.ID, cs.ID), cs)
	}},
}
