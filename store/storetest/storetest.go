// Package storetest is the conformance suite of connectd.Store: every
// backend runs Run (and may run Bench) from its own tests, so that all of
// them keep the contract written in the Store interface.
//
// Conventions the suite relies on, beyond the interface documentation:
//   - times are stored with millisecond precision and come back in UTC;
//   - IDs order by creation (connectd.NewID), and lists are newest first;
//   - a user's nil Metadata may come back as an empty map, and vice versa;
//   - a resource's Data may come back in another JSON form of the same value
//     (key order, spacing), and seed loads compare it as a JSON value;
//   - a *connectd.SeedConflictError's Why names what differs by its field
//     name (name, settings; email, fullName, birthday, preferredLocale,
//     metadata, address; kind, user, parent, status, data);
//   - an object of a project that does not exist fails CreateResource,
//     WriteResources and ApplySeed with connectd.ErrNotFound.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/connectd/connectd"
)

// Run runs the suite. newStore must return an empty, migrated store of its
// own for each call, and close it when the test ends; subtests run in
// parallel. The groups of connectd.ResourceStore (Resource, ListResources,
// WriteResources, ApplySeed) run when the store implements it too, and are
// skipped otherwise.
func Run(t *testing.T, newStore func(testing.TB) connectd.Store) {
	groups := []struct {
		name  string
		tests []test
	}{
		{"Project", projectTests},
		{"APIKey", apiKeyTests},
		{"User", userTests},
		{"Session", sessionTests},
		{"ListSessions", listSessionTests},
		{"UpdateSession", updateSessionTests},
		{"ConsumeToken", consumeTokenTests},
		{"RotateToken", rotateTokenTests},
		{"ExpireSession", expireSessionTests},
		{"Idempotency", idempotencyTests},
		{"Resource", resourceTests},
		{"ListResources", listResourceTests},
		{"WriteResources", writeResourceTests},
		{"ApplySeed", seedTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					s := newStore(t)
					tc.fn(t, s)
				})
			}
		})
	}
}

type test struct {
	name string
	fn   func(t *testing.T, s connectd.Store)
}

// now is the current time as stores keep it.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

func ptr[T any](v T) *T { return &v }

// uid returns a random lower-case suffix for project IDs and keys.
func uid() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// sortedIDs returns n new IDs in ascending (creation) order. IDs made in the
// same millisecond are ordered by their random part, so a test sorts them
// rather than trusting the order it made them in.
func sortedIDs(prefix string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = connectd.NewID(prefix)
	}
	slices.Sort(ids)
	return ids
}

// is fails the test unless errors.Is(err, want); want nil means no error.
func is(t testing.TB, what string, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("%s: unexpected error: %v", what, err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

// equal fails the test unless got and want are deeply equal, and shows both.
func equal(t testing.TB, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Fatalf("%s:\ngot  %s\nwant %s\n(got %#v)", what, g, w, got)
	}
}

// parallel runs f(i) for i in [0, n) in n goroutines released together, and
// returns the errors.
func parallel(n int, f func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = f(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// winners counts the nil errors and fails on any error that is not want.
func winners(t testing.TB, what string, errs []error, want error) int {
	t.Helper()
	n := 0
	for _, err := range errs {
		switch {
		case err == nil:
			n++
		case !errors.Is(err, want):
			t.Fatalf("%s: unexpected error %v", what, err)
		}
	}
	return n
}

func mkProject(t testing.TB, s connectd.Store) *connectd.Project {
	t.Helper()
	p := &connectd.Project{ID: "p-" + uid(), Name: "Test project", Settings: connectd.DefaultProjectSettings(), CreatedAt: now()}
	is(t, "CreateProject", s.CreateProject(context.Background(), p), nil)
	return p
}

func mkUser(t testing.TB, s connectd.Store, projectID string) *connectd.User {
	t.Helper()
	id := connectd.NewID(connectd.PrefixUser)
	u := &connectd.User{ID: id, ProjectID: projectID, Email: id + "@example.com", Metadata: map[string]string{}, CreatedAt: now()}
	is(t, "CreateUser", s.CreateUser(context.Background(), u, connectd.Idem{}), nil)
	return u
}

// newSession returns an open session of the project, unsaved, and its token.
func newSession(projectID string, at time.Time) (*connectd.Session, string) {
	token, hash := connectd.NewToken()
	return &connectd.Session{
		ID:           connectd.NewID(connectd.PrefixSession),
		ProjectID:    projectID,
		Intent:       connectd.Intent{Type: connectd.IntentViewSubscriptions},
		StoredStatus: connectd.StatusOpen,
		TokenHash:    hash,
		CreatedAt:    at,
		ExpiresAt:    at.Add(connectd.DefaultSessionTTL),
		UpdatedAt:    at,
	}, token
}

// mkSession saves a new open session, changed by the mods, and returns it
// with its token.
func mkSession(t testing.TB, s connectd.Store, projectID string, mods ...func(*connectd.Session)) (*connectd.Session, string) {
	t.Helper()
	cs, token := newSession(projectID, now())
	for _, m := range mods {
		m(cs)
	}
	is(t, "CreateSession", s.CreateSession(context.Background(), cs, connectd.Idem{}), nil)
	return cs, token
}

// checkPages checks the paging of a list of the objects whose IDs are ids,
// newest first, through list. It needs at least 7 objects.
func checkPages(t *testing.T, ids []string, list func(connectd.ListParams) ([]string, bool, bool, error)) {
	t.Helper()
	if len(ids) < 7 {
		t.Fatalf("checkPages needs 7 objects, has %d", len(ids))
	}
	n := len(ids)
	cases := []struct {
		name                  string
		p                     connectd.ListParams
		want                  []string
		moreAfter, moreBefore bool
	}{
		{"first page", connectd.ListParams{Limit: 3}, ids[0:3], true, false},
		{"middle page", connectd.ListParams{Limit: 3, After: ids[2]}, ids[3:6], true, true},
		{"last page", connectd.ListParams{Limit: 3, After: ids[n-2]}, ids[n-1:], false, true},
		{"after the last", connectd.ListParams{Limit: 3, After: ids[n-1]}, nil, false, true},
		{"before the last", connectd.ListParams{Limit: 3, Before: ids[n-1]}, ids[n-4 : n-1], true, true},
		{"before, reaching the newest", connectd.ListParams{Limit: 3, Before: ids[3]}, ids[0:3], true, false},
		{"before, short page", connectd.ListParams{Limit: 3, Before: ids[1]}, ids[0:1], true, false},
		{"before the newest", connectd.ListParams{Limit: 3, Before: ids[0]}, nil, true, false},
		{"default limit", connectd.ListParams{}, ids[:min(n, connectd.DefaultListLimit)], n > connectd.DefaultListLimit, false},
		{"limit equal to count", connectd.ListParams{Limit: n}, ids, false, false},
		{"limit one below count", connectd.ListParams{Limit: n - 1}, ids[:n-1], true, false},
		{"limit above maximum", connectd.ListParams{Limit: connectd.MaxListLimit + 1000}, ids, false, false},
	}
	for _, c := range cases {
		got, moreAfter, moreBefore, err := list(c.p)
		is(t, c.name, err, nil)
		if len(got) == 0 && len(c.want) == 0 {
			got, c.want = nil, nil
		}
		equal(t, c.name+": ids", got, c.want)
		equal(t, c.name+": MoreAfter", moreAfter, c.moreAfter)
		equal(t, c.name+": MoreBefore", moreBefore, c.moreBefore)
	}

	// Walking the whole list both ways meets every object once.
	var walked []string
	p := connectd.ListParams{Limit: 2}
	for {
		got, moreAfter, _, err := list(p)
		is(t, "walk after", err, nil)
		walked = append(walked, got...)
		if !moreAfter {
			break
		}
		p.After = got[len(got)-1]
	}
	equal(t, "walk after", walked, ids)
	// Start from the oldest object and walk towards the newest.
	walked = []string{ids[n-1]}
	p = connectd.ListParams{Limit: 2, Before: ids[n-1]}
	for {
		got, _, moreBefore, err := list(p)
		is(t, "walk before", err, nil)
		walked = append(slices.Clone(got), walked...)
		if !moreBefore {
			break
		}
		p.Before = got[0]
	}
	equal(t, "walk before", walked, ids)
}
