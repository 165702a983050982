package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/connectd/connectd/internal/apitest"
)

// The documented 401 body, byte for byte as JSON.
const unauthenticatedBody = `{"object":"error","type":"unauthenticated","message":"Invalid authorization token"}`

func want401(t *testing.T, r *apitest.Response) {
	t.Helper()
	if r.Status != http.StatusUnauthorized {
		t.Fatalf("status = %d, want 401; body: %s", r.Status, r.Body)
	}
	var got, want any
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatalf("body: %v: %s", err, r.Body)
	}
	json.Unmarshal([]byte(unauthenticatedBody), &want)
	if jsonString(got) != jsonString(want) {
		t.Errorf("401 body = %s, want %s", r.Body, unauthenticatedBody)
	}
	if h := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer") {
		t.Errorf("WWW-Authenticate = %q, want Bearer…", h)
	}
}

func TestAuth(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apitest.Env) {
		user := e.CreateUser("jerry@example.com")
		created := createSession(t, e, obj{"intent": plainIntent(), "user": user})
		id := created["id"].(string)
		other, otherKey := e.NewProject("other", nil)
		otherSession := e.Do(apitest.Request{Method: "POST", Path: projectPath(other, "/connectSessions"), Key: otherKey,
			Body: obj{"intent": plainIntent()}})
		wantStatus(t, otherSession, http.StatusCreated)
		otherID := otherSession.JSON(t)["id"].(string)

		// Every endpoint refuses a request without a valid key the same way.
		endpoints := []struct{ method, path string }{
			{"POST", "/connectSessions"},
			{"GET", "/connectSessions"},
			{"GET", "/connectSessions/" + id},
			{"PATCH", "/connectSessions/" + id},
			{"POST", "/connectSessions/" + id + "/expire"},
			{"POST", "/users"},
			{"GET", "/users"},
			{"GET", "/users/" + user},
			{"PATCH", "/users/" + user},
		}
		credentials := []struct {
			name   string
			header map[string]string
			noAuth bool
		}{
			{name: "missing_header", noAuth: true},
			{name: "empty_header", header: map[string]string{"Authorization": ""}},
			{name: "wrong_scheme", header: map[string]string{"Authorization": "Basic " + e.Key}},
			{name: "scheme_without_key", header: map[string]string{"Authorization": "Bearer"}},
			{name: "bearer_space_only", header: map[string]string{"Authorization": "Bearer "}},
			{name: "unknown_key", header: map[string]string{"Authorization": "Bearer cdk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}},
			{name: "key_without_prefix", header: map[string]string{"Authorization": "Bearer " + strings.TrimPrefix(e.Key, "cdk_")}},
			{name: "key_with_suffix", header: map[string]string{"Authorization": "Bearer " + e.Key + "x"}},
			{name: "huge_key", header: map[string]string{"Authorization": "Bearer cdk_" + strings.Repeat("A", 4000)}},
		}
		for _, c := range credentials {
			t.Run("401_"+c.name, func(t *testing.T) {
				for _, ep := range endpoints {
					r := e.Do(apitest.Request{Method: ep.method, Path: projectPath(e.Project, ep.path), Body: obj{"intent": plainIntent()},
						NoAuth: c.noAuth, Header: c.header})
					want401(t, r)
				}
			})
		}

		t.Run("401_is_the_same_for_an_unknown_project", func(t *testing.T) {
			want401(t, e.Do(apitest.Request{Method: "GET", Path: "/projects/nope/connectSessions", NoAuth: true}))
		})

		t.Run("scheme_is_case_insensitive", func(t *testing.T) {
			r := e.Do(apitest.Request{Method: "GET", Path: projectPath(e.Project, "/connectSessions/"+id),
				Header: map[string]string{"Authorization": "bearer " + e.Key}})
			wantStatus(t, r, http.StatusOK)
		})

		t.Run("403_valid_key_on_another_projects_path", func(t *testing.T) {
			for _, ep := range endpoints {
				r := e.Do(apitest.Request{Method: ep.method, Path: projectPath(other, ep.path), Body: obj{"intent": plainIntent()}})
				wantError(t, r, http.StatusForbidden, "forbidden", "projectForbidden")
			}
			// A project that does not exist is forbidden too: the key does
			// not give access to it, and its existence is not revealed.
			r := e.Do(apitest.Request{Method: "GET", Path: "/projects/nope/connectSessions"})
			wantError(t, r, http.StatusForbidden, "forbidden", "projectForbidden")
		})

		t.Run("404_session_of_another_project", func(t *testing.T) {
			r := e.Get("/connectSessions/" + otherID)
			wantError(t, r, http.StatusNotFound, "notFound", "connectSessionNotFound")
			r = e.Patch("/connectSessions/"+otherID, obj{"callbackUrl": "https://example.com"})
			wantError(t, r, http.StatusNotFound, "notFound", "connectSessionNotFound")
			r = e.Post("/connectSessions/"+otherID+"/expire", obj{})
			wantError(t, r, http.StatusNotFound, "notFound", "connectSessionNotFound")
			// And the other project's session was left alone.
			g := e.Do(apitest.Request{Method: "GET", Path: projectPath(other, "/connectSessions/"+otherID), Key: otherKey})
			if s := wantStatus(t, g, http.StatusOK); s["status"] != "open" || s["callbackUrl"] != nil {
				t.Errorf("other project's session changed: %s", g.Body)
			}
		})

		t.Run("404_unknown_session", func(t *testing.T) {
			for _, id := range []string{"csn_0000000000000000000000000000", "not-an-id", strings.Repeat("x", 300)} {
				r := e.Get("/connectSessions/" + id)
				m := wantError(t, r, http.StatusNotFound, "notFound", "connectSessionNotFound")
				if msg := m["message"].(string); len(msg) > 200 {
					t.Errorf("message echoes the whole path: %q", msg)
				}
			}
		})
	})
}

// TestAuthCheckOrder proves the documented order of checks: headers (auth
// 401, then content type 415, then Content-Length 413, then the
// Idempotency-Key header 400), then the path (project 403, session 404),
// then query and body.
func TestAuthCheckOrder(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apitest.Env) {
		other, _ := e.NewProject("other", nil)
		big := `{"x":"` + strings.Repeat("a", 70<<10) + `"}`
		badKey := map[string]string{"Authorization": "Bearer cdk_wrong"}
		cases := []struct {
			name    string
			req     apitest.Request
			status  int
			typ     string
			code    string
			details []detail
		}{
			{name: "bad_key_with_bad_body_is_401",
				req:    apitest.Request{Method: "POST", Path: projectPath(e.Project, "/connectSessions"), Body: `{"x":`, Header: badKey},
				status: 401, typ: "unauthenticated"},
			{name: "bad_key_with_unsupported_content_type_is_401",
				req:    apitest.Request{Method: "POST", Path: projectPath(e.Project, "/connectSessions"), Body: `x`, Header: map[string]string{"Authorization": "Bearer cdk_wrong", "Content-Type": "text/plain"}},
				status: 401, typ: "unauthenticated"},
			{name: "bad_key_on_another_project_is_401",
				req:    apitest.Request{Method: "GET", Path: projectPath(other, "/connectSessions"), Header: badKey},
				status: 401, typ: "unauthenticated"},
			{name: "bad_key_with_too_large_body_is_401",
				req:    apitest.Request{Method: "POST", Path: projectPath(e.Project, "/connectSessions"), Body: big, Header: badKey},
				status: 401, typ: "unauthenticated"},
			{name: "unsupported_content_type_on_another_project_is_415_before_403",
				req:    apitest.Request{Method: "POST", Path: projectPath(other, "/connectSessions"), Body: `{}`, Header: map[string]string{"Content-Type": "text/plain"}},
				status: 415, typ: "unsupportedMediaType", code: "unsupportedMediaType"},
			{name: "unsupported_content_type_with_too_large_body_is_415_before_413",
				req:    apitest.Request{Method: "POST", Path: projectPath(e.Project, "/connectSessions"), Body: big, Header: map[string]string{"Content-Type": "text/plain"}},
				status: 415, typ: "unsupportedMediaType"},
			{name: "too_large_body_on_another_project_is_413_before_403",
				req:    apitest.Request{Method: "POST", Path: projectPath(other, "/connectSessions"), Body: big},
				status: 413, typ: "payloadTooLarge", code: "payloadTooLarge"},
			{name: "too_large_body_with_bad_idempotency_key_is_413_before_400",
				req:    apitest.Request{Method: "POST", Path: projectPath(e.Project, "/connectSessions"), Body: big, Header: map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}},
				status: 413, typ: "payloadTooLarge"},
			{name: "bad_idempotency_key_on_another_project_is_400_before_403",
				req:    apitest.Request{Method: "POST", Path: projectPath(other, "/connectSessions"), Body: `{}`, Header: map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}},
				status: 400, typ: "badRequest", code: "invalidIdempotencyKey"},
			{name: "another_project_with_bad_body_is_403",
				req:    apitest.Request{Method: "POST", Path: projectPath(other, "/connectSessions"), Body: `{"x":`},
				status: 403, typ: "forbidden", code: "projectForbidden"},
			{name: "another_project_with_bad_query_is_403",
				req:    apitest.Request{Method: "GET", Path: projectPath(other, "/connectSessions?limit=-1&bogus=1")},
				status: 403, typ: "forbidden"},
			{name: "unknown_session_with_bad_body_is_404",
				req:    apitest.Request{Method: "PATCH", Path: projectPath(e.Project, "/connectSessions/csn_0000000000000000000000000000"), Body: `{"intent":1}`},
				status: 404, typ: "notFound", code: "connectSessionNotFound"},
			{name: "unknown_session_with_malformed_body_is_404",
				req:    apitest.Request{Method: "PATCH", Path: projectPath(e.Project, "/connectSessions/csn_0000000000000000000000000000"), Body: `{"intent":`},
				status: 404, typ: "notFound"},
			{name: "unknown_session_expire_with_bad_body_is_404",
				req:    apitest.Request{Method: "POST", Path: projectPath(e.Project, "/connectSessions/csn_0000000000000000000000000000/expire"), Body: `{"x":1}`},
				status: 404, typ: "notFound"},
			{name: "unknown_user_with_bad_body_is_404",
				req:    apitest.Request{Method: "PATCH", Path: projectPath(e.Project, "/users/usr_0000000000000000000000000000"), Body: `{"email":1}`},
				status: 404, typ: "notFound", code: "userNotFound"},
			{name: "unknown_session_with_bad_query_is_404",
				req:    apitest.Request{Method: "GET", Path: projectPath(e.Project, "/connectSessions/csn_0000000000000000000000000000?x=1")},
				status: 404, typ: "notFound", code: "connectSessionNotFound"},
			{name: "unknown_user_with_bad_query_is_404",
				req:    apitest.Request{Method: "GET", Path: projectPath(e.Project, "/users/usr_0000000000000000000000000000?x=1")},
				status: 404, typ: "notFound", code: "userNotFound"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := e.Do(c.req)
				if c.status == 401 {
					want401(t, r)
					return
				}
				wantError(t, r, c.status, c.typ, c.code, c.details...)
			})
		}
	})
}
