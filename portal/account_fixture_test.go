package portal_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/apitest"
)

// Fixtures of the account pages' tests (payment, payment methods,
// address, name, porting, eSIM): a project with a user and another user, a
// plan, and helpers to open a session in a browser and follow it to the
// link back.

const acctCallback = "myapp://connect-callback?from=portal"

type acctFixture struct {
	t     *testing.T
	e     *apitest.Env
	ctx   context.Context
	user  string
	other string // another user of the same project
	plan  *connectd.Plan
}

func newAcctFixture(t *testing.T, settings *connectd.ProjectSettings) *acctFixture {
	t.Helper()
	e := apitest.New(t, apitest.Options{Settings: settings})
	if e.Portal == nil {
		t.Fatal("the store does not keep portal state")
	}
	f := &acctFixture{t: t, e: e, ctx: context.Background()}
	f.user = e.CreateUser("jerry@example.com")
	f.other = e.CreateUser("elaine@example.com")
	f.plan = &connectd.Plan{Name: "Basic", Status: connectd.PlanActive, Price: connectd.Price{Amount: 1000, Currency: "USD"},
		Validity: connectd.Validity{Type: connectd.ValidityRecurring}}
	f.ok(e.Service.Platform.Plans().Create(f.ctx, e.Project, f.plan))
	return f
}

// retrySettings are the default project settings with portingRetry on.
func retrySettings() *connectd.ProjectSettings {
	s := connectd.DefaultProjectSettings()
	s.PortingRetry = true
	return &s
}

func (f *acctFixture) ok(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

// subscription creates an active subscription of user on sim (nil: none).
func (f *acctFixture) subscription(user string, sim *string) *connectd.Subscription {
	f.t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	phone := "+15550100042"
	s := &connectd.Subscription{User: user, Plan: f.plan.ID, SIM: sim, PhoneNumber: &phone, Status: connectd.SubscriptionActive,
		Recurring: true, CurrentPeriod: &connectd.Period{Start: now.Add(-24 * time.Hour), End: now.Add(29 * 24 * time.Hour)}}
	f.ok(f.e.Service.Platform.Subscriptions().Create(f.ctx, f.e.Project, s))
	return s
}

// user returns the user as stored.
func (f *acctFixture) getUser(id string) *connectd.User {
	f.t.Helper()
	u, err := f.e.Store.GetUser(f.ctx, f.e.Project, id)
	f.ok(err)
	return u
}

// session creates a session of intentType for the fixture's user and
// returns its ID and url.
func (f *acctFixture) session(intentType string, payload map[string]any) (string, string) {
	f.t.Helper()
	intent := map[string]any{"type": intentType}
	if payload != nil {
		intent[intentType] = payload
	}
	return f.e.CreateSession(map[string]any{"callbackUrl": acctCallback, "intent": intent, "user": f.user})
}

// open creates a session, enters it in a new browser (a 303 to page) and
// returns the browser, the session ID and the page.
func (f *acctFixture) open(intentType string, payload map[string]any, page string) (*apitest.Browser, string, *apitest.Response) {
	f.t.Helper()
	id, u := f.session(intentType, payload)
	b := f.e.NewBrowser()
	r := b.Enter(u)
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != page {
		f.t.Fatalf("enter: %d to %q, want 303 to %s\n%s", r.Status, r.Header.Get("Location"), page, r.Body)
	}
	got := b.Follow(r)
	acctPage(f.t, got, http.StatusOK, `data-testid="exit"`)
	return b, id, got
}

// sessionStatus is the session's status as the API reports it.
func (f *acctFixture) sessionStatus(id string) string {
	f.t.Helper()
	r := f.e.Get("/connectSessions/" + id)
	if r.Status != http.StatusOK {
		f.t.Fatalf("get session: %d %s", r.Status, r.Body)
	}
	return r.JSON(f.t)["status"].(string)
}

// linkedBack checks a 303 to the callbackUrl with session_id and status
// appended (its own query kept), and the session's API status.
func (f *acctFixture) linkedBack(r *apitest.Response, id, status, apiStatus string) {
	f.t.Helper()
	if r.Status != http.StatusSeeOther {
		f.t.Fatalf("link back: %d, want 303\n%s", r.Status, r.Body)
	}
	loc, err := url.Parse(r.Header.Get("Location"))
	f.ok(err)
	q := loc.Query()
	if loc.Scheme != "myapp" || loc.Host != "connect-callback" || q.Get("from") != "portal" ||
		q.Get("session_id") != id || q.Get("status") != status {
		f.t.Fatalf("link back to %s, want %s with session_id=%s status=%s", loc, acctCallback, id, status)
	}
	if got := f.sessionStatus(id); got != apiStatus {
		f.t.Fatalf("session status %q, want %q", got, apiStatus)
	}
}

// succeeded checks that an action's answer goes to the done page, whose
// Continue links back with success, and that the session completed.
func (f *acctFixture) succeeded(b *apitest.Browser, r *apitest.Response, id string) {
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
func (f *acctFixture) exited(b *apitest.Browser, id string) {
	f.t.Helper()
	f.linkedBack(b.Post("/portal/exit", nil), id, "user_aborted", "aborted")
}

// acctPage checks a page: its status, the headers of a page with user
// data, that every visible input has a <label for> and no element an
// inline style, and that its body holds every want.
func acctPage(t *testing.T, r *apitest.Response, status int, want ...string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d\n%s", r.Status, status, r.Body)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control %q, want no-store", cc)
	}
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Fatalf("Content-Security-Policy %q lacks frame-ancestors 'none'", csp)
	}
	body := string(r.Body)
	for _, chunk := range strings.Split(body, "<input")[1:] {
		tag := chunk[:strings.IndexByte(chunk, '>')]
		if strings.Contains(tag, `type="hidden"`) {
			continue
		}
		i := strings.Index(tag, ` id="`)
		if i < 0 {
			t.Fatalf("input without id: <input%s>", tag)
		}
		id := tag[i+5:]
		id = id[:strings.IndexByte(id, '"')]
		if !strings.Contains(body, `<label for="`+id+`"`) {
			t.Fatalf("input %s has no <label for>", id)
		}
	}
	if strings.Contains(body, " style=") {
		t.Fatalf("page has an inline style attribute, which its policy blocks\n%s", body)
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Fatalf("page lacks %q\n%s", w, body)
		}
	}
}

// acctLacks checks that a page's body holds none of unwanted.
func acctLacks(t *testing.T, r *apitest.Response, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(string(r.Body), w) {
			t.Fatalf("page has %q\n%s", w, r.Body)
		}
	}
}

// fieldError checks that the page shows msg as the problem of field.
func fieldError(t *testing.T, r *apitest.Response, field, msg string) {
	t.Helper()
	want := `<p class="error" id="` + field + `-error">` + msg
	if !strings.Contains(string(r.Body), want) {
		t.Fatalf("page lacks the error of %s %q\n%s", field, msg, r.Body)
	}
}

// inputValue returns the value attribute of the input named name, or
// "<none>" when there is no such input.
func inputValue(t *testing.T, r *apitest.Response, name string) string {
	t.Helper()
	body := string(r.Body)
	i := strings.Index(body, `name="`+name+`"`)
	if i < 0 {
		return "<none>"
	}
	rest := body[i:]
	rest = rest[:strings.IndexByte(rest, '>')]
	j := strings.Index(rest, `value="`)
	if j < 0 {
		return ""
	}
	v := rest[j+len(`value="`):]
	return v[:strings.IndexByte(v, '"')]
}
