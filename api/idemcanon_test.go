package api_test

import (
	"context"
	"crypto/sha256"
	"net/http"
	"testing"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/apitest"
)

// TestIdempotencyParsedBody: a retry whose JSON has its keys in another
// order or other whitespace is the same request and replays (issue 10.6);
// another value is another request. A
// replay carries Idempotent-Replayed: true, a fresh answer no such header;
// for sessions, users, platform resources and expire.
func TestIdempotencyParsedBody(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apitest.Env) {
		user := e.CreateUser("jerry@example.com")
		sess := createSession(t, e, obj{"intent": plainIntent(), "user": user})["id"].(string)
		cases := []struct {
			name, path         string
			first, same, other string // bodies; "" sends none
			status             int
		}{
			{"session", "/connectSessions",
				`{"intent":{"type":"viewSubscriptions"},"user":"` + user + `","callbackUrl":"https://example.com/a?x=1&y=2"}`,
				"{\n  \"user\" : \"" + user + "\",\r\n\t\"callbackUrl\": \"https:\\/\\/example.com\\/a?x=1\\u0026y=2\", \"intent\": { \"type\" : \"viewSubscriptions\" } }\n",
				`{"intent":{"type":"viewSubscriptions"},"user":"` + user + `","callbackUrl":"https://example.com/b"}`, http.StatusCreated},
			{"user", "/users",
				`{"email":"elaine@example.com","fullName":"Elaine Benes","metadata":{"a":"1","b":"2"}}`,
				`{ "metadata": {"b":"2", "a":"1"}, "fullName":"Elaine Benes" ,"email":"elaine@example.com"}`,
				`{"email":"elaine@example.com","fullName":"Elaine Marie Benes","metadata":{"a":"1","b":"2"}}`, http.StatusCreated},
			{"plan", "/plans",
				`{"name":"P","status":"active","price":{"amount":2999,"currency":"USD"},"validity":{"type":"recurring"},"allowances":{"dataBytes":null,"voiceSeconds":60000,"smsMessages":1000}}`,
				`{"validity":{"type":"recurring"},"allowances":{"smsMessages":1000,"voiceSeconds":60000,"dataBytes":null},"price":{"currency":"USD","amount":2999},"status":"active","name":"P"}`,
				`{"name":"Q","status":"active","price":{"amount":2999,"currency":"USD"},"validity":{"type":"recurring"},"allowances":{"dataBytes":null,"voiceSeconds":60000,"smsMessages":1000}}`, http.StatusCreated},
			{"expire", "/connectSessions/" + sess + "/expire", "", "", "", http.StatusOK},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				key := "k-" + c.name
				send := func(body string) *apitest.Response {
					req := apitest.Request{Method: "POST", Path: projectPath(e.Project, c.path), Header: map[string]string{"Idempotency-Key": key}}
					if body != "" {
						req.Body = body
					}
					return e.Do(req)
				}
				r := send(c.first)
				first := wantStatus(t, r, c.status)
				if h, ok := r.Header["Idempotent-Replayed"]; ok {
					t.Errorf("fresh answer has Idempotent-Replayed %v", h)
				}
				r = send(c.same)
				again := wantStatus(t, r, c.status)
				if again["id"] != first["id"] {
					t.Errorf("replay answered %v, want %v", again["id"], first["id"])
				}
				if got := r.Header.Get("Idempotent-Replayed"); got != "true" {
					t.Errorf("replay: Idempotent-Replayed = %q, want true", got)
				}
				if c.other != "" {
					r = send(c.other)
					wantError(t, r, http.StatusUnprocessableEntity, "unprocessableEntity", "idempotencyKeyReused")
					if h, ok := r.Header["Idempotent-Replayed"]; ok {
						t.Errorf("refusal has Idempotent-Replayed %v", h)
					}
				}
			})
		}

		// A record written before issue 10.6 holds the hash of the raw
		// bytes: a retry of those bytes within its 24 hours still replays.
		t.Run("legacy_raw_hash", func(t *testing.T) {
			body := `{"email": "george@example.com"}`
			h := sha256.New()
			h.Write([]byte("POST " + projectPath(e.Project, "/users") + "\n" + body))
			ctx := context.Background()
			now := time.Now().UTC().Truncate(time.Millisecond)
			st := e.Service.Store
			if _, err := st.ClaimIdempotencyKey(ctx, e.Project, "legacy", h.Sum(nil), now, time.Minute); err != nil {
				t.Fatal(err)
			}
			u := &connectd.User{ID: connectd.NewID(connectd.PrefixUser), ProjectID: e.Project, Email: "george@example.com", CreatedAt: now}
			if err := st.CreateUser(ctx, u, connectd.Idem{ProjectID: e.Project, Key: "legacy", ClaimedAt: now}); err != nil {
				t.Fatal(err)
			}
			r := e.Do(apitest.Request{Method: "POST", Path: projectPath(e.Project, "/users"), Body: body, Header: map[string]string{"Idempotency-Key": "legacy"}})
			if got := wantStatus(t, r, http.StatusCreated); got["id"] != u.ID || r.Header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("legacy replay = %v, header %q", got, r.Header.Get("Idempotent-Replayed"))
			}
		})
	})
}
