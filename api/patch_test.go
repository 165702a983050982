package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/apitest"
)

func TestPatch(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apitest.Env) {
		jerry := e.CreateUser("jerry@example.com")
		elaine := e.CreateUser("elaine@example.com")
		open := func(t *testing.T, body obj) (id, token string) {
			t.Helper()
			s := createSession(t, e, body)
			id = s["id"].(string)
			return id, entryToken(t, e, s["url"], id)
		}

		t.Run("callbackUrl_change_answers_url_null_and_keeps_the_old_url_working", func(t *testing.T) {
			id, tok := open(t, obj{"callbackUrl": "https://example.com/a", "intent": plainIntent(), "user": jerry})
			r := e.Patch("/connectSessions/"+id, obj{"callbackUrl": "https://example.com/b"})
			s := wantStatus(t, r, http.StatusOK)
			checkSessionShape(t, s)
			if s["callbackUrl"] != "https://example.com/b" || s["url"] != nil || s["user"] != jerry || s["status"] != "open" {
				t.Errorf("PATCH answer = %s", r.Body)
			}
			g := wantStatus(t, e.Get("/connectSessions/"+id), http.StatusOK)
			if g["callbackUrl"] != "https://example.com/b" || g["url"] != nil {
				t.Errorf("GET after PATCH = %v", g)
			}
			mustConsume(t, e, id, tok)
		})

		t.Run("empty_patch_changes_nothing", func(t *testing.T) {
			id, tok := open(t, obj{"callbackUrl": "https://example.com/a", "intent": plainIntent()})
			for _, body := range []any{obj{}, obj{"callbackUrl": nil, "user": nil, "userDetails": nil}} {
				s := wantStatus(t, e.Patch("/connectSessions/"+id, body), http.StatusOK)
				if s["callbackUrl"] != "https://example.com/a" || s["url"] != nil || s["user"] != nil {
					t.Errorf("PATCH %s answered %v", jsonString(body), s)
				}
			}
			mustConsume(t, e, id, tok)
		})

		t.Run("associating_a_user_mints_a_new_url", func(t *testing.T) {
			id, oldTok := open(t, obj{"intent": plainIntent()})
			r := e.Patch("/connectSessions/"+id, obj{"user": jerry})
			s := wantStatus(t, r, http.StatusOK)
			checkSessionShape(t, s)
			if s["user"] != jerry {
				t.Errorf("user = %v", s["user"])
			}
			if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q", cc)
			}
			newTok := entryToken(t, e, s["url"], id)
			if newTok == oldTok {
				t.Fatal("the token was not replaced")
			}
			if g := wantStatus(t, e.Get("/connectSessions/"+id), http.StatusOK); g["url"] != nil || g["user"] != jerry {
				t.Errorf("GET = %v", g)
			}
			mustNotConsume(t, e, id, oldTok)
			mustConsume(t, e, id, newTok)
		})

		t.Run("associating_userDetails_mints_a_new_url", func(t *testing.T) {
			id, oldTok := open(t, obj{"intent": plainIntent()})
			s := wantStatus(t, e.Patch("/connectSessions/"+id, obj{"userDetails": obj{"email": "kramer@example.com", "fullName": "Cosmo Kramer"}}), http.StatusOK)
			newTok := entryToken(t, e, s["url"], id)
			if s["user"] != nil {
				t.Errorf("user = %v, want null until entry", s["user"])
			}
			mustNotConsume(t, e, id, oldTok)
			mustConsume(t, e, id, newTok)
		})

		t.Run("user_only_while_the_session_has_none_409", func(t *testing.T) {
			id, tok := open(t, obj{"intent": plainIntent(), "user": jerry})
			r := e.Patch("/connectSessions/"+id, obj{"user": elaine})
			wantError(t, r, http.StatusConflict, "conflict", "connectSessionHasUser", detail{"user", "alreadySet"})
			r = e.Patch("/connectSessions/"+id, obj{"user": jerry}) // even the same user
			wantError(t, r, http.StatusConflict, "conflict", "connectSessionHasUser")
			r = e.Patch("/connectSessions/"+id, obj{"userDetails": obj{"email": "kramer@example.com"}})
			wantError(t, r, http.StatusConflict, "conflict", "connectSessionHasUser", detail{"userDetails", "alreadySet"})
			if g := wantStatus(t, e.Get("/connectSessions/"+id), http.StatusOK); g["user"] != jerry {
				t.Errorf("user changed to %v", g["user"])
			}
			mustConsume(t, e, id, tok) // the refused PATCHes did not touch the url
		})

		t.Run("a_session_created_with_userDetails_has_a_user", func(t *testing.T) {
			id, _ := open(t, obj{"intent": plainIntent(), "userDetails": obj{"email": "newman@example.com"}})
			wantError(t, e.Patch("/connectSessions/"+id, obj{"user": jerry}), http.StatusConflict, "conflict", "connectSessionHasUser")
			wantError(t, e.Patch("/connectSessions/"+id, obj{"userDetails": obj{"email": "puddy@example.com"}}), http.StatusConflict, "conflict", "connectSessionHasUser")
			// A PATCH of its callbackUrl is fine.
			wantStatus(t, e.Patch("/connectSessions/"+id, obj{"callbackUrl": "https://example.com"}), http.StatusOK)
		})

		t.Run("a_session_given_userDetails_by_patch_has_a_user", func(t *testing.T) {
			id, _ := open(t, obj{"intent": plainIntent()})
			wantStatus(t, e.Patch("/connectSessions/"+id, obj{"userDetails": obj{"email": "bania@example.com"}}), http.StatusOK)
			wantError(t, e.Patch("/connectSessions/"+id, obj{"user": jerry}), http.StatusConflict, "conflict", "connectSessionHasUser")
		})

		t.Run("user_rules_as_on_create", func(t *testing.T) {
			id, _ := open(t, obj{"intent": plainIntent()})
			want422(t, e.Patch("/connectSessions/"+id, obj{"user": "usr_0000000000000000000000000000"}), detail{"user", "notFound"})
			want422(t, e.Patch("/connectSessions/"+id, obj{"user": "nope"}), detail{"user", "invalidId"})
			want422(t, e.Patch("/connectSessions/"+id, obj{"user": jerry, "userDetails": obj{"email": "x@example.com"}}), detail{"userDetails.email", "doesNotMatchUser"}) // issue 10.1
			want422(t, e.Patch("/connectSessions/"+id, obj{"userDetails": obj{"email": "bad"}}), detail{"userDetails.email", "invalidEmail"})
			wantError(t, e.Patch("/connectSessions/"+id, obj{"userDetails": obj{"email": "JERRY@example.com"}}), http.StatusConflict, "conflict", "userEmailExists",
				detail{"userDetails.email", "alreadyExists"})
			want422(t, e.Patch("/connectSessions/"+id, obj{"callbackUrl": "javascript:alert(1)"}), detail{"callbackUrl", "forbiddenScheme"})
			// Nothing of the refused PATCHes stuck.
			if g := wantStatus(t, e.Get("/connectSessions/"+id), http.StatusOK); g["user"] != nil || g["callbackUrl"] != nil {
				t.Errorf("session changed: %v", g)
			}
		})

		t.Run("intent_cannot_be_changed", func(t *testing.T) {
			id, _ := open(t, obj{"intent": plainIntent()})
			want422(t, e.Patch("/connectSessions/"+id, obj{"intent": obj{"type": "updateUserAddress"}}), detail{"intent", "immutable"})
			want422(t, e.Patch("/connectSessions/"+id, obj{"intent": plainIntent()}), detail{"intent", "immutable"})
			// null counts as absent.
			wantStatus(t, e.Patch("/connectSessions/"+id, obj{"intent": nil}), http.StatusOK)
		})

		t.Run("other_fields_are_unknown", func(t *testing.T) {
			id, _ := open(t, obj{"intent": plainIntent()})
			for _, f := range []string{"appearance", "status", "url", "id", "expiresAt", "callbackURL"} {
				want422(t, e.Patch("/connectSessions/"+id, obj{f: "x"}), detail{f, "unknownField"})
			}
		})

		t.Run("only_open_sessions_are_patchable", func(t *testing.T) {
			expired, _ := open(t, obj{"intent": plainIntent()})
			wantStatus(t, e.Post("/connectSessions/"+expired+"/expire", nil), http.StatusOK)
			entered, tok := open(t, obj{"intent": plainIntent()})
			mustConsume(t, e, entered, tok)
			for name, id := range map[string]string{"expired": expired, "entered": entered} {
				for _, body := range []obj{{"callbackUrl": "https://example.com"}, {"user": jerry}, {}} {
					r := e.Patch("/connectSessions/"+id, body)
					m := wantError(t, r, http.StatusConflict, "conflict", "connectSessionNotOpen")
					_ = m
					if t.Failed() {
						t.Fatalf("%s session, PATCH %s", name, jsonString(body))
					}
				}
			}
		})

		t.Run("unknown_session_404", func(t *testing.T) {
			wantError(t, e.Patch("/connectSessions/csn_0000000000000000000000000000", obj{}), http.StatusNotFound, "notFound", "connectSessionNotFound")
		})
	})
}

// TestPatchAfterTTL: a session whose TTL passed is expired, and no longer
// patchable, even before anything wrote that down.
func TestPatchAfterTTL(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		s := connectd.DefaultProjectSettings()
		s.SessionTTL = connectd.Duration(time.Minute)
		e := apitest.New(t, apitest.Options{Backend: b, Settings: &s})
		user := e.CreateUser("jerry@example.com")
		id := createSession(t, e, obj{"intent": plainIntent()})["id"].(string)
		e.Clock.Advance(2 * time.Minute)
		if g := wantStatus(t, e.Get("/connectSessions/"+id), http.StatusOK); g["status"] != "expired" {
			t.Errorf("status = %v, want expired", g["status"])
		}
		wantError(t, e.Patch("/connectSessions/"+id, obj{"user": user}), http.StatusConflict, "conflict", "connectSessionNotOpen")
		wantError(t, e.Patch("/connectSessions/"+id, obj{"callbackUrl": "https://example.com"}), http.StatusConflict, "conflict", "connectSessionNotOpen")
	})
}

// TestPatchConcurrentAssociation races PATCHes that associate a user with
// one session: exactly one wins (200 with a url), every other gets 409, and
// only the winner's url works.
func TestPatchConcurrentAssociation(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apitest.Env) {
		const racers = 4
		users := make([]string, racers)
		for i := range users {
			users[i] = e.CreateUser(fmt.Sprintf("racer%d@example.com", i))
		}
		rounds := 25
		if testing.Short() {
			rounds = 5
		}
		for round := 0; round < rounds; round++ {
			s := createSession(t, e, obj{"intent": plainIntent()})
			id := s["id"].(string)
			firstTok := entryToken(t, e, s["url"], id)
			results := apitest.AtOnce(racers, func(i int) *apitest.Response {
				body := obj{"user": users[i]}
				if i%2 == 1 {
					body = obj{"userDetails": obj{"email": fmt.Sprintf("new%d-%d@example.com", round, i)}}
				}
				return e.Patch("/connectSessions/"+id, body)
			})
			winners := 0
			var winner obj
			for i, r := range results {
				switch r.Status {
				case http.StatusOK:
					winners++
					winner = r.JSON(t)
				case http.StatusConflict:
					wantError(t, r, http.StatusConflict, "conflict", "")
				default:
					t.Fatalf("round %d racer %d: %d %s", round, i, r.Status, r.Body)
				}
			}
			if winners != 1 {
				t.Fatalf("round %d: %d PATCHes associated a user, want exactly 1", round, winners)
			}
			tok := entryToken(t, e, winner["url"], id)
			mustNotConsume(t, e, id, firstTok)
			mustConsume(t, e, id, tok)
		}
	})
}

func TestExpire(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apitest.Env) {
		expirePath := func(id string) string { return projectPath(e.Project, "/connectSessions/"+id+"/expire") }
		newSession := func(t *testing.T) (string, string) {
			t.Helper()
			s := createSession(t, e, obj{"intent": plainIntent(), "callbackUrl": "https://example.com"})
			return s["id"].(string), entryToken(t, e, s["url"], s["id"].(string))
		}

		t.Run("expire_answers_the_expired_session_and_kills_its_url", func(t *testing.T) {
			id, tok := newSession(t)
			r := e.Do(apitest.Request{Method: "POST", Path: expirePath(id)})
			s := wantStatus(t, r, http.StatusOK)
			checkSessionShape(t, s)
			if s["status"] != "expired" || s["url"] != nil || s["id"] != id || s["callbackUrl"] != "https://example.com" {
				t.Errorf("expire = %s", r.Body)
			}
			mustNotConsume(t, e, id, tok)
			if g := wantStatus(t, e.Get("/connectSessions/"+id), http.StatusOK); g["status"] != "expired" {
				t.Errorf("GET status = %v", g["status"])
			}
		})

		t.Run("expire_twice_is_fine", func(t *testing.T) {
			id, _ := newSession(t)
			for i := 0; i < 3; i++ {
				s := wantStatus(t, e.Do(apitest.Request{Method: "POST", Path: expirePath(id)}), http.StatusOK)
				if s["status"] != "expired" {
					t.Errorf("expire #%d: status %v", i+1, s["status"])
				}
			}
		})

		t.Run("expire_an_entered_session", func(t *testing.T) {
			id, tok := newSession(t)
			mustConsume(t, e, id, tok)
			s := wantStatus(t, e.Do(apitest.Request{Method: "POST", Path: expirePath(id)}), http.StatusOK)
			if s["status"] != "expired" {
				t.Errorf("status = %v", s["status"])
			}
		})

		t.Run("expire_unknown_is_404", func(t *testing.T) {
			wantError(t, e.Do(apitest.Request{Method: "POST", Path: expirePath("csn_0000000000000000000000000000")}), http.StatusNotFound, "notFound", "connectSessionNotFound")
		})

		t.Run("body_is_optional", func(t *testing.T) {
			// No body and no Content-Type.
			id, _ := newSession(t)
			r := rawDo(t, e, "POST", expirePath(id), nil, http.Header{})
			wantStatus(t, r, http.StatusOK)
			// An empty JSON object.
			id, _ = newSession(t)
			wantStatus(t, e.Do(apitest.Request{Method: "POST", Path: expirePath(id), Body: obj{}}), http.StatusOK)
			// Content-Type JSON with an empty body.
			id, _ = newSession(t)
			wantStatus(t, rawDo(t, e, "POST", expirePath(id), nil, http.Header{"Content-Type": {"application/json"}}), http.StatusOK)
		})

		t.Run("body_rules_still_hold", func(t *testing.T) {
			id, tok := newSession(t)
			r := rawDo(t, e, "POST", expirePath(id), strings.NewReader("now"), http.Header{"Content-Type": {"text/plain"}})
			wantError(t, r, http.StatusUnsupportedMediaType, "unsupportedMediaType", "unsupportedMediaType")
			r = e.Do(apitest.Request{Method: "POST", Path: expirePath(id), Body: "{}", NoCType: true})
			wantError(t, r, http.StatusUnsupportedMediaType, "unsupportedMediaType", "")
			want422(t, e.Do(apitest.Request{Method: "POST", Path: expirePath(id), Body: obj{"reason": "x"}}), detail{"reason", "unknownField"})
			wantError(t, e.Do(apitest.Request{Method: "POST", Path: expirePath(id), Body: "[]"}), http.StatusBadRequest, "badRequest", "invalidJson")
			wantError(t, e.Do(apitest.Request{Method: "POST", Path: expirePath(id), Body: "{"}), http.StatusBadRequest, "badRequest", "invalidJson")
			want422(t, e.Do(apitest.Request{Method: "POST", Path: expirePath(id) + "?now=1"}), detail{"now", "unknownParameter"})
			// None of that expired it.
			mustConsume(t, e, id, tok)
		})
	})
}
