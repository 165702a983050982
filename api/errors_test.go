package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/connectd/connectd/internal/apitest"
)

func TestErrors(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apitest.Env) {
		id := createSession(t, e, obj{"intent": plainIntent()})["id"].(string)
		user := e.CreateUser("jerry@example.com")

		t.Run("unknown_route_is_404_error_object", func(t *testing.T) {
			for _, p := range []string{"/nope", "/projects", "/projects/proj", "/projects/proj/connectSessions/" + id + "/extra",
				"/projects/proj/connectSession", "/projects/proj/connectSessions/", "/v1/connectSessions"} {
				for _, auth := range []bool{true, false} {
					r := e.Do(apitest.Request{Method: "GET", Path: p, NoAuth: !auth})
					wantError(t, r, http.StatusNotFound, "notFound", "routeNotFound")
				}
			}
			r := e.Do(apitest.Request{Method: "GET", Path: "/" + strings.Repeat("x", 5000)})
			m := wantError(t, r, http.StatusNotFound, "notFound", "routeNotFound")
			if len(m["message"].(string)) > 400 {
				t.Errorf("the message echoes the whole path")
			}
		})

		t.Run("wrong_method_is_405_with_Allow", func(t *testing.T) {
			cases := []struct {
				method, path string
				allow        []string
			}{
				{"DELETE", "/connectSessions/" + id, []string{"GET", "PATCH"}},
				{"PUT", "/connectSessions/" + id, []string{"GET", "PATCH"}},
				{"POST", "/connectSessions/" + id, []string{"GET", "PATCH"}},
				{"PATCH", "/connectSessions", []string{"GET", "POST"}},
				{"DELETE", "/connectSessions", []string{"GET", "POST"}},
				{"GET", "/connectSessions/" + id + "/expire", []string{"POST"}},
				{"DELETE", "/users/" + user, []string{"GET", "PATCH"}},
				{"PUT", "/users", []string{"GET", "POST"}},
			}
			for _, c := range cases {
				r := e.Do(apitest.Request{Method: c.method, Path: projectPath(e.Project, c.path)})
				wantError(t, r, http.StatusMethodNotAllowed, "methodNotAllowed", "methodNotAllowed")
				var allow []string
				for _, a := range strings.Split(r.Header.Get("Allow"), ",") {
					allow = append(allow, strings.TrimSpace(a))
				}
				slices.Sort(allow)
				if !slices.Equal(allow, c.allow) {
					t.Errorf("%s %s: Allow = %q, want %v", c.method, c.path, r.Header.Get("Allow"), c.allow)
				}
			}
			// The Allow header is stable from one answer to the next.
			first := e.Do(apitest.Request{Method: "DELETE", Path: projectPath(e.Project, "/connectSessions")}).Header.Get("Allow")
			for i := 0; i < 10; i++ {
				if got := e.Do(apitest.Request{Method: "DELETE", Path: projectPath(e.Project, "/connectSessions")}).Header.Get("Allow"); got != first {
					t.Fatalf("Allow = %q, then %q", first, got)
				}
			}
		})

		t.Run("security_headers_on_every_api_answer", func(t *testing.T) {
			answers := map[string]*apitest.Response{
				"201":     e.Post("/connectSessions", obj{"intent": plainIntent()}),
				"200":     e.Get("/connectSessions/" + id),
				"list":    e.Get("/connectSessions"),
				"401":     e.Do(apitest.Request{Method: "GET", Path: projectPath(e.Project, "/connectSessions"), NoAuth: true}),
				"403":     e.Do(apitest.Request{Method: "GET", Path: "/projects/other/connectSessions"}),
				"404":     e.Get("/connectSessions/csn_0000000000000000000000000000"),
				"405":     e.Do(apitest.Request{Method: "DELETE", Path: projectPath(e.Project, "/connectSessions")}),
				"400":     e.Post("/connectSessions", `{`),
				"415":     e.Do(apitest.Request{Method: "POST", Path: projectPath(e.Project, "/connectSessions"), Body: "x", NoCType: true}),
				"422":     e.Post("/connectSessions", obj{}),
				"route":   e.Do(apitest.Request{Method: "GET", Path: "/nope"}),
				"healthz": e.Do(apitest.Request{Method: "GET", Path: "/healthz", NoAuth: true}),
			}
			want := map[string]string{
				"X-Content-Type-Options": "nosniff",
				"X-Frame-Options":        "DENY",
				"Referrer-Policy":        "no-referrer",
			}
			for name, r := range answers {
				for h, v := range want {
					if got := r.Header.Get(h); got != v {
						t.Errorf("%s: %s = %q, want %q", name, h, got, v)
					}
				}
				if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
					t.Errorf("%s: Content-Security-Policy = %q", name, csp)
				}
				if rid := r.Header.Get("X-Request-Id"); rid == "" {
					t.Errorf("%s: no X-Request-Id", name)
				}
				if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("%s: Content-Type = %q", name, ct)
				}
			}
			for _, name := range []string{"201", "200", "list", "401", "404"} {
				if cc := answers[name].Header.Get("Cache-Control"); cc != "no-store" {
					t.Errorf("%s: Cache-Control = %q", name, cc)
				}
			}
		})

		t.Run("request_id", func(t *testing.T) {
			a := e.Get("/connectSessions/" + id).Header.Get("X-Request-Id")
			c := e.Get("/connectSessions/" + id).Header.Get("X-Request-Id")
			if a == "" || a == c {
				t.Errorf("request ids %q and %q, want distinct", a, c)
			}
			r := e.Do(apitest.Request{Method: "GET", Path: projectPath(e.Project, "/connectSessions/"+id), Header: map[string]string{"X-Request-Id": "trace-42.a_b"}})
			if got := r.Header.Get("X-Request-Id"); got != "trace-42.a_b" {
				t.Errorf("a plain caller id is kept: got %q", got)
			}
			r = e.Do(apitest.Request{Method: "GET", Path: projectPath(e.Project, "/connectSessions/"+id), Header: map[string]string{"X-Request-Id": "evil\"id<script>"}})
			if got := r.Header.Get("X-Request-Id"); got == "" || strings.ContainsAny(got, "\"<>") {
				t.Errorf("an unsafe caller id is replaced: got %q", got)
			}
			if !strings.Contains(e.Logs.String(), "trace-42.a_b") {
				t.Errorf("the log lacks the request id")
			}
		})

		t.Run("error_bodies_hold_no_secrets", func(t *testing.T) {
			r := e.Do(apitest.Request{Method: "GET", Path: projectPath(e.Project, "/connectSessions"), Header: map[string]string{"Authorization": "Bearer cdk_secretsecret"}})
			if strings.Contains(string(r.Body), "secretsecret") {
				t.Errorf("401 body echoes the key: %s", r.Body)
			}
			other := e.Do(apitest.Request{Method: "GET", Path: "/projects/other/connectSessions"})
			if strings.Contains(string(other.Body), e.Key) {
				t.Errorf("403 body echoes the key")
			}
		})
	})
}

// TestErrorsDatabaseDown closes the store under a running server: every
// API answer is then the opaque 500, with nothing of the driver in it, and
// readiness is 503.
func TestErrorsDatabaseDown(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		e := newEnv(t, b)
		user := e.CreateUser("jerry@example.com")
		id := createSession(t, e, obj{"intent": plainIntent(), "user": user})["id"].(string)
		if err := e.Store.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
		reqs := []apitest.Request{
			{Method: "POST", Path: projectPath(e.Project, "/connectSessions"), Body: obj{"intent": plainIntent(), "user": user}},
			{Method: "POST", Path: projectPath(e.Project, "/connectSessions"), Body: obj{"intent": plainIntent()}, Header: map[string]string{"Idempotency-Key": "k"}},
			{Method: "GET", Path: projectPath(e.Project, "/connectSessions/"+id)},
			{Method: "GET", Path: projectPath(e.Project, "/connectSessions?user="+user)},
			{Method: "PATCH", Path: projectPath(e.Project, "/connectSessions/"+id), Body: obj{"callbackUrl": "https://example.com"}},
			{Method: "POST", Path: projectPath(e.Project, "/connectSessions/"+id+"/expire")},
			{Method: "POST", Path: projectPath(e.Project, "/users"), Body: obj{"email": "x@example.com"}},
			{Method: "GET", Path: projectPath(e.Project, "/users/"+user)},
			{Method: "GET", Path: projectPath(e.Project, "/users")},
		}
		for _, req := range reqs {
			r := e.Do(req)
			m := wantError(t, r, http.StatusInternalServerError, "internalServerError", "")
			noInternals(t, req.Method+" "+req.Path, r.Body)
			if msg := m["message"].(string); msg == "" {
				t.Errorf("no message")
			}
			if _, ok := m["details"]; ok {
				t.Errorf("a 500 has details: %s", r.Body)
			}
		}
		r := e.Do(apitest.Request{Method: "GET", Path: "/readyz", NoAuth: true})
		if r.Status != http.StatusServiceUnavailable {
			t.Errorf("readyz = %d %s, want 503", r.Status, r.Body)
		}
		for _, bad := range []string{"sql", "select", "closed", "pgx", "panic"} {
			if strings.Contains(strings.ToLower(string(r.Body)), bad) {
				t.Errorf("readyz leaks %q: %s", bad, r.Body)
			}
		}
		if h := e.Do(apitest.Request{Method: "GET", Path: "/healthz", NoAuth: true}); h.Status != http.StatusOK {
			t.Errorf("healthz = %d, want 200: the process is alive", h.Status)
		}
		if strings.Contains(e.Logs.String(), `"msg":"panic"`) {
			t.Logf("note: the %s store panics when used after Close; the 500s above came from recovered panics", b)
		}
		// The cause is in the log, for operators.
		if !strings.Contains(e.Logs.String(), `"level":"ERROR"`) {
			t.Errorf("no error was logged")
		}
	})
}

func TestReadyz(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, apitest.Options{})
	r := e.Do(apitest.Request{Method: "GET", Path: "/readyz", NoAuth: true})
	if r.Status != http.StatusOK {
		t.Errorf("readyz = %d %s", r.Status, r.Body)
	}
}
