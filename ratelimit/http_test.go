package ratelimit_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/connectd/connectd/internal/apitest"
	"github.com/connectd/connectd/ratelimit"
)

// checkRetryAfter asserts a 429 with a Retry-After of whole seconds, ≥1.
func checkRetryAfter(t *testing.T, r *apitest.Response, max int) {
	t.Helper()
	if r.Status != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429\n%s", r.Status, r.Body)
	}
	ra := r.Header.Get("Retry-After")
	n, err := strconv.Atoi(ra)
	if err != nil || n < 1 || n > max {
		t.Fatalf("Retry-After %q, want whole seconds in [1, %d]", ra, max)
	}
}

// TestAPIKeyLimit: over real HTTP, a key past its burst gets 429 with
// Retry-After and the error object; another key of the same project, and a
// key of another project, are unaffected; nothing answers 5xx.
func TestAPIKeyLimit(t *testing.T) {
	const burst = 5
	e := apitest.New(t, apitest.Options{APILimit: ratelimit.Config{Rate: 0.5, Burst: burst}})
	key2, err := e.Service.CreateAPIKey(t.Context(), e.Project)
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey := e.NewProject("other", nil)
	checks, limited := 0, 0
	for i := 0; i < burst; i++ {
		if r := e.Get("/connectSessions"); r.Status != http.StatusOK {
			t.Fatalf("request %d within the burst: %d %s", i+1, r.Status, r.Body)
		}
		checks++
	}
	// Every method and route is limited the same way.
	for _, req := range []apitest.Request{
		{Method: "GET", Path: "/projects/proj/connectSessions"},
		{Method: "POST", Path: "/projects/proj/connectSessions", Body: map[string]any{"intent": map[string]any{"type": "viewSubscriptions"}}},
		{Method: "GET", Path: "/projects/proj/users"},
		{Method: "PATCH", Path: "/projects/proj/subscriptions/sub_0U32VAxJ0Z7P8Y40mBAnOP9LPhEr", Body: map[string]any{}},
		{Method: "GET", Path: "/projects/other/plans"}, // wrong project: the limit comes first, after auth
	} {
		r := e.Do(req)
		checks++
		checkRetryAfter(t, r, 2)
		m := r.JSON(t)
		if m["object"] != "error" || m["type"] != "tooManyRequests" || m["code"] != "rateLimited" || m["message"] == "" {
			t.Fatalf("%s %s: error object %v", req.Method, req.Path, m)
		}
		limited++
	}
	// Other keys have their own buckets.
	for i := 0; i < burst; i++ {
		if r := e.Do(apitest.Request{Method: "GET", Path: "/projects/proj/connectSessions", Key: key2}); r.Status != http.StatusOK {
			t.Fatalf("second key of the project: %d %s", r.Status, r.Body)
		}
		if r := e.Do(apitest.Request{Method: "GET", Path: "/projects/other/connectSessions", Key: otherKey}); r.Status != http.StatusOK {
			t.Fatalf("key of another project: %d %s", r.Status, r.Body)
		}
		checks += 2
	}
	// Unauthenticated requests are not counted against anyone: still 401.
	if r := e.Do(apitest.Request{Method: "GET", Path: "/projects/proj/connectSessions", Key: "sk_bogus"}); r.Status != http.StatusUnauthorized {
		t.Fatalf("bad key: %d, want 401", r.Status)
	}
	checks++
	if strings.Contains(e.Logs.String(), `"status":5`) {
		t.Fatal("a request answered 5xx")
	}
	t.Logf("API rate limit: %d checks, %d limited with 429 + Retry-After, 0 5xx", checks, limited)
}

// TestPortalAddrLimit: entry (GET and POST) and hosted login are limited
// per client address with a 429 page and Retry-After.
func TestPortalAddrLimit(t *testing.T) {
	e := apitest.New(t, apitest.Options{PortalLimit: ratelimit.Config{Rate: 0.5, Burst: 4}})
	_, u := e.CreateSession(map[string]any{"intent": map[string]any{"type": "viewSubscriptions"}})
	b := e.NewBrowser()
	// 1 and 2: the entry page and its button (no user: on to login).
	if r := b.Enter(u); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/portal/login" {
		t.Fatalf("enter: %d %s", r.Status, r.Header.Get("Location"))
	}
	// 3: ask for a code. 4: a wrong code.
	if r := b.Post("/portal/login", url.Values{"email": {"a@example.com"}}); r.Status != http.StatusOK {
		t.Fatalf("send code: %d %s", r.Status, r.Body)
	}
	if r := b.Post("/portal/login/code", url.Values{"code": {"000000"}}); r.Status == http.StatusTooManyRequests || r.Status >= 500 {
		t.Fatalf("4th request: %d", r.Status)
	}
	// Past the burst: every limited route answers 429, HTML, Retry-After.
	limited := 0
	for _, try := range []func() *apitest.Response{
		func() *apitest.Response { return b.Post("/portal/login/code", url.Values{"code": {"111111"}}) },
		func() *apitest.Response { return b.Post("/portal/login", url.Values{"email": {"a@example.com"}}) },
		func() *apitest.Response { return b.Get(u) },
		func() *apitest.Response { return e.NewBrowser().Get("/checkout/entry?session=x&token=y") },
		func() *apitest.Response { return b.Post("/checkout/entry", url.Values{"session": {"x"}}) },
	} {
		r := try()
		checkRetryAfter(t, r, 2)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || !strings.Contains(string(r.Body), "Too many attempts") {
			t.Fatalf("429 page: %s\n%s", ct, r.Body)
		}
		if r.Header.Get("X-Frame-Options") != "DENY" {
			t.Fatal("429 page without the security headers")
		}
		limited++
	}
	// Pages that are not entry or login are not limited.
	if r := b.Get("/portal/login"); r.Status != http.StatusOK {
		t.Fatalf("GET /portal/login: %d", r.Status)
	}
	// The API is not limited by the portal's limiter.
	if r := e.Get("/connectSessions"); r.Status != http.StatusOK {
		t.Fatalf("API: %d", r.Status)
	}
	if strings.Contains(e.Logs.String(), `"status":5`) {
		t.Fatal("a request answered 5xx")
	}
	t.Logf("portal rate limit: %d requests past the burst, %d answered 429 + Retry-After, 0 5xx", limited, limited)
}
