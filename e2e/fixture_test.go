package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/apitest"
)

// callbackServer stands in for the application: a loopback server that
// records the query of every request the portal sends the browser to.
type callbackServer struct {
	URL string // the callbackUrl of the sessions, with a query of its own
	mu  sync.Mutex
	got []url.Values
}

func newCallbackServer(t *testing.T) *callbackServer {
	t.Helper()
	cb := &callbackServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/connect/done" {
			http.NotFound(w, r)
			return
		}
		cb.mu.Lock()
		cb.got = append(cb.got, r.URL.Query())
		cb.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>App</title><p data-app="callback">Back in the app.</p>`)
	}))
	t.Cleanup(srv.Close)
	cb.URL = srv.URL + "/connect/done?from=e2e"
	return cb
}

// requests returns what the server received so far.
func (cb *callbackServer) requests() []url.Values {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	return append([]url.Values(nil), cb.got...)
}

// fixture is one server with a project, a user with an active recurring
// subscription on a plan with an add-on, another plan, and spare SIMs;
// and the callback server its sessions link back to.
type fixture struct {
	t     *testing.T
	e     *apitest.Env
	ctx   context.Context
	cb    *callbackServer
	email string
	user  string
	basic *connectd.Plan
	plus  *connectd.Plan
	gb5   *connectd.Addon
	sub   *connectd.Subscription
	esim  *connectd.SIM // available
	psim  *connectd.SIM // available
	// clock is added to the time of the service and the portal.
	clock atomic.Int64
}

func newFixture(t *testing.T, settings *connectd.ProjectSettings) *fixture {
	t.Helper()
	s := connectd.DefaultProjectSettings()
	if settings != nil {
		s = *settings
	}
	if s.DisplayName == "" {
		s.DisplayName = "Acme Mobile" // the name the pages (and screenshots) show
	}
	e := apitest.New(t, apitest.Options{Settings: &s})
	f := &fixture{t: t, e: e, ctx: context.Background(), cb: newCallbackServer(t), email: "jerry@example.com"}
	now := func() time.Time { return time.Now().Add(time.Duration(f.clock.Load())) }
	e.Service.Now = now
	f.user = e.CreateUser(f.email)
	pl := e.Service.Platform
	gb := int64(5_000_000_000)
	f.basic = &connectd.Plan{Name: "Basic", Status: connectd.PlanActive, Price: connectd.Price{Amount: 1000, Currency: "USD"},
		Validity: connectd.Validity{Type: connectd.ValidityRecurring}, Allowances: connectd.Allowances{DataBytes: &gb}}
	f.plus = &connectd.Plan{Name: "Plus", Status: connectd.PlanActive, Price: connectd.Price{Amount: 2500, Currency: "USD"},
		Validity: connectd.Validity{Type: connectd.ValidityRecurring}}
	for _, p := range []*connectd.Plan{f.basic, f.plus} {
		f.ok(pl.Plans().Create(f.ctx, e.Project, p))
	}
	f.gb5 = &connectd.Addon{Name: "5 GB extra", Status: connectd.PlanActive, Price: connectd.Price{Amount: 500, Currency: "USD"},
		Allowances: connectd.Allowances{DataBytes: &gb}, Plans: []string{f.basic.ID}}
	f.ok(pl.Addons().Create(f.ctx, e.Project, f.gb5))
	used := &connectd.SIM{Type: connectd.SIMTypePSIM, ICCID: "8901000000000000001", Status: connectd.SIMAssigned}
	f.esim = &connectd.SIM{Type: connectd.SIMTypeESIM, ICCID: "8901000000000000002", Status: connectd.SIMAvailable}
	f.psim = &connectd.SIM{Type: connectd.SIMTypePSIM, ICCID: "8901000000000000003", Status: connectd.SIMAvailable}
	for _, s := range []*connectd.SIM{used, f.esim, f.psim} {
		f.ok(pl.SIMs().Create(f.ctx, e.Project, s))
	}
	f.sub = f.subscription(&used.ID)
	return f
}

func (f *fixture) ok(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

// advance moves the clock of the service and the portal forward.
func (f *fixture) advance(d time.Duration) { f.clock.Add(int64(d)) }

// subscription creates an active recurring subscription of the user.
func (f *fixture) subscription(sim *string) *connectd.Subscription {
	f.t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	phone := "+15550100042"
	s := &connectd.Subscription{User: f.user, Plan: f.basic.ID, SIM: sim, PhoneNumber: &phone, Status: connectd.SubscriptionActive,
		Recurring: true, CurrentPeriod: &connectd.Period{Start: now.Add(-24 * time.Hour), End: now.Add(29 * 24 * time.Hour)}}
	f.ok(f.e.Service.Platform.Subscriptions().Create(f.ctx, f.e.Project, s))
	return s
}

// updateSub changes a subscription behind the portal's back.
func (f *fixture) updateSub(id string, mutate func(*connectd.Subscription)) {
	f.t.Helper()
	_, err := f.e.Service.Platform.Subscriptions().Update(f.ctx, f.e.Project, id, func(s *connectd.Subscription) error {
		mutate(s)
		return nil
	})
	f.ok(err)
}

// api reads a resource through the API: path is relative to the project.
func (f *fixture) api(path string) map[string]any {
	f.t.Helper()
	r := f.e.Get(path)
	if r.Status != http.StatusOK {
		f.t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
	}
	return r.JSON(f.t)
}

// list reads a list through the API.
func (f *fixture) list(path string) []map[string]any {
	f.t.Helper()
	var out []map[string]any
	for _, it := range f.api(path)["items"].([]any) {
		out = append(out, it.(map[string]any))
	}
	return out
}

// session creates a session of the user through the API, linking back to
// the callback server, and returns its ID and url.
func (f *fixture) session(intentType string, payload map[string]any) (string, string) {
	f.t.Helper()
	return f.sessionFor(intentType, payload, f.user)
}

// sessionFor is session for user ("" for a session without a user).
func (f *fixture) sessionFor(intentType string, payload map[string]any, user string) (string, string) {
	f.t.Helper()
	intent := map[string]any{"type": intentType}
	if payload != nil {
		intent[intentType] = payload
	}
	body := map[string]any{"callbackUrl": f.cb.URL, "intent": intent}
	if user != "" {
		body["user"] = user
	}
	return f.e.CreateSession(body)
}

// sessionStatus is the session's status as the API says.
func (f *fixture) sessionStatus(id string) string {
	f.t.Helper()
	return f.api("/connectSessions/" + id)["status"].(string)
}

// linkedBack checks that the browser is on the callback server, which
// received session_id and status (its own query kept), and that the API
// says the session ended as apiStatus.
func (f *fixture) linkedBack(b *tab, id, status, apiStatus string) {
	f.t.Helper()
	u := b.url()
	want, _ := url.Parse(f.cb.URL)
	if u.Host != want.Host || u.Path != want.Path {
		f.t.Fatalf("browser at %s, want the callback %s\n%s", u, f.cb.URL, b.text())
	}
	got := f.cb.requests()
	if len(got) != 1 {
		f.t.Fatalf("callback server got %d requests %v, want 1", len(got), got)
	}
	q := got[0]
	if q.Get("session_id") != id || q.Get("status") != status || q.Get("from") != "e2e" {
		f.t.Fatalf("callback got %v, want session_id=%s status=%s from=e2e", q, id, status)
	}
	if !b.has(`[data-app="callback"]`) {
		f.t.Fatalf("the callback page is not shown: %s", b.text())
	}
	if got := f.sessionStatus(id); got != apiStatus {
		f.t.Fatalf("API session status %q, want %q", got, apiStatus)
	}
}

// enter opens a session url in the tab, checks the confirmation page and
// presses its confirm button.
func (f *fixture) enter(b *tab, sessionURL string, shot bool) {
	f.t.Helper()
	if st := b.open(sessionURL); st != http.StatusOK {
		f.t.Fatalf("entry page: %d\n%s", st, b.text())
	}
	if !b.has(`[data-testid="confirm"]`) {
		f.t.Fatalf("entry page has no confirm button\n%s", b.text())
	}
	if shot {
		b.screenshot("entry")
	}
	b.click("confirm")
}
