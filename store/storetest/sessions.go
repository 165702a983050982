package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/connectd/connectd"
)

// intentFor returns an intent of type it with every payload field set.
func intentFor(it connectd.IntentType) connectd.Intent {
	in := connectd.Intent{Type: it}
	for _, f := range it.Payload() {
		switch {
		case f.Array:
			in.Addons = []string{connectd.NewID(f.Prefix), connectd.NewID(f.Prefix)}
		case f.Name == connectd.FieldIMEI:
			in.SetField(f.Name, "490154203237518")
		default:
			in.SetField(f.Name, connectd.NewID(f.Prefix))
		}
	}
	return in
}

func getSession(t testing.TB, s connectd.Store, projectID, id string) *connectd.Session {
	t.Helper()
	got, err := s.GetSession(t.Context(), projectID, id)
	is(t, "GetSession", err, nil)
	return got
}

var sessionTests = []test{
	{"RoundTripIntents", func(t *testing.T, s connectd.Store) {
		ctx := t.Context()
		p := mkProject(t, s)
		u := mkUser(t, s, p.ID)
		for _, it := range connectd.IntentTypes {
			at := now()
			_, hash := connectd.NewToken()
			cs := &connectd.Session{
				ID:           connectd.NewID(connectd.PrefixSession),
				ProjectID:    p.ID,
				CallbackURL:  ptr("https://example.com/done?from=" + string(it)),
				Intent:       intentFor(it),
				Appearance:   &connectd.Appearance{Theme: ptr(connectd.ThemeDark)},
				UserID:       ptr(u.ID),
				StoredStatus: connectd.StatusOpen,
				TokenHash:    hash,
				CreatedAt:    at,
				ExpiresAt:    at.Add(15 * time.Minute),
				UpdatedAt:    at,
			}
			is(t, "CreateSession "+string(it), s.CreateSession(ctx, cs, connectd.Idem{}), nil)
			equal(t, "GetSession "+string(it), getSession(t, s, p.ID, cs.ID), cs)
		}
	}},
	{"RoundTripVariants", func(t *testing.T, s connectd.Store) {
		ctx := t.Context()
		p := mkProject(t, s)
		at := now()
		used := at.Add(1234 * time.Millisecond)
		variants := map[string]func(*connectd.Session){
			"bare": func(cs *connectd.Session) {},
			"user details": func(cs *connectd.Session) {
				cs.UserDetails = &connectd.UserDetails{
					Email:           "New.User@example.com",
					FullName:        ptr("New User"),
					Birthday:        ptr("2000-02-29"),
					PreferredLocale: ptr("fr-CA"),
					Metadata:        map[string]string{"source": "signup", "campaign": "spring"},
				}
				cs.Intent = intentFor(connectd.IntentCheckoutNewSubscription)
			},
			"minimal user details": func(cs *connectd.Session) {
				cs.UserDetails = &connectd.UserDetails{Email: "min@example.com"}
			},
			"empty appearance": func(cs *connectd.Session) {
				cs.Appearance = &connectd.Appearance{}
			},
			"light theme, callback": func(cs *connectd.Session) {
				cs.Appearance = &connectd.Appearance{Theme: ptr(connectd.ThemeLight)}
				cs.CallbackURL = ptr("http://localhost:8080/cb")
			},
			"active, token used": func(cs *connectd.Session) {
				cs.StoredStatus = connectd.StatusActive
				cs.TokenUsedAt = &used
				cs.UpdatedAt = used
			},
			"completed, no token": func(cs *connectd.Session) {
				cs.StoredStatus = connectd.StatusCompleted
				cs.TokenHash = nil
				cs.TokenUsedAt = &used
			},
		}
		for name, mod := range variants {
			cs, _ := newSession(p.ID, at)
			mod(cs)
			is(t, "CreateSession "+name, s.CreateSession(ctx, cs, connectd.Idem{}), nil)
			equal(t, "GetSession "+name, getSession(t, s, p.ID, cs.ID), cs)
		}
	}},
	{"TimesInUTC", func(t *testing.T, s connectd.Store) {
		p := mkProject(t, s)
		zone := time.FixedZone("UTC+5:30", 5*3600+1800)
		at := time.Now().In(zone).Truncate(time.Millisecond)
		cs, _ := newSession(p.ID, at)
		is(t, "CreateSession", s.CreateSession(t.Context(), cs, connectd.Idem{}), nil)
		got := getSession(t, s, p.ID, cs.ID)
		for name, tt := range map[string]time.Time{"CreatedAt": got.CreatedAt, "ExpiresAt": got.ExpiresAt, "UpdatedAt": got.UpdatedAt} {
			if tt.Location() != time.UTC {
				t.Errorf("%s comes back in %v, not UTC", name, tt.Location())
			}
		}
		if !got.CreatedAt.Equal(at) {
			t.Errorf("CreatedAt %v, want %v", got.CreatedAt, at)
		}
	}},
	{"Isolation", func(t *testing.T, s connectd.Store) {
		ctx := t.Context()
		p, q := mkProject(t, s), mkProject(t, s)
		cs, _ := mkSession(t, s, p.ID)
		_, err := s.GetSession(ctx, q.ID, cs.ID)
		is(t, "GetSession in another project", err, connectd.ErrNotFound)
		_, err = s.GetSession(ctx, p.ID, connectd.NewID(connectd.PrefixSession))
		is(t, "GetSession of an unknown ID", err, connectd.ErrNotFound)
		page, err := s.ListSessions(ctx, q.ID, connectd.SessionFilter{Now: now()})
		is(t, "ListSessions", err, nil)
		if len(page.Items) != 0 {
			t.Fatalf("ListSessions of another project: %d sessions", len(page.Items))
		}
	}},
	{"DuplicateID", func(t *testing.T, s connectd.Store) {
		p := mkProject(t, s)
		cs, _ := mkSession(t, s, p.ID)
		dup, _ := newSession(p.ID, now())
		dup.ID = cs.ID
		is(t, "CreateSession with a taken ID", s.CreateSession(t.Context(), dup, connectd.Idem{}), connectd.ErrConflict)
		equal(t, "GetSession after the refused duplicate", getSession(t, s, p.ID, cs.ID), cs)
	}},
}

var listSessionTests = []test{
	{"Pages", func(t *testing.T, s connectd.Store) {
		ctx := t.Context()
		p, q := mkProject(t, s), mkProject(t, s)
		ids := sortedIDs(connectd.PrefixSession, 9)
		want := map[string]*connectd.Session{}
		for _, id := range ids {
			cs, _ := newSession(p.ID, now())
			cs.ID = id
			is(t, "CreateSession", s.CreateSession(ctx, cs, connectd.Idem{}), nil)
			want[id] = cs
		}
		mkSession(t, s, q.ID) // in another project: never listed
		slices.Reverse(ids)
		checkPages(t, ids, func(lp connectd.ListParams) ([]string, bool, bool, error) {
			page, err := s.ListSessions(ctx, p.ID, connectd.SessionFilter{Now: now(), ListParams: lp})
			var got []string
			for _, cs := range page.Items {
				equal(t, "listed session", cs, want[cs.ID])
				got = append(got, cs.ID)
			}
			return got, page.MoreAfter, page.MoreBefore, err
		})
	}},
	{"Filters", func(t *testing.T, s connectd.Store) {
		ctx := t.Context()
		p := mkProject(t, s)
		a, b := mkUser(t, s, p.ID), mkUser(t, s, p.ID)
		at := now()
		ids := sortedIDs(connectd.PrefixSession, 14)
		type row struct {
			user   *connectd.User
			status connectd.SessionStatus
			expiry time.Duration // from at
		}
		rows := []row{
			{a, connectd.StatusOpen, time.Hour},
			{b, connectd.StatusOpen, time.Hour},
			{a, connectd.StatusOpen, -time.Minute}, // expired, still stored open
			{nil, connectd.StatusOpen, 0},          // expires exactly now: expired
			{a, connectd.StatusActive, time.Hour},
			{b, connectd.StatusActive, -time.Hour}, // active outlives its url
			{a, connectd.StatusCompleted, -time.Hour},
			{a, connectd.StatusExpired, -time.Hour},
			{b, connectd.StatusExpired, time.Hour}, // expired early by ExpireSession
			{a, connectd.StatusAborted, time.Hour},
			{b, connectd.StatusFailed, time.Hour},
			{nil, connectd.StatusOpen, time.Hour},
			{a, connectd.StatusOpen, time.Millisecond},
			{a, connectd.StatusExpired, -time.Minute},
		}
		var all []*connectd.Session
		for i, r := range rows {
			cs, _ := newSession(p.ID, at.Add(-2*time.Hour))
			cs.ID = ids[i]
			if r.user != nil {
				cs.UserID = &r.user.ID
			}
			cs.StoredStatus = r.status
			cs.ExpiresAt = at.Add(r.expiry)
			is(t, "CreateSession", s.CreateSession(ctx, cs, connectd.Idem{}), nil)
			all = append(all, cs)
		}
		slices.Reverse(all)
		expect := func(keep func(*connectd.Session) bool) []string {
			return idsWhere(all, sessionID, keep)
		}
		list := func(f connectd.SessionFilter) []string {
			t.Helper()
			f.Now = at
			f.Limit = connectd.MaxListLimit
			page, err := s.ListSessions(ctx, p.ID, f)
			is(t, "ListSessions", err, nil)
			return idsWhere(page.Items, sessionID, every[*connectd.Session])
		}
		hasUser := func(u *connectd.User) func(*connectd.Session) bool {
			return func(cs *connectd.Session) bool { return cs.UserID != nil && *cs.UserID == u.ID }
		}
		equal(t, "no filter", list(connectd.SessionFilter{}), expect(func(*connectd.Session) bool { return true }))
		equal(t, "user a", list(connectd.SessionFilter{UserID: a.ID}), expect(hasUser(a)))
		equal(t, "user b", list(connectd.SessionFilter{UserID: b.ID}), expect(hasUser(b)))
		if got := list(connectd.SessionFilter{UserID: connectd.NewID(connectd.PrefixUser)}); len(got) != 0 {
			t.Fatalf("unknown user: %v", got)
		}
		for _, st := range connectd.SessionStatuses {
			status := func(cs *connectd.Session) bool { return cs.Status(at) == st }
			want := expect(status)
			if len(want) == 0 {
				t.Fatalf("the fixture has no session of status %s", st)
			}
			equal(t, "status "+string(st), list(connectd.SessionFilter{Status: st}), want)
			equal(t, "user a, status "+string(st), list(connectd.SessionFilter{UserID: a.ID, Status: st}),
				expect(func(cs *connectd.Session) bool { return status(cs) && hasUser(a)(cs) }))
		}

		// Paging honours the filter in items and in the More flags.
		wantA := expect(hasUser(a))
		page, err := s.ListSessions(ctx, p.ID, connectd.SessionFilter{UserID: a.ID, Now: at, ListParams: connectd.ListParams{Limit: 2, After: wantA[len(wantA)-3]}})
		is(t, "ListSessions", err, nil)
		if len(page.Items) != 2 || page.Items[0].ID != wantA[len(wantA)-2] || page.Items[1].ID != wantA[len(wantA)-1] || page.MoreAfter || !page.MoreBefore {
			t.Fatalf("last page of user a: %d items, MoreAfter %v, MoreBefore %v", len(page.Items), page.MoreAfter, page.MoreBefore)
		}
		wantOpen := expect(func(cs *connectd.Session) bool { return cs.Status(at) == connectd.StatusOpen })
		page, err = s.ListSessions(ctx, p.ID, connectd.SessionFilter{Status: connectd.StatusOpen, Now: at, ListParams: connectd.ListParams{Limit: 1, Before: wantOpen[1]}})
		is(t, "ListSessions", err, nil)
		if len(page.Items) != 1 || page.Items[0].ID != wantOpen[0] || page.MoreBefore || !page.MoreAfter {
			t.Fatalf("first open page by Before: %d items, MoreAfter %v, MoreBefore %v", len(page.Items), page.MoreAfter, page.MoreBefore)
		}
	}},
}
