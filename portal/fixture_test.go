package portal_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/apitest"
)

// fixture is what the account and subscription pages' fixtures share: a
// server whose project has a user and another user, and the sessions they
// open, which link back to callback.
type fixture struct {
	t        *testing.T
	e        *apitest.Env
	ctx      context.Context
	callback string
	user     string
	other    string // another user of the same project
}

func newFixture(t *testing.T, settings *connectd.ProjectSettings, callback string) fixture {
	t.Helper()
	e := apitest.New(t, apitest.Options{Settings: settings})
	if e.Portal == nil {
		t.Fatal("the store does not keep portal state")
	}
	return fixture{t: t, e: e, ctx: context.Background(), callback: callback,
		user: e.CreateUser("jerry@example.com"), other: e.CreateUser("elaine@example.com")}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// recurringPlan creates an active monthly plan priced in USD cents.
func (f *fixture) recurringPlan(name string, cents int64, a connectd.Allowances) *connectd.Plan {
	f.t.Helper()
	p := &connectd.Plan{Name: name, Status: connectd.PlanActive, Price: connectd.Price{Amount: cents, Currency: "USD"},
		Validity: connectd.Validity{Type: connectd.ValidityRecurring}, Allowances: a}
	must(f.t, f.e.Service.Platform.Plans().Create(f.ctx, f.e.Project, p))
	return p
}

// activeSubscription creates an active recurring subscription of user on
// plan and sim (nil: none), in the middle of its first period.
func (f *fixture) activeSubscription(user, plan string, sim *string) *connectd.Subscription {
	f.t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	phone := "+15550100042"
	s := &connectd.Subscription{User: user, Plan: plan, SIM: sim, PhoneNumber: &phone, Status: connectd.SubscriptionActive,
		Recurring: true, CurrentPeriod: &connectd.Period{Start: now.Add(-24 * time.Hour), End: now.Add(29 * 24 * time.Hour)}}
	must(f.t, f.e.Service.Platform.Subscriptions().Create(f.ctx, f.e.Project, s))
	return s
}

// session creates a session of intentType for the fixture's user and
// returns its ID and url.
func (f *fixture) session(intentType string, payload map[string]any) (string, string) {
	f.t.Helper()
	intent := map[string]any{"type": intentType}
	if payload != nil {
		intent[intentType] = payload
	}
	return f.e.CreateSession(map[string]any{"callbackUrl": f.callback, "intent": intent, "user": f.user})
}

// enter creates a session and enters it in a new browser, which lands on
// page (a 303).
func (f *fixture) enter(intentType string, payload map[string]any, page string) (*apitest.Browser, string, *apitest.Response) {
	f.t.Helper()
	id, u := f.session(intentType, payload)
	b := f.e.NewBrowser()
	r := b.Enter(u)
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != page {
		f.t.Fatalf("enter: %d to %q, want 303 to %s\n%s", r.Status, r.Header.Get("Location"), page, r.Body)
	}
	return b, id, r
}

// sessionStatus is the session's status as the API reports it.
func (f *fixture) sessionStatus(id string) string {
	f.t.Helper()
	r := f.e.Get("/connectSessions/" + id)
	if r.Status != http.StatusOK {
		f.t.Fatalf("get session: %d %s", r.Status, r.Body)
	}
	return r.JSON(f.t)["status"].(string)
}

// linkedBack checks a 303 to the callbackUrl with session_id and status
// appended (its own query kept), and the session's API status.
func (f *fixture) linkedBack(r *apitest.Response, id, status, apiStatus string) {
	f.t.Helper()
	if r.Status != http.StatusSeeOther {
		f.t.Fatalf("link back: %d, want 303\n%s", r.Status, r.Body)
	}
	loc, err := url.Parse(r.Header.Get("Location"))
	must(f.t, err)
	want, err := url.Parse(f.callback)
	must(f.t, err)
	q := loc.Query()
	if loc.Scheme != want.Scheme || loc.Host != want.Host || loc.Path != want.Path || q.Get("from") != want.Query().Get("from") ||
		q.Get("session_id") != id || q.Get("status") != status {
		f.t.Fatalf("link back to %s, want %s with session_id=%s status=%s", loc, f.callback, id, status)
	}
	if got := f.sessionStatus(id); got != apiStatus {
		f.t.Fatalf("session status %q, want %q", got, apiStatus)
	}
}

// succeeded checks that an action's answer goes to the done page, that the
// session completed, and that Continue links back with success.
func (f *fixture) succeeded(b *apitest.Browser, r *apitest.Response, id string) {
	f.t.Helper()
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/portal/done" {
		f.t.Fatalf("action: %d to %q, want 303 to /portal/done\n%s", r.Status, r.Header.Get("Location"), r.Body)
	}
	if got := f.sessionStatus(id); got != "completed" {
		f.t.Fatalf("session status %q after the action, want completed", got)
	}
	done := b.Follow(r)
	acctPage(f.t, done, http.StatusOK, `data-testid="continue"`)
	f.linkedBack(b.Post("/portal/continue", nil), id, "success", "completed")
}

// exited checks that the page's Exit links back with user_aborted.
func (f *fixture) exited(b *apitest.Browser, id string) {
	f.t.Helper()
	f.linkedBack(b.Post("/portal/exit", nil), id, "user_aborted", "aborted")
}

// apiShows checks that the API agrees with a page: field of the object at
// path is want.
func (f *fixture) apiShows(path, field string, want any) {
	f.t.Helper()
	if got := f.e.Get(path).JSON(f.t)[field]; got != want {
		f.t.Fatalf("API %s %s = %v, want %v", path, field, got, want)
	}
}

// update changes a platform resource behind the portal's back.
func update[T any](f *fixture, rs connectd.Resources[T], id string, mutate func(*T)) {
	f.t.Helper()
	_, err := connectd.UpdateResource(f.ctx, rs, f.e.Project, id, func(v *T) error {
		mutate(v)
		return nil
	})
	must(f.t, err)
}

// listOf lists user's resources of rs (the first page is all a test makes).
func listOf[T any](f *fixture, rs connectd.Resources[T], user string) []*T {
	f.t.Helper()
	page, err := rs.List(f.ctx, f.e.Project, connectd.PlatformFilter{UserID: user, ListParams: connectd.ListParams{Limit: connectd.MaxListLimit}})
	must(f.t, err)
	return page.Items
}
