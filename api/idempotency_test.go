package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/connectd/connectd/internal/apitest"
)

// postKey posts body to path (relative to the project) with an
// Idempotency-Key.
func postKey(e *apitest.Env, path, key string, body any) *apitest.Response {
	e.T.Helper()
	return e.Do(apitest.Request{Method: "POST", Path: projectPath(e.Project, path), Body: body, Header: map[string]string{"Idempotency-Key": key}})
}

func countSessions(t *testing.T, e *apitest.Env) int {
	t.Helper()
	return len(getList(t, e, "?limit=200").ids)
}

func TestIdempotency(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		t.Run("same_key_same_body_replays_the_session_with_a_new_url", func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b)
			user := e.CreateUser("jerry@example.com")
			body := obj{"callbackUrl": "https://example.com", "intent": plainIntent(), "user": user}
			first := wantStatus(t, postKey(e, "/connectSessions", "order-42", body), http.StatusCreated)
			id := first["id"].(string)
			tok1 := entryToken(t, e, first["url"], id)
			r := postKey(e, "/connectSessions", "order-42", body)
			second := wantStatus(t, r, http.StatusCreated)
			if second["id"] != id {
				t.Fatalf("replay created %v, want the same session %s", second["id"], id)
			}
			if r.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q", r.Header.Get("Cache-Control"))
			}
			tok2 := entryToken(t, e, second["url"], id)
			if tok1 == tok2 {
				t.Fatal("the replay answered the same token")
			}
			for _, f := range []string{"callbackUrl", "user", "status", "createdAt", "expiresAt", "intent"} {
				if jsonString(first[f]) != jsonString(second[f]) {
					t.Errorf("%s: first %v, replay %v", f, first[f], second[f])
				}
			}
			if n := countSessions(t, e); n != 1 {
				t.Errorf("%d sessions, want 1", n)
			}
			mustNotConsume(t, e, id, tok1) // the earlier url died
			mustConsume(t, e, id, tok2)

			// A replay of a session already entered answers it as it is, without a url.
			third := wantStatus(t, postKey(e, "/connectSessions", "order-42", body), http.StatusCreated)
			if third["id"] != id || third["url"] != nil || third["status"] != "active" {
				t.Errorf("replay after entry = %v", third)
			}
		})

		t.Run("same_key_other_body_is_refused", func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b)
			wantStatus(t, postKey(e, "/connectSessions", "k1", obj{"intent": plainIntent()}), http.StatusCreated)
			r := postKey(e, "/connectSessions", "k1", obj{"intent": plainIntent(), "callbackUrl": "https://example.com"})
			wantError(t, r, http.StatusUnprocessableEntity, "unprocessableEntity", "idempotencyKeyReused")
			// The same JSON spelled differently is the same request (issue
			// 10.6, which changed this: it was refused as another body).
			r = postKey(e, "/connectSessions", "k1", `{ "intent": {"type": "viewSubscriptions"} }`)
			wantStatus(t, r, http.StatusCreated)
			// And the same key on another endpoint.
			r = postKey(e, "/users", "k1", obj{"email": "x@example.com"})
			wantError(t, r, http.StatusUnprocessableEntity, "unprocessableEntity", "idempotencyKeyReused")
			if n := countSessions(t, e); n != 1 {
				t.Errorf("%d sessions, want 1", n)
			}
		})

		t.Run("key_format", func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b)
			body := obj{"intent": plainIntent()}
			wantStatus(t, postKey(e, "/connectSessions", strings.Repeat("k", 255), body), http.StatusCreated)
			for name, key := range map[string]string{
				"256_chars":  strings.Repeat("k", 256),
				"1000_chars": strings.Repeat("k", 1000),
				"empty":      "",
				"space":      "a b",
				"non_ascii":  "clé",
			} {
				r := postKey(e, "/connectSessions", key, body)
				wantError(t, r, http.StatusBadRequest, "badRequest", "invalidIdempotencyKey")
				if t.Failed() {
					t.Fatalf("key %s", name)
				}
			}
			// Two headers are refused too.
			req := apitest.Request{Method: "POST", Path: projectPath(e.Project, "/connectSessions"), Body: body}
			r := doWithHeaders(t, e, req, http.Header{"Idempotency-Key": {"a", "b"}})
			wantError(t, r, http.StatusBadRequest, "badRequest", "invalidIdempotencyKey")
			if n := countSessions(t, e); n != 1 {
				t.Errorf("%d sessions, want 1", n)
			}
		})

		t.Run("failed_requests_are_not_remembered", func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b)
			user := e.CreateUser("jerry@example.com")
			good := obj{"intent": plainIntent(), "user": user}
			// A body refused by the decoder...
			want422(t, postKey(e, "/connectSessions", "a", obj{"intent": obj{"type": "nope"}}), detail{"intent.type", "invalidIntent"})
			wantStatus(t, postKey(e, "/connectSessions", "a", good), http.StatusCreated)
			// ...by the service (a user that does not exist)...
			want422(t, postKey(e, "/connectSessions", "b", obj{"intent": plainIntent(), "user": "usr_0000000000000000000000000000"}), detail{"user", "notFound"})
			wantStatus(t, postKey(e, "/connectSessions", "b", good), http.StatusCreated)
			// ...a conflict...
			wantError(t, postKey(e, "/connectSessions", "c", obj{"intent": plainIntent(), "userDetails": obj{"email": "jerry@example.com"}}),
				http.StatusConflict, "conflict", "userEmailExists")
			wantStatus(t, postKey(e, "/connectSessions", "c", good), http.StatusCreated)
			// ...or malformed JSON.
			wantError(t, postKey(e, "/connectSessions", "d", `{"intent":`), http.StatusBadRequest, "badRequest", "invalidJson")
			wantStatus(t, postKey(e, "/connectSessions", "d", good), http.StatusCreated)
			// The same failing request again fails the same way, not 409.
			for i := 0; i < 2; i++ {
				want422(t, postKey(e, "/connectSessions", "e", obj{"intent": plainIntent(), "user": "usr_0000000000000000000000000000"}), detail{"user", "notFound"})
			}
			if n := countSessions(t, e); n != 4 {
				t.Errorf("%d sessions, want 4", n)
			}
		})

		t.Run("keys_are_per_project", func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b)
			other, otherKey := e.NewProject("other", nil)
			body := obj{"intent": plainIntent()}
			a := wantStatus(t, postKey(e, "/connectSessions", "shared", body), http.StatusCreated)
			r := e.Do(apitest.Request{Method: "POST", Path: projectPath(other, "/connectSessions"), Key: otherKey, Body: body,
				Header: map[string]string{"Idempotency-Key": "shared"}})
			bs := wantStatus(t, r, http.StatusCreated)
			if a["id"] == bs["id"] {
				t.Fatal("another project replayed this project's session")
			}
			// Another body under the same key in the other project is its own business.
			r = e.Do(apitest.Request{Method: "POST", Path: projectPath(other, "/connectSessions"), Key: otherKey,
				Body: obj{"intent": obj{"type": "updateUserAddress"}}, Header: map[string]string{"Idempotency-Key": "mine"}})
			wantStatus(t, r, http.StatusCreated)
			wantStatus(t, postKey(e, "/connectSessions", "mine", body), http.StatusCreated)
		})

		t.Run("concurrent_duplicates_create_one_session", func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b)
			const n = 20
			rounds := 3
			for round := 0; round < rounds; round++ {
				key := fmt.Sprintf("burst-%d", round)
				body := obj{"intent": plainIntent(), "callbackUrl": fmt.Sprintf("https://example.com/%d", round)}
				results := apitest.AtOnce(n, func(int) *apitest.Response { return postKey(e, "/connectSessions", key, body) })
				ids := map[string]bool{}
				created := 0
				for i, r := range results {
					switch r.Status {
					case http.StatusCreated:
						created++
						ids[r.JSON(t)["id"].(string)] = true
					case http.StatusConflict:
						wantError(t, r, http.StatusConflict, "conflict", "idempotencyKeyInUse")
					default:
						t.Fatalf("round %d request %d: %d %s", round, i, r.Status, r.Body)
					}
				}
				if created == 0 || len(ids) != 1 {
					t.Fatalf("round %d: %d answers 201 naming %d sessions, want one session", round, created, len(ids))
				}
			}
			if c := countSessions(t, e); c != rounds {
				t.Errorf("%d sessions, want %d", c, rounds)
			}
		})

		t.Run("users_create_honours_the_key", func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b)
			body := obj{"email": "jerry@example.com", "fullName": "Jerry"}
			a := wantStatus(t, postKey(e, "/users", "u1", body), http.StatusCreated)
			c := wantStatus(t, postKey(e, "/users", "u1", body), http.StatusCreated)
			if a["id"] != c["id"] {
				t.Errorf("replay created user %v, want %v", c["id"], a["id"])
			}
			wantError(t, postKey(e, "/users", "u1", obj{"email": "elaine@example.com"}), http.StatusUnprocessableEntity, "unprocessableEntity", "idempotencyKeyReused")
			// A conflict is not remembered.
			wantError(t, postKey(e, "/users", "u2", body), http.StatusConflict, "conflict", "userEmailExists")
			wantStatus(t, postKey(e, "/users", "u2", obj{"email": "elaine@example.com"}), http.StatusCreated)
			l := wantStatus(t, e.Get("/users"), http.StatusOK)
			if n := len(l["items"].([]any)); n != 2 {
				t.Errorf("%d users, want 2", n)
			}
		})

		t.Run("expire_honours_the_key", func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b)
			id := createSession(t, e, obj{"intent": plainIntent()})["id"].(string)
			id2 := createSession(t, e, obj{"intent": plainIntent()})["id"].(string)
			for i := 0; i < 2; i++ {
				s := wantStatus(t, postKey(e, "/connectSessions/"+id+"/expire", "x1", nil), http.StatusOK)
				if s["id"] != id || s["status"] != "expired" {
					t.Errorf("expire = %v", s)
				}
			}
			wantError(t, postKey(e, "/connectSessions/"+id2+"/expire", "x1", nil), http.StatusUnprocessableEntity, "unprocessableEntity", "idempotencyKeyReused")
		})
	})
}
