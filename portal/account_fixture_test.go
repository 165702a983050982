package portal_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/apitest"
)

// Fixtures of the account pages' tests (payment, payment methods,
// address, name, porting, eSIM): a project with a user and another user, a
// plan, and helpers to open a session in a browser and follow it to the
// link back.

const acctCallback = "myapp://connect-callback?from=portal"

type acctFixture struct {
	fixture
	plan *connectd.Plan
}

func newAcctFixture(t *testing.T, settings *connectd.ProjectSettings) *acctFixture {
	t.Helper()
	f := &acctFixture{fixture: newFixture(t, settings, acctCallback)}
	f.plan = f.recurringPlan("Basic", 1000, connectd.Allowances{})
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
	must(f.t, err)
}

// subscription creates an active subscription of user on sim (nil: none).
func (f *acctFixture) subscription(user string, sim *string) *connectd.Subscription {
	return f.activeSubscription(user, f.plan.ID, sim)
}

// getUser returns the user as stored.
func (f *acctFixture) getUser(id string) *connectd.User {
	f.t.Helper()
	u, err := f.e.Store.GetUser(f.ctx, f.e.Project, id)
	f.ok(err)
	return u
}

// open creates a session, enters it in a new browser (a 303 to page) and
// returns the browser, the session ID and the page.
func (f *acctFixture) open(intentType string, payload map[string]any, page string) (*apitest.Browser, string, *apitest.Response) {
	f.t.Helper()
	b, id, r := f.enter(intentType, payload, page)
	got := b.Follow(r)
	acctPage(f.t, got, http.StatusOK, `data-testid="exit"`)
	return b, id, got
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
	labelled(t, r)
	body := string(r.Body)
	if strings.Contains(body, " style=") {
		t.Fatalf("page has an inline style attribute, which its policy blocks\n%s", body)
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Fatalf("page lacks %q\n%s", w, body)
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
