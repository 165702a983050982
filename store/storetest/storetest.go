// Package storetest is the conformance suite of connectd.Store: every
// backend runs Run (and may run Bench and Growth) from its own tests, so
// that all of them keep the contract written in the Store interface.
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

// Backend is what the suite needs of a store implementation. Every field is
// required: Run fails (it does not skip) when one is missing, so that a
// backend cannot pass by leaving a test out.
type Backend struct {
	// New returns an empty, migrated store of its own for each call, closed
	// when the test ends.
	New func(testing.TB) connectd.Store
	// Shared returns n stores on one fresh, migrated database, as n server
	// processes would open it; they are closed when the test ends.
	Shared func(tb testing.TB, n int) []connectd.Store
	// Count counts the rows of table whose column equals value (every row of
	// the table when column is ""), for the tests that check what a failed
	// write left behind.
	Count func(tb testing.TB, s connectd.Store, table, column, value string) int
	// SessionEnd reads the replay count and the end time of session id:
	// columns the portal writes that no method reads back.
	SessionEnd func(tb testing.TB, s connectd.Store, id string) (replays int, endedAt time.Time)

	// Load inserts sessions, in large transactions: far faster than
	// CreateSession one by one. It leaves the database as it would be in
	// service (statistics analyzed where the backend keeps them). For Growth.
	Load func(tb testing.TB, s connectd.Store, sessions []*connectd.Session)
	// Plans returns the query plans of the first page (limit 10, newest
	// first) of the project's sessions and of those of one user, as the
	// backend explains them. Growth logs them and fails if one sorts the
	// rows, which would make a page cost O(project) instead of O(limit).
	Plans func(tb testing.TB, s connectd.Store, projectID, userID string) []string
}

// Run runs the suite: the groups of connectd.Store, of connectd.PortalStore
// and of connectd.ResourceStore (every store implements all three), and
// the tests that need several stores on one database or a look at the
// tables. Subtests run in parallel.
func Run(t *testing.T, b Backend) {
	if b.New == nil || b.Shared == nil || b.Count == nil || b.SessionEnd == nil || b.Load == nil || b.Plans == nil {
		t.Fatalf("storetest.Backend: every hook is required: %+v", b)
	}
	for _, g := range []struct {
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
		{"UniqueKey", uniqueKeyTests},
		{"ApplySeed", seedTests},
		{"Concurrency", concurrencyTests},
	} {
		runGroup(t, g.name, g.tests, b.New)
	}
	for _, g := range []struct {
		name  string
		tests []portalTest
	}{
		{"EnterSession", enterSessionTests},
		{"BrowserSession", browserSessionTests},
		{"SignIn", signInTests},
		{"FinishSession", finishSessionTests},
		{"LoginCode", loginCodeTests},
		{"PortalEnd", portalEndTests},
		{"EntryBinding", entryBindingTests},
	} {
		runGroup(t, g.name, g.tests, func(tb testing.TB) PortalStore {
			s := b.New(tb)
			ps, ok := s.(PortalStore)
			if !ok {
				tb.Fatalf("%T does not implement connectd.PortalStore", s)
			}
			return ps
		})
	}
	runGroup(t, "Backend", backendTests, func(testing.TB) Backend { return b })
}

// testOf is one test of the suite, run on a fresh S (a store, or the
// backend for the tests that open their own).
type testOf[S any] struct {
	name string
	fn   func(t *testing.T, s S)
}

type test = testOf[connectd.Store]

// runGroup runs the tests of a group in parallel, each on a fresh S.
func runGroup[S any](t *testing.T, name string, tests []testOf[S], fresh func(testing.TB) S) {
	t.Run(name, func(t *testing.T) {
		t.Parallel()
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				tc.fn(t, fresh(t))
			})
		}
	})
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

// idsWhere returns the IDs of the objects of all that keep keeps, in order.
func idsWhere[T any](all []T, id func(T) string, keep func(T) bool) []string {
	var ids []string
	for _, v := range all {
		if keep(v) {
			ids = append(ids, id(v))
		}
	}
	return ids
}

// every keeps every object, for idsWhere.
func every[T any](T) bool { return true }

func sessionID(cs *connectd.Session) string      { return cs.ID }
func recordID(r *connectd.ResourceRecord) string { return r.ID }

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
