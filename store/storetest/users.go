package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/connectd/connectd"
)

// normUser returns a copy of u whose nil Metadata is an empty map, the form
// the suite compares users in.
func normUser(u *connectd.User) *connectd.User {
	if u == nil {
		return nil
	}
	c := *u
	if c.Metadata == nil {
		c.Metadata = map[string]string{}
	}
	return &c
}

func equalUser(t testing.TB, what string, got, want *connectd.User) {
	t.Helper()
	equal(t, what, normUser(got), normUser(want))
}

func fullUser(projectID string) *connectd.User {
	return &connectd.User{
		ID:              connectd.NewID(connectd.PrefixUser),
		ProjectID:       projectID,
		Email:           "Ada.Lovelace@Example.com",
		FullName:        ptr("Ada Lovelace"),
		Birthday:        ptr("1815-12-10"),
		PreferredLocale: ptr("en-GB"),
		Metadata:        map[string]string{"crm": "42", "tier": "gold"},
		Address: &connectd.Address{
			Line1:      "12 St James's Square",
			Line2:      ptr("Flat 3"),
			City:       "London",
			PostalCode: "SW1Y 4JH",
			State:      ptr("Greater London"),
			Country:    "GB",
		},
		CreatedAt: now(),
	}
}

var userTests = []test{
	{"CreateGet", func(t *testing.T, s connectd.Store) {
		ctx := t.Context()
		p := mkProject(t, s)
		u := fullUser(p.ID)
		is(t, "CreateUser", s.CreateUser(ctx, u, connectd.Idem{}), nil)
		got, err := s.GetUser(ctx, p.ID, u.ID)
		is(t, "GetUser", err, nil)
		equalUser(t, "GetUser", got, u)

		// A user with every optional field empty, and an address without
		// its optional parts.
		m := &connectd.User{ID: connectd.NewID(connectd.PrefixUser), ProjectID: p.ID, Email: "min@example.com", CreatedAt: now()}
		is(t, "CreateUser", s.CreateUser(ctx, m, connectd.Idem{}), nil)
		got, err = s.GetUser(ctx, p.ID, m.ID)
		is(t, "GetUser", err, nil)
		equalUser(t, "GetUser of a minimal user", got, m)

		a := &connectd.User{ID: connectd.NewID(connectd.PrefixUser), ProjectID: p.ID, Email: "addr@example.com", CreatedAt: now(),
			Address: &connectd.Address{Line1: "1 Main St", City: "Springfield", PostalCode: "12345", Country: "US"}}
		is(t, "CreateUser", s.CreateUser(ctx, a, connectd.Idem{}), nil)
		got, err = s.GetUser(ctx, p.ID, a.ID)
		is(t, "GetUser", err, nil)
		equalUser(t, "GetUser of a user with a short address", got, a)
	}},
	{"EmailConflict", func(t *testing.T, s connectd.Store) {
		ctx := t.Context()
		p, q := mkProject(t, s), mkProject(t, s)
		u := &connectd.User{ID: connectd.NewID(connectd.PrefixUser), ProjectID: p.ID, Email: "Ann@Example.com", CreatedAt: now()}
		is(t, "CreateUser", s.CreateUser(ctx, u, connectd.Idem{}), nil)
		dup := &connectd.User{ID: connectd.NewID(connectd.PrefixUser), ProjectID: p.ID, Email: "ann@example.COM", CreatedAt: now()}
		is(t, "CreateUser with the email in another case", s.CreateUser(ctx, dup, connectd.Idem{}), connectd.ErrConflict)
		_, err := s.GetUser(ctx, p.ID, dup.ID)
		is(t, "GetUser of the refused user", err, connectd.ErrNotFound)

		other := &connectd.User{ID: connectd.NewID(connectd.PrefixUser), ProjectID: q.ID, Email: "Ann@Example.com", CreatedAt: now()}
		is(t, "CreateUser with the email in another project", s.CreateUser(ctx, other, connectd.Idem{}), nil)
	}},
	{"DuplicateID", func(t *testing.T, s connectd.Store) {
		ctx := t.Context()
		p := mkProject(t, s)
		u := mkUser(t, s, p.ID)
		dup := &connectd.User{ID: u.ID, ProjectID: p.ID, Email: "someone.else@example.com", CreatedAt: now()}
		is(t, "CreateUser with a taken ID", s.CreateUser(ctx, dup, connectd.Idem{}), connectd.ErrConflict)
		got, err := s.GetUser(ctx, p.ID, u.ID)
		is(t, "GetUser", err, nil)
		equalUser(t, "GetUser after the refused duplicate", got, u)
	}},
	{"ProjectIsolation", func(t *testing.T, s connectd.Store) {
		ctx := t.Context()
		p, q := mkProject(t, s), mkProject(t, s)
		u := mkUser(t, s, p.ID)
		_, err := s.GetUser(ctx, q.ID, u.ID)
		is(t, "GetUser in another project", err, connectd.ErrNotFound)
		_, err = s.GetUserByEmail(ctx, q.ID, u.Email)
		is(t, "GetUserByEmail in another project", err, connectd.ErrNotFound)
		_, err = s.GetUser(ctx, p.ID, connectd.NewID(connectd.PrefixUser))
		is(t, "GetUser of an unknown ID", err, connectd.ErrNotFound)
		is(t, "UpdateUser in another project", errOf(s.UpdateUser(ctx, q.ID, u.ID, connectd.UserUpdate{Email: ptr("moved@example.com"), At: now()})), connectd.ErrNotFound)
		page, err := s.ListUsers(ctx, q.ID, connectd.ListParams{})
		is(t, "ListUsers", err, nil)
		if len(page.Items) != 0 {
			t.Fatalf("ListUsers of another project: %d users", len(page.Items))
		}
	}},
	{"GetByEmail", func(t *testing.T, s connectd.Store) {
		ctx := t.Context()
		p := mkProject(t, s)
		u := fullUser(p.ID)
		is(t, "CreateUser", s.CreateUser(ctx, u, connectd.Idem{}), nil)
		for _, e := range []string{u.Email, "ada.lovelace@example.com", "ADA.LOVELACE@EXAMPLE.COM"} {
			got, err := s.GetUserByEmail(ctx, p.ID, e)
			is(t, "GetUserByEmail "+e, err, nil)
			equalUser(t, "GetUserByEmail "+e, got, u)
		}
		_, err := s.GetUserByEmail(ctx, p.ID, "ada@example.com")
		is(t, "GetUserByEmail of an unknown email", err, connectd.ErrNotFound)
	}},
	{"Update", func(t *testing.T, s connectd.Store) {
		ctx := t.Context()
		p := mkProject(t, s)
		u := mkUser(t, s, p.ID)
		other := mkUser(t, s, p.ID)
		update := func(what string, uu connectd.UserUpdate, want *connectd.User) {
			t.Helper()
			uu.At = now()
			got, err := s.UpdateUser(ctx, p.ID, u.ID, uu)
			is(t, what, err, nil)
			equalUser(t, what+": the user it returns", got, want)
			got, err = s.GetUser(ctx, p.ID, u.ID)
			is(t, "GetUser", err, nil)
			equalUser(t, "GetUser after "+what, got, want)
		}

		// Set every field; CreatedAt is not the update's to change.
		w := fullUser(p.ID)
		w.ID, w.CreatedAt = u.ID, u.CreatedAt
		update("UpdateUser of every field", updateOf(w), w)
		_, err := s.GetUserByEmail(ctx, p.ID, u.Email)
		is(t, "GetUserByEmail of the old email", err, connectd.ErrNotFound)
		got, err := s.GetUserByEmail(ctx, p.ID, strings.ToUpper(w.Email))
		is(t, "GetUserByEmail of the new email", err, nil)
		equalUser(t, "GetUserByEmail of the new email", got, w)

		// Absent fields stay as they are.
		w.FullName = ptr("Augusta Ada King")
		update("UpdateUser of the full name alone", connectd.UserUpdate{FullName: w.FullName}, w)
		w.Metadata = map[string]string{"tier": "platinum"}
		w.Address = &connectd.Address{Line1: "1 Main St", City: "Springfield", PostalCode: "12345", Country: "US"}
		update("UpdateUser of metadata and address", connectd.UserUpdate{Metadata: w.Metadata, Address: w.Address}, w)

		// Changing only the case of one's own email is fine.
		w.Email = "ADA.LOVELACE@example.com"
		update("UpdateUser with the email in another case", connectd.UserUpdate{Email: &w.Email}, w)

		// Taking another user's email is not, and changes nothing.
		_, err = s.UpdateUser(ctx, p.ID, u.ID, connectd.UserUpdate{Email: ptr(strings.ToUpper(other.Email)), FullName: ptr("Not Saved"), At: now()})
		is(t, "UpdateUser to a taken email", err, connectd.ErrConflict)
		got, err = s.GetUser(ctx, p.ID, u.ID)
		is(t, "GetUser", err, nil)
		equalUser(t, "GetUser after the refused update", got, w)

		_, err = s.UpdateUser(ctx, p.ID, connectd.NewID(connectd.PrefixUser), connectd.UserUpdate{Email: ptr("nobody@example.com"), At: now()})
		is(t, "UpdateUser of an unknown user", err, connectd.ErrNotFound)
	}},
	{"ConcurrentFieldUpdates", func(t *testing.T, s connectd.Store) {
		// Issue 11.3: updates of different fields, all at once, all stay.
		ctx := t.Context()
		p := mkProject(t, s)
		for round := range 10 {
			u := mkUser(t, s, p.ID)
			w := fullUser(p.ID)
			w.ID, w.CreatedAt = u.ID, u.CreatedAt
			w.Email = fmt.Sprintf("round%d-%s", round, w.Email)
			all := updateOf(w)
			updates := []connectd.UserUpdate{{Email: all.Email}, {FullName: all.FullName}, {Birthday: all.Birthday},
				{PreferredLocale: all.PreferredLocale}, {Metadata: all.Metadata}, {Address: all.Address}}
			errs := parallel(4*len(updates), func(i int) error {
				uu := updates[i%len(updates)]
				uu.At = now()
				_, err := s.UpdateUser(context.Background(), p.ID, u.ID, uu)
				return err
			})
			if n := winners(t, "UpdateUser", errs, nil); n != len(errs) {
				t.Fatalf("round %d: %d of %d updates succeeded", round, n, len(errs))
			}
			got, err := s.GetUser(ctx, p.ID, u.ID)
			is(t, "GetUser", err, nil)
			equalUser(t, fmt.Sprintf("round %d: the user after concurrent updates of each field", round), got, w)
		}
	}},
	{"List", func(t *testing.T, s connectd.Store) {
		ctx := t.Context()
		p, q := mkProject(t, s), mkProject(t, s)
		ids := sortedIDs(connectd.PrefixUser, 7)
		want := map[string]*connectd.User{}
		for i, id := range ids {
			u := &connectd.User{ID: id, ProjectID: p.ID, Email: id + "@example.com", CreatedAt: now()}
			if i%2 == 0 {
				u.FullName = ptr("User " + id)
			}
			is(t, "CreateUser", s.CreateUser(ctx, u, connectd.Idem{}), nil)
			want[id] = u
		}
		mkUser(t, s, q.ID) // in another project: never listed
		slices.Reverse(ids)
		checkPages(t, ids, func(lp connectd.ListParams) ([]string, bool, bool, error) {
			page, err := s.ListUsers(ctx, p.ID, lp)
			var got []string
			for _, u := range page.Items {
				equalUser(t, "listed user", u, want[u.ID])
				got = append(got, u.ID)
			}
			return got, page.MoreAfter, page.MoreBefore, err
		})
	}},
}

// updateOf is the update that sets every field of u.
func updateOf(u *connectd.User) connectd.UserUpdate {
	return connectd.UserUpdate{Email: &u.Email, FullName: u.FullName, Birthday: u.Birthday, PreferredLocale: u.PreferredLocale,
		Metadata: u.Metadata, Address: u.Address}
}
