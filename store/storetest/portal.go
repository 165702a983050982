package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/connectd/connectd"
)

// PortalStore is a store that also keeps what the hosted portal needs.
type PortalStore interface {
	connectd.Store
	connectd.PortalStore
}

// portalTest is a test of the portal groups of Run.
//
// Conventions the portal groups rely on, beyond the interface documentation:
//   - RecordReplay of a session that does not exist is ErrNotFound;
//   - SignIn is ErrConflict too when the browser session already names
//     another user, and ErrNotFound when the browser session is not one of
//     the session's;
//   - FinishSession refuses (ErrConflict) to fail an open session whose url
//     has expired: it has ended already;
//   - ExpireSession revokes the browser sessions of the session it expires
//     (but not those of a session already ended, which it leaves unchanged);
//   - DeleteLoginCode of a browser session without a code is not an error;
//     PutLoginCode for an unknown browser session is ErrNotFound.
type portalTest = testOf[PortalStore]

// newBrowser returns an unsaved browser session created at, for userID (may
// be nil), and its secret's hash.
func newBrowser(at time.Time, userID *string) *connectd.BrowserSession {
	_, hash := connectd.NewToken()
	return &connectd.BrowserSession{ID: connectd.NewID(connectd.PrefixBrowserSession), UserID: userID, SecretHash: hash,
		CreatedAt: at, ExpiresAt: at.Add(connectd.BrowserSessionTTL)}
}

// newUserFor returns the unsaved user EnterSession creates from details.
func newUserFor(d *connectd.UserDetails, at time.Time) *connectd.User {
	return &connectd.User{ID: connectd.NewID(connectd.PrefixUser), Email: d.Email, FullName: d.FullName,
		Birthday: d.Birthday, PreferredLocale: d.PreferredLocale, Metadata: d.Metadata, CreatedAt: at}
}

// enter enters session cs with token at at, with a new browser session for
// the session's user, and returns the entered session and the browser.
func enter(t testing.TB, s PortalStore, cs *connectd.Session, token string, at time.Time) (*connectd.Session, *connectd.BrowserSession) {
	t.Helper()
	b := newBrowser(at, cs.UserID)
	got, err := s.EnterSession(t.Context(), connectd.EnterParams{SessionID: cs.ID, TokenHash: connectd.HashToken(token), Now: at, Browser: b})
	is(t, "EnterSession", err, nil)
	return got, b
}

func getBrowser(t testing.TB, s PortalStore, b *connectd.BrowserSession) *connectd.BrowserSession {
	t.Helper()
	got, err := s.GetBrowserSession(t.Context(), b.SecretHash)
	is(t, "GetBrowserSession", err, nil)
	return got
}

// noBrowser fails unless no browser session has b's secret.
func noBrowser(t testing.TB, s PortalStore, what string, b *connectd.BrowserSession) {
	t.Helper()
	_, err := s.GetBrowserSession(t.Context(), b.SecretHash)
	is(t, what+": GetBrowserSession", err, connectd.ErrNotFound)
}

// activeAt returns the session cs would be after being entered at at.
func activeAt(cs *connectd.Session, at time.Time) *connectd.Session {
	want := *cs
	want.StoredStatus = connectd.StatusActive
	want.TokenUsedAt = &at
	want.UpdatedAt = at
	until := at.Add(connectd.BrowserSessionTTL)
	want.PortalUntil = &until
	return &want
}

var enterSessionTests = []portalTest{
	{"ExistingUser", func(t *testing.T, s PortalStore) {
		ctx := t.Context()
		p, _, cs, token := mkUserSession(t, s)
		got, err := s.LookupSession(ctx, cs.ID)
		is(t, "LookupSession", err, nil)
		equal(t, "LookupSession", got, cs)

		at := cs.CreatedAt.Add(time.Second)
		got, b := enter(t, s, cs, token, at)
		want := activeAt(cs, at)
		equal(t, "EnterSession result", got, want)
		equal(t, "GetSession after EnterSession", getSession(t, s, p.ID, cs.ID), want)
		lookedUp, err := s.LookupSession(ctx, cs.ID)
		is(t, "LookupSession", err, nil)
		equal(t, "LookupSession after EnterSession", lookedUp, want)
		equal(t, "browser ProjectID and SessionID set", []string{b.ProjectID, b.SessionID}, []string{p.ID, cs.ID})
		equal(t, "GetBrowserSession", getBrowser(t, s, b), b)
		if !b.Active(at) || b.Active(b.ExpiresAt) {
			t.Fatal("Active is wrong")
		}
		// The token is used up.
		is(t, "ConsumeToken after EnterSession", func() error {
			_, err := s.ConsumeToken(ctx, cs.ID, connectd.HashToken(token), at)
			return err
		}(), connectd.ErrNotFound)
	}},
	{"NewUser", func(t *testing.T, s PortalStore) {
		ctx := t.Context()
		p := mkProject(t, s)
		details := &connectd.UserDetails{Email: "Ada." + uid() + "@Example.com", FullName: ptr("Ada Lovelace"),
			Birthday: ptr("1815-12-10"), PreferredLocale: ptr("en-GB"), Metadata: map[string]string{"k": "v"}}
		cs, token := mkSession(t, s, p.ID, func(cs *connectd.Session) { cs.UserDetails = details })
		at := cs.CreatedAt.Add(time.Second)
		nu := newUserFor(details, at)
		b := newBrowser(at, &nu.ID)
		got, err := s.EnterSession(ctx, connectd.EnterParams{SessionID: cs.ID, TokenHash: connectd.HashToken(token), Now: at, Browser: b, NewUser: nu})
		is(t, "EnterSession", err, nil)
		want := activeAt(cs, at)
		want.UserID = &nu.ID
		want.UserDetails = nil
		equal(t, "EnterSession result", got, want)
		equal(t, "GetSession after EnterSession", getSession(t, s, p.ID, cs.ID), want)
		equal(t, "NewUser.ProjectID", nu.ProjectID, p.ID)
		u, err := s.GetUser(ctx, p.ID, nu.ID)
		is(t, "GetUser of the new user", err, nil)
		equal(t, "the new user", normUser(u), normUser(nu))
		gotB := getBrowser(t, s, b)
		equal(t, "GetBrowserSession", gotB, b)
		equal(t, "browser user", gotB.UserID, &nu.ID)
	}},
	{"ExactlyOnce", func(t *testing.T, s PortalStore) {
		ctx := t.Context()
		p := mkProject(t, s)
		details := &connectd.UserDetails{Email: "race-" + uid() + "@example.com"}
		cs, token := mkSession(t, s, p.ID, func(cs *connectd.Session) { cs.UserDetails = details })
		at := cs.CreatedAt.Add(time.Second)
		const n = 50
		browsers := make([]*connectd.BrowserSession, n)
		users := make([]*connectd.User, n)
		for i := range browsers {
			users[i] = newUserFor(details, at)
			browsers[i] = newBrowser(at, &users[i].ID)
		}
		errs := parallel(n, func(i int) error {
			_, err := s.EnterSession(ctx, connectd.EnterParams{SessionID: cs.ID, TokenHash: connectd.HashToken(token), Now: at,
				Browser: browsers[i], NewUser: users[i]})
			return err
		})
		if w := winners(t, "EnterSession", errs, connectd.ErrNotFound); w != 1 {
			t.Fatalf("%d of %d concurrent EnterSession calls won, want exactly 1", w, n)
		}
		var found []string
		for i, b := range browsers {
			_, err := s.GetBrowserSession(ctx, b.SecretHash)
			if err == nil {
				found = append(found, b.ID)
				if errs[i] != nil {
					t.Fatalf("the browser session of a losing call (%v) was inserted", errs[i])
				}
			} else {
				is(t, "GetBrowserSession", err, connectd.ErrNotFound)
			}
		}
		if len(found) != 1 {
			t.Fatalf("%d browser sessions after the race, want 1", len(found))
		}
		u, err := s.GetUserByEmail(ctx, p.ID, details.Email)
		is(t, "GetUserByEmail", err, nil)
		got := getSession(t, s, p.ID, cs.ID)
		equal(t, "the session's user is the winner's", got.UserID, &u.ID)
		equal(t, "status", got.StoredStatus, connectd.StatusActive)
	}},
	{"Refused", func(t *testing.T, s PortalStore) {
		ctx := t.Context()
		p := mkProject(t, s)
		details := &connectd.UserDetails{Email: "refused-" + uid() + "@example.com"}
		withDetails := func(cs *connectd.Session) { cs.UserDetails = details }
		open, openToken := mkSession(t, s, p.ID, withDetails)
		used, usedToken := mkSession(t, s, p.ID, withDetails)
		at := open.CreatedAt.Add(time.Second)
		usedNU := newUserFor(details, at)
		_, err := s.EnterSession(ctx, connectd.EnterParams{SessionID: used.ID, TokenHash: connectd.HashToken(usedToken), Now: at,
			Browser: newBrowser(at, &usedNU.ID), NewUser: usedNU})
		is(t, "EnterSession", err, nil)
		expired, expiredToken := mkSession(t, s, p.ID, withDetails)
		_, err = s.ExpireSession(ctx, p.ID, expired.ID, at, connectd.Idem{})
		is(t, "ExpireSession", err, nil)
		wrongToken, _ := connectd.NewToken()

		cases := []struct {
			name  string
			id    string
			token string
			hash  []byte
			at    time.Time
		}{
			{"wrong token", open.ID, wrongToken, nil, at},
			{"no token hash", open.ID, "", []byte{}, at},
			{"token of another session", open.ID, usedToken, nil, at},
			{"unknown session", connectd.NewID(connectd.PrefixSession), openToken, nil, at},
			{"at expiry", open.ID, openToken, nil, open.ExpiresAt},
			{"after expiry", open.ID, openToken, nil, open.ExpiresAt.Add(time.Hour)},
			{"used", used.ID, usedToken, nil, at.Add(time.Second)},
			{"expired by ExpireSession", expired.ID, expiredToken, nil, at},
		}
		for _, c := range cases {
			hash := c.hash
			if hash == nil {
				hash = connectd.HashToken(c.token)
			}
			nu := newUserFor(&connectd.UserDetails{Email: "other-" + uid() + "@example.com"}, c.at)
			b := newBrowser(c.at, &nu.ID)
			before, _ := s.LookupSession(ctx, c.id)
			_, err := s.EnterSession(ctx, connectd.EnterParams{SessionID: c.id, TokenHash: hash, Now: c.at, Browser: b, NewUser: nu})
			is(t, c.name, err, connectd.ErrNotFound)
			noBrowser(t, s, c.name, b)
			_, err = s.GetUser(ctx, p.ID, nu.ID)
			is(t, c.name+": GetUser of the new user", err, connectd.ErrNotFound)
			after, _ := s.LookupSession(ctx, c.id)
			equal(t, c.name+": session unchanged", after, before)
		}
		// Nothing above burnt the open session's token.
		got, _ := enter(t, s, open, openToken, at)
		equal(t, "status after the refusals", got.StoredStatus, connectd.StatusActive)
	}},
	{"EmailTaken", func(t *testing.T, s PortalStore) {
		ctx := t.Context()
		p := mkProject(t, s)
		taken := mkUser(t, s, p.ID)
		details := &connectd.UserDetails{Email: "Taken." + uid() + "@example.com"}
		cs, token := mkSession(t, s, p.ID, func(cs *connectd.Session) { cs.UserDetails = details })
		// The email is taken (case-insensitively) after the session was made.
		_, err := s.UpdateUser(ctx, p.ID, taken.ID, connectd.UserUpdate{Email: &details.Email, At: now()})
		is(t, "UpdateUser", err, nil)
		at := cs.CreatedAt.Add(time.Second)
		enterRefused(t, s, cs, token, at, "taken."+details.Email[len("Taken."):], "with a taken email")

		// The token was not consumed: the session can still be entered.
		nu := newUserFor(&connectd.UserDetails{Email: "free-" + uid() + "@example.com"}, at)
		b := newBrowser(at, &nu.ID)
		got, err := s.EnterSession(ctx, connectd.EnterParams{SessionID: cs.ID, TokenHash: connectd.HashToken(token), Now: at, Browser: b, NewUser: nu})
		is(t, "EnterSession after the conflict", err, nil)
		equal(t, "user after the retry", got.UserID, &nu.ID)
		getBrowser(t, s, b)
	}},
	{"NewUserForSessionWithUser", func(t *testing.T, s PortalStore) {
		// A session that already names a user gets no other: nothing is
		// written.
		_, _, cs, token := mkUserSession(t, s)
		at := cs.CreatedAt.Add(time.Second)
		enterRefused(t, s, cs, token, at, "second-"+uid()+"@example.com", "with a new user for a session with one")
	}},
	{"DuplicateBrowser", func(t *testing.T, s PortalStore) {
		// A browser session whose secret is taken writes nothing.
		ctx := t.Context()
		p := mkProject(t, s)
		first, firstToken := mkSession(t, s, p.ID)
		second, secondToken := mkSession(t, s, p.ID)
		at := first.CreatedAt.Add(time.Second)
		_, b := enter(t, s, first, firstToken, at)
		dup := newBrowser(at, nil)
		dup.SecretHash = b.SecretHash
		_, err := s.EnterSession(ctx, connectd.EnterParams{SessionID: second.ID, TokenHash: connectd.HashToken(secondToken), Now: at, Browser: dup})
		is(t, "EnterSession", err, connectd.ErrConflict)
		equal(t, "session unchanged", getSession(t, s, p.ID, second.ID), second)
	}},
	{"LookupUnknown", func(t *testing.T, s PortalStore) {
		_, err := s.LookupSession(t.Context(), connectd.NewID(connectd.PrefixSession))
		is(t, "LookupSession", err, connectd.ErrNotFound)
	}},
}

var browserSessionTests = []portalTest{
	{"Unknown", func(t *testing.T, s PortalStore) {
		_, hash := connectd.NewToken()
		_, err := s.GetBrowserSession(t.Context(), hash)
		is(t, "GetBrowserSession", err, connectd.ErrNotFound)
		is(t, "RecordReplay of an unknown session", s.RecordReplay(t.Context(), connectd.NewID(connectd.PrefixSession), now()), connectd.ErrNotFound)
	}},
	{"RecordReplay", func(t *testing.T, s PortalStore) {
		ctx := t.Context()
		p, u, cs, token := mkUserSession(t, s)
		other, otherToken := mkSession(t, s, p.ID, func(cs *connectd.Session) { cs.UserID = &u.ID })
		at := cs.CreatedAt.Add(time.Second)
		entered, b := enter(t, s, cs, token, at)
		_, ob := enter(t, s, other, otherToken, at)

		replayAt := at.Add(time.Minute)
		is(t, "RecordReplay", s.RecordReplay(ctx, cs.ID, replayAt), nil)
		got := getBrowser(t, s, b)
		want := *b
		want.RevokedAt = &replayAt
		equal(t, "browser after a replay", got, &want)
		if got.Active(replayAt) {
			t.Fatal("a revoked browser session is Active")
		}
		// The session's portal ends with the revocation: it reads expired
		// from then on (issue 11.6), with its stored status unchanged.
		wantSess := *entered
		wantSess.PortalUntil = &replayAt
		equal(t, "the session after a replay", getSession(t, s, p.ID, cs.ID), &wantSess)
		equal(t, "status after a replay", getSession(t, s, p.ID, cs.ID).Status(replayAt), connectd.StatusExpired)
		equal(t, "another session's browser is not revoked", getBrowser(t, s, ob), ob)

		// A second replay keeps the first revocation time.
		is(t, "second RecordReplay", s.RecordReplay(ctx, cs.ID, replayAt.Add(time.Minute)), nil)
		equal(t, "browser after a second replay", getBrowser(t, s, b), &want)
		// A replay of a session never entered revokes nothing and is fine.
		fresh, _ := mkSession(t, s, p.ID)
		is(t, "RecordReplay of an open session", s.RecordReplay(ctx, fresh.ID, replayAt), nil)
	}},
	{"ExpireSessionRevokes", func(t *testing.T, s PortalStore) {
		ctx := t.Context()
		p, u, cs, token := mkUserSession(t, s)
		at := cs.CreatedAt.Add(time.Second)
		_, b := enter(t, s, cs, token, at)
		expireAt := at.Add(time.Minute)
		got, err := s.ExpireSession(ctx, p.ID, cs.ID, expireAt, connectd.Idem{})
		is(t, "ExpireSession", err, nil)
		equal(t, "status", got.StoredStatus, connectd.StatusExpired)
		want := *b
		want.RevokedAt = &expireAt
		equal(t, "browser after ExpireSession", getBrowser(t, s, b), &want)

		// A session that has ended is left alone, its browser sessions too.
		done, doneToken := mkSession(t, s, p.ID, func(cs *connectd.Session) { cs.UserID = &u.ID })
		_, db := enter(t, s, done, doneToken, at)
		finished, err := s.FinishSession(ctx, done.ID, connectd.StatusCompleted, at)
		is(t, "FinishSession", err, nil)
		got, err = s.ExpireSession(ctx, p.ID, done.ID, expireAt, connectd.Idem{})
		is(t, "ExpireSession of a completed session", err, nil)
		equal(t, "completed session unchanged", got, finished)
		equal(t, "browser of a completed session", getBrowser(t, s, db), db)

		_, err = s.ExpireSession(ctx, p.ID, connectd.NewID(connectd.PrefixSession), expireAt, connectd.Idem{})
		is(t, "ExpireSession of an unknown session", err, connectd.ErrNotFound)
	}},
}

var signInTests = []portalTest{
	{"SessionWithoutUser", func(t *testing.T, s PortalStore) {
		ctx := t.Context()
		p := mkProject(t, s)
		u := mkUser(t, s, p.ID)
		other := mkUser(t, s, p.ID)
		cs, token := mkSession(t, s, p.ID)
		at := cs.CreatedAt.Add(time.Second)
		entered, b := enter(t, s, cs, token, at)
		signAt := at.Add(time.Second)
		is(t, "SignIn", s.SignIn(ctx, b.ID, cs.ID, u.ID, signAt), nil)
		want := *entered
		want.UserID = &u.ID
		want.UpdatedAt = signAt
		equal(t, "session after SignIn", getSession(t, s, p.ID, cs.ID), &want)
		wantB := *b
		wantB.UserID = &u.ID
		equal(t, "browser after SignIn", getBrowser(t, s, b), &wantB)

		// Signing the same user in again is fine.
		is(t, "SignIn again", s.SignIn(ctx, b.ID, cs.ID, u.ID, signAt.Add(time.Second)), nil)
		equal(t, "session after SignIn again", getSession(t, s, p.ID, cs.ID), &want)
		// Another user is refused, and nothing changes.
		is(t, "SignIn of another user", s.SignIn(ctx, b.ID, cs.ID, other.ID, signAt.Add(time.Second)), connectd.ErrConflict)
		equal(t, "session after a refused SignIn", getSession(t, s, p.ID, cs.ID), &want)
		equal(t, "browser after a refused SignIn", getBrowser(t, s, b), &wantB)
	}},
	{"SessionForAnotherUser", func(t *testing.T, s PortalStore) {
		ctx := t.Context()
		p := mkProject(t, s)
		u := mkUser(t, s, p.ID)
		other := mkUser(t, s, p.ID)
		cs, token := mkSession(t, s, p.ID, func(cs *connectd.Session) { cs.UserID = &u.ID })
		at := cs.CreatedAt.Add(time.Second)
		// A browser session without its user yet, as for a session that
		// hosted login would complete.
		b := newBrowser(at, nil)
		entered, err := s.EnterSession(ctx, connectd.EnterParams{SessionID: cs.ID, TokenHash: connectd.HashToken(token), Now: at, Browser: b})
		is(t, "EnterSession", err, nil)
		is(t, "SignIn of another user", s.SignIn(ctx, b.ID, cs.ID, other.ID, at), connectd.ErrConflict)
		equal(t, "session after a refused SignIn", getSession(t, s, p.ID, cs.ID), entered)
		equal(t, "browser after a refused SignIn (rolled back)", getBrowser(t, s, b), b)
		is(t, "SignIn of the session's user", s.SignIn(ctx, b.ID, cs.ID, u.ID, at.Add(time.Second)), nil)
		equal(t, "session after SignIn of its own user", getSession(t, s, p.ID, cs.ID), entered)
		equal(t, "browser user", getBrowser(t, s, b).UserID, &u.ID)
	}},
	{"NotFound", func(t *testing.T, s PortalStore) {
		ctx := t.Context()
		p := mkProject(t, s)
		u := mkUser(t, s, p.ID)
		cs, token := mkSession(t, s, p.ID)
		other, otherToken := mkSession(t, s, p.ID)
		at := cs.CreatedAt.Add(time.Second)
		_, b := enter(t, s, cs, token, at)
		_, ob := enter(t, s, other, otherToken, at)
		is(t, "unknown browser", s.SignIn(ctx, connectd.NewID(connectd.PrefixBrowserSession), cs.ID, u.ID, at), connectd.ErrNotFound)
		is(t, "unknown session", s.SignIn(ctx, b.ID, connectd.NewID(connectd.PrefixSession), u.ID, at), connectd.ErrNotFound)
		is(t, "browser of another session", s.SignIn(ctx, ob.ID, cs.ID, u.ID, at), connectd.ErrNotFound)
		// None of them wrote anything.
		equal(t, "session user", getSession(t, s, p.ID, cs.ID).UserID, (*string)(nil))
		equal(t, "browser user", getBrowser(t, s, ob).UserID, (*string)(nil))
	}},
}

var finishSessionTests = []portalTest{
	{"Transitions", func(t *testing.T, s PortalStore) {
		ctx := t.Context()
		p := mkProject(t, s)
		u := mkUser(t, s, p.ID)
		withUser := func(cs *connectd.Session) { cs.UserID = &u.ID }
		at := now().Add(time.Second)
		endAt := at.Add(time.Minute)
		active := func() *connectd.Session {
			cs, token := mkSession(t, s, p.ID, withUser)
			got, _ := enter(t, s, cs, token, at)
			return got
		}
		for _, status := range []connectd.SessionStatus{connectd.StatusCompleted, connectd.StatusAborted, connectd.StatusFailed} {
			cs := active()
			got, err := s.FinishSession(ctx, cs.ID, status, endAt)
			is(t, "FinishSession active → "+string(status), err, nil)
			want := *cs
			want.StoredStatus = status
			want.UpdatedAt = endAt
			equal(t, "FinishSession result", got, &want)
			equal(t, "GetSession after FinishSession", getSession(t, s, p.ID, cs.ID), &want)
			// Once ended, it stays as it ended: every later outcome conflicts
			// and comes back with the stored session.
			for _, again := range []connectd.SessionStatus{connectd.StatusCompleted, connectd.StatusAborted, connectd.StatusFailed} {
				got, err := s.FinishSession(ctx, cs.ID, again, endAt.Add(time.Minute))
				is(t, "FinishSession "+string(status)+" → "+string(again), err, connectd.ErrConflict)
				equal(t, "the stored session comes with the conflict", got, &want)
			}
		}

		// An open session can only fail.
		open, _ := mkSession(t, s, p.ID, withUser)
		for _, status := range []connectd.SessionStatus{connectd.StatusCompleted, connectd.StatusAborted} {
			got, err := s.FinishSession(ctx, open.ID, status, at)
			is(t, "FinishSession open → "+string(status), err, connectd.ErrConflict)
			equal(t, "the stored session comes with the conflict", got, open)
		}
		got, err := s.FinishSession(ctx, open.ID, connectd.StatusFailed, at)
		is(t, "FinishSession open → failed", err, nil)
		want := *open
		want.StoredStatus = connectd.StatusFailed
		want.UpdatedAt = at
		equal(t, "FinishSession open → failed result", got, &want)

		// A session whose url has expired, or that was expired, has ended.
		late, _ := mkSession(t, s, p.ID, withUser)
		got, err = s.FinishSession(ctx, late.ID, connectd.StatusFailed, late.ExpiresAt)
		is(t, "FinishSession of an open session at its expiry", err, connectd.ErrConflict)
		equal(t, "the stored session comes with the conflict", got, late)
		expired := active()
		expiredNow, err := s.ExpireSession(ctx, p.ID, expired.ID, endAt, connectd.Idem{})
		is(t, "ExpireSession", err, nil)
		got, err = s.FinishSession(ctx, expired.ID, connectd.StatusFailed, endAt)
		is(t, "FinishSession of an expired session", err, connectd.ErrConflict)
		equal(t, "the stored session comes with the conflict", got, expiredNow)

		_, err = s.FinishSession(ctx, connectd.NewID(connectd.PrefixSession), connectd.StatusCompleted, at)
		is(t, "FinishSession of an unknown session", err, connectd.ErrNotFound)
	}},
	{"NotAnOutcome", func(t *testing.T, s PortalStore) {
		ctx := t.Context()
		p, _, cs, token := mkUserSession(t, s)
		entered, _ := enter(t, s, cs, token, cs.CreatedAt.Add(time.Second))
		for _, status := range []connectd.SessionStatus{connectd.StatusOpen, connectd.StatusActive, connectd.StatusExpired, "", "done"} {
			_, err := s.FinishSession(ctx, cs.ID, status, now())
			if err == nil || errors.Is(err, connectd.ErrConflict) || errors.Is(err, connectd.ErrNotFound) {
				t.Fatalf("FinishSession with status %q: got %v, want a plain error", status, err)
			}
		}
		equal(t, "session unchanged", getSession(t, s, p.ID, cs.ID), entered)
	}},
}

const maxAttempts = 5

// enterRefused enters cs at at with a new user of email, and checks that
// it fails with ErrConflict and writes nothing: the session is unchanged,
// and neither the browser session nor the user exists.
func enterRefused(t testing.TB, s PortalStore, cs *connectd.Session, token string, at time.Time, email, what string) {
	t.Helper()
	nu := newUserFor(&connectd.UserDetails{Email: email}, at)
	b := newBrowser(at, &nu.ID)
	_, err := s.EnterSession(t.Context(), connectd.EnterParams{SessionID: cs.ID, TokenHash: connectd.HashToken(token), Now: at, Browser: b, NewUser: nu})
	is(t, "EnterSession "+what, err, connectd.ErrConflict)
	equal(t, "session after the conflict", getSession(t, s, cs.ProjectID, cs.ID), cs)
	noBrowser(t, s, "after the conflict", b)
	_, err = s.GetUser(t.Context(), cs.ProjectID, nu.ID)
	is(t, "GetUser of the refused user", err, connectd.ErrNotFound)
}

// mkUserSession saves a new project, a user of it, and an open session
// that names the user.
func mkUserSession(t testing.TB, s connectd.Store) (*connectd.Project, *connectd.User, *connectd.Session, string) {
	t.Helper()
	p := mkProject(t, s)
	u := mkUser(t, s, p.ID)
	cs, token := mkSession(t, s, p.ID, func(cs *connectd.Session) { cs.UserID = &u.ID })
	return p, u, cs, token
}

// enteredBrowser enters a new session of a new project and returns its
// browser session and the time it entered at.
func enteredBrowser(t testing.TB, s PortalStore) (*connectd.BrowserSession, time.Time) {
	t.Helper()
	p := mkProject(t, s)
	cs, token := mkSession(t, s, p.ID)
	at := cs.CreatedAt.Add(time.Second)
	_, b := enter(t, s, cs, token, at)
	return b, at
}

// loginCode returns an unsaved login code of browser session b, made at at
// and valid for ten minutes.
func loginCode(b *connectd.BrowserSession, at time.Time) *connectd.LoginCode {
	return &connectd.LoginCode{BrowserSessionID: b.ID, Email: "ada@example.com", CodeHash: connectd.HashToken("123456"),
		CreatedAt: at, ExpiresAt: at.Add(10 * time.Minute)}
}

var loginCodeTests = []portalTest{
	{"Attempts", func(t *testing.T, s PortalStore) {
		ctx := t.Context()
		b, at := enteredBrowser(t, s)
		_, err := s.AttemptLoginCode(ctx, b.ID, at, maxAttempts)
		is(t, "AttemptLoginCode without a code", err, connectd.ErrNotFound)

		c := loginCode(b, at)
		c.Attempts = 3
		is(t, "PutLoginCode", s.PutLoginCode(ctx, c), nil)
		for i := 1; i <= maxAttempts; i++ {
			got, err := s.AttemptLoginCode(ctx, b.ID, at.Add(time.Duration(i)*time.Second), maxAttempts)
			is(t, "AttemptLoginCode", err, nil)
			want := *c
			want.Attempts = i
			equal(t, "AttemptLoginCode result", got, &want)
		}
		_, err = s.AttemptLoginCode(ctx, b.ID, at.Add(time.Minute), maxAttempts)
		is(t, "AttemptLoginCode beyond the limit", err, connectd.ErrNotFound)
		_, err = s.AttemptLoginCode(ctx, b.ID, at.Add(time.Minute), maxAttempts)
		is(t, "AttemptLoginCode beyond the limit, again", err, connectd.ErrNotFound)

		// A new code replaces the old one and starts with no attempts.
		c2 := &connectd.LoginCode{BrowserSessionID: b.ID, Email: "ada.l@example.com", CodeHash: connectd.HashToken("654321"),
			CreatedAt: at.Add(time.Minute), ExpiresAt: at.Add(11 * time.Minute)}
		is(t, "PutLoginCode again", s.PutLoginCode(ctx, c2), nil)
		got, err := s.AttemptLoginCode(ctx, b.ID, at.Add(2*time.Minute), maxAttempts)
		is(t, "AttemptLoginCode of the new code", err, nil)
		want := *c2
		want.Attempts = 1
		equal(t, "AttemptLoginCode of the new code", got, &want)

		is(t, "DeleteLoginCode", s.DeleteLoginCode(ctx, b.ID), nil)
		_, err = s.AttemptLoginCode(ctx, b.ID, at.Add(2*time.Minute), maxAttempts)
		is(t, "AttemptLoginCode after DeleteLoginCode", err, connectd.ErrNotFound)
		is(t, "DeleteLoginCode again", s.DeleteLoginCode(ctx, b.ID), nil)
	}},
	{"Expiry", func(t *testing.T, s PortalStore) {
		ctx := t.Context()
		b, at := enteredBrowser(t, s)
		c := loginCode(b, at)
		is(t, "PutLoginCode", s.PutLoginCode(ctx, c), nil)
		_, err := s.AttemptLoginCode(ctx, b.ID, c.ExpiresAt, maxAttempts)
		is(t, "AttemptLoginCode at expiry", err, connectd.ErrNotFound)
		got, err := s.AttemptLoginCode(ctx, b.ID, c.ExpiresAt.Add(-time.Millisecond), maxAttempts)
		is(t, "AttemptLoginCode just before expiry", err, nil)
		equal(t, "attempts (an expired attempt does not count)", got.Attempts, 1)
	}},
	{"UnknownBrowser", func(t *testing.T, s PortalStore) {
		c := &connectd.LoginCode{BrowserSessionID: connectd.NewID(connectd.PrefixBrowserSession), Email: "ada@example.com",
			CodeHash: connectd.HashToken("123456"), CreatedAt: now(), ExpiresAt: now().Add(time.Minute)}
		is(t, "PutLoginCode", s.PutLoginCode(t.Context(), c), connectd.ErrNotFound)
		is(t, "DeleteLoginCode", s.DeleteLoginCode(t.Context(), c.BrowserSessionID), nil)
	}},
	{"ConcurrentAttempts", func(t *testing.T, s PortalStore) {
		ctx := t.Context()
		b, at := enteredBrowser(t, s)
		c := loginCode(b, at)
		is(t, "PutLoginCode", s.PutLoginCode(ctx, c), nil)
		const n = 30
		attempts := make([]int, n)
		errs := parallel(n, func(i int) error {
			got, err := s.AttemptLoginCode(ctx, b.ID, at, maxAttempts)
			if err == nil {
				attempts[i] = got.Attempts
			}
			return err
		})
		if w := winners(t, "AttemptLoginCode", errs, connectd.ErrNotFound); w != maxAttempts {
			t.Fatalf("%d of %d concurrent attempts went through, want exactly %d", w, n, maxAttempts)
		}
		seen := map[int]bool{}
		for i, a := range attempts {
			if errs[i] != nil {
				continue
			}
			if a < 1 || a > maxAttempts || seen[a] {
				t.Fatalf("attempt counts %v: each of 1..%d must come back once", attempts, maxAttempts)
			}
			seen[a] = true
		}
	}},
}
