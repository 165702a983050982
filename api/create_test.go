package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/apitest"
)

func TestCreate(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apitest.Env) {
		user := seedJerry(t, e)
		other, otherKey := e.NewProject("other", nil)
		otherUser := e.Do(apitest.Request{Method: "POST", Path: projectPath(other, "/users"), Key: otherKey, Body: obj{"email": "elaine@example.com"}})
		otherUserID := wantStatus(t, otherUser, http.StatusCreated)["id"].(string)

		t.Run("201_with_the_session_and_its_url", func(t *testing.T) {
			r := e.Post("/connectSessions", obj{"callbackUrl": "https://example.com/done?x=1", "intent": plainIntent(), "user": user})
			s := wantStatus(t, r, http.StatusCreated)
			checkSessionShape(t, s)
			entryToken(t, e, s["url"], s["id"].(string))
			if s["callbackUrl"] != "https://example.com/done?x=1" || s["user"] != user || s["status"] != "open" {
				t.Errorf("session = %s", r.Body)
			}
			if r.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q", r.Header.Get("Cache-Control"))
			}
		})

		t.Run("null_counts_as_absent", func(t *testing.T) {
			s := createSession(t, e, `{"callbackUrl":null,"intent":{"type":"viewSubscriptions","viewSubscriptions":null},
				"user":null,"userDetails":null,"appearance":null,"someFutureField":null}`)
			for _, f := range []string{"callbackUrl", "user"} {
				if s[f] != nil {
					t.Errorf("%s = %v, want null", f, s[f])
				}
			}
			if !reflect.DeepEqual(s["appearance"], map[string]any{}) { // issue 10.2: always an object
				t.Errorf("appearance = %v, want {}", s["appearance"])
			}
			s = createSession(t, e, `{"intent":{"type":"checkoutNewSubscription","checkoutNewSubscription":{"plan":"`+plnID+`","sim":null,"device":null,"imei":null,"addons":null}},"appearance":{"theme":null}}`)
			if got := jsonString(s["intent"]); got != `{"checkoutNewSubscription":{"plan":"`+plnID+`"},"type":"checkoutNewSubscription"}` {
				t.Errorf("intent = %s", got)
			}
		})

		t.Run("neither_user_nor_userDetails_is_an_unauthenticated_session", func(t *testing.T) {
			s := createSession(t, e, obj{"intent": plainIntent()})
			if s["user"] != nil {
				t.Errorf("user = %v, want null", s["user"])
			}
			entryToken(t, e, s["url"], s["id"].(string))
		})

		t.Run("intent_is_required", func(t *testing.T) {
			want422(t, e.Post("/connectSessions", obj{"user": user}), detail{"intent", "required"})
			want422(t, e.Post("/connectSessions", obj{"intent": nil}), detail{"intent", "required"})
			want422(t, e.Post("/connectSessions", obj{}), detail{"intent", "required"})
		})

		t.Run("user_must_exist_422_not_404", func(t *testing.T) {
			r := e.Post("/connectSessions", obj{"intent": plainIntent(), "user": "usr_0000000000000000000000000000"})
			want422(t, r, detail{"user", "notFound"})
		})

		t.Run("user_of_another_project_counts_as_not_found", func(t *testing.T) {
			r := e.Post("/connectSessions", obj{"intent": plainIntent(), "user": otherUserID})
			m := want422(t, r, detail{"user", "notFound"})
			if strings.Contains(string(r.Body), "other") {
				t.Errorf("the error reveals the other project: %v", m)
			}
		})

		t.Run("user_must_be_a_user_id", func(t *testing.T) {
			for _, bad := range []any{"sub_0U32VAxJ0Z7P8Y40mBAnOP9LPhEr", "usr_", "usr_abc-def", "usr_" + strings.Repeat("a", 61), ""} {
				want422(t, e.Post("/connectSessions", obj{"intent": plainIntent(), "user": bad}), detail{"user", "invalidId"})
			}
			want422(t, e.Post("/connectSessions", obj{"intent": plainIntent(), "user": 42}), detail{"user", "invalidType"})
		})

		t.Run("userDetails_with_another_email_than_user_are_refused", func(t *testing.T) {
			// Issue 10.1: user and userDetails may come together, but must
			// agree (TestUserAndUserDetailsTogether has the full table).
			r := e.Post("/connectSessions", obj{"intent": plainIntent(), "user": user, "userDetails": obj{"email": "kramer@example.com"}})
			want422(t, r, detail{"userDetails.email", "doesNotMatchUser"})
		})

		t.Run("userDetails_creates_no_user_yet", func(t *testing.T) {
			s := createSession(t, e, obj{"intent": plainIntent(), "userDetails": obj{
				"email": "newman@example.com", "fullName": "Newman", "birthday": "1990-02-28", "preferredLocale": "en-US",
				"metadata": obj{"crm": "42"}}})
			if s["user"] != nil {
				t.Errorf("user = %v, want null until the session is entered", s["user"])
			}
			if _, ok := s["userDetails"]; ok {
				t.Errorf("the session echoes userDetails: %v", s)
			}
			entryToken(t, e, s["url"], s["id"].(string))
			l := wantStatus(t, e.Get("/users"), http.StatusOK)
			for _, it := range l["items"].([]any) {
				if it.(map[string]any)["email"] == "newman@example.com" {
					t.Errorf("the user was created at session creation")
				}
			}
		})

		t.Run("userDetails_rules", func(t *testing.T) {
			fiftyOne := obj{}
			for i := 0; i < 51; i++ {
				fiftyOne[fmt.Sprintf("k%d", i)] = "v"
			}
			fifty := obj{}
			for i := 0; i < 50; i++ {
				fifty[fmt.Sprintf("k%d", i)] = "v"
			}
			tomorrow := time.Now().UTC().Add(48 * time.Hour).Format(time.DateOnly)
			cases := []struct {
				name    string
				details any
				want    []detail // nil: accepted
			}{
				{"email_required", obj{"fullName": "Kramer"}, []detail{{"userDetails.email", "required"}}},
				{"email_null_is_absent", obj{"email": nil}, []detail{{"userDetails.email", "required"}}},
				{"email_invalid", obj{"email": "kramer"}, []detail{{"userDetails.email", "invalidEmail"}}},
				{"email_two_ats", obj{"email": "a@b@example.com"}, []detail{{"userDetails.email", "invalidEmail"}}},
				{"email_wrong_type", obj{"email": 5}, []detail{{"userDetails.email", "invalidType"}}},
				{"birthday_not_a_date", obj{"email": "a1@example.com", "birthday": "1990-1-1"}, []detail{{"userDetails.birthday", "invalidDate"}}},
				{"birthday_impossible_day", obj{"email": "a2@example.com", "birthday": "1990-02-30"}, []detail{{"userDetails.birthday", "invalidDate"}}},
				{"birthday_with_time", obj{"email": "a3@example.com", "birthday": "1990-02-03T00:00:00Z"}, []detail{{"userDetails.birthday", "invalidDate"}}},
				{"birthday_in_future", obj{"email": "a4@example.com", "birthday": tomorrow}, []detail{{"userDetails.birthday", ""}}},
				{"preferredLocale_invalid", obj{"email": "a5@example.com", "preferredLocale": "english please"}, []detail{{"userDetails.preferredLocale", "invalidLocale"}}},
				{"preferredLocale_valid", obj{"email": "a6@example.com", "preferredLocale": "de-CH"}, nil},
				{"metadata_51_keys", obj{"email": "a7@example.com", "metadata": fiftyOne}, []detail{{"userDetails.metadata", "tooManyKeys"}}},
				{"metadata_50_keys", obj{"email": "a8@example.com", "metadata": fifty}, nil},
				{"metadata_value_not_string", obj{"email": "a9@example.com", "metadata": obj{"a": "x", "n": 1}}, []detail{{"userDetails.metadata.n", "invalidType"}}},
				{"metadata_not_object", obj{"email": "b1@example.com", "metadata": []any{"x"}}, []detail{{"userDetails.metadata", "invalidType"}}},
				{"fullName_empty", obj{"email": "b2@example.com", "fullName": " "}, []detail{{"userDetails.fullName", ""}}},
				{"unknown_field", obj{"email": "b3@example.com", "nickname": "K"}, []detail{{"userDetails.nickname", "unknownField"}}},
				{"not_an_object", "kramer@example.com", []detail{{"userDetails", "invalidType"}}},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					r := e.Post("/connectSessions", obj{"intent": plainIntent(), "userDetails": c.details})
					if c.want == nil {
						wantStatus(t, r, http.StatusCreated)
						return
					}
					want422(t, r, c.want...)
				})
			}
		})

		t.Run("userDetails_email_of_an_existing_user_is_409", func(t *testing.T) {
			for _, email := range []string{"jerry@example.com", "JERRY@Example.COM"} {
				r := e.Post("/connectSessions", obj{"intent": plainIntent(), "userDetails": obj{"email": email}})
				wantError(t, r, http.StatusConflict, "conflict", "userEmailExists", detail{"userDetails.email", "alreadyExists"})
			}
			// The same email in another project is free.
			r := e.Do(apitest.Request{Method: "POST", Path: projectPath(other, "/connectSessions"), Key: otherKey,
				Body: obj{"intent": plainIntent(), "userDetails": obj{"email": "jerry@example.com"}}})
			wantStatus(t, r, http.StatusCreated)
		})

		t.Run("appearance_is_echoed", func(t *testing.T) {
			for _, theme := range []string{"light", "dark"} {
				s := createSession(t, e, obj{"intent": plainIntent(), "appearance": obj{"theme": theme}})
				if got := jsonString(s["appearance"]); got != `{"theme":"`+theme+`"}` {
					t.Errorf("appearance = %s", got)
				}
				g := wantStatus(t, e.Get("/connectSessions/"+s["id"].(string)), http.StatusOK)
				if got := jsonString(g["appearance"]); got != `{"theme":"`+theme+`"}` {
					t.Errorf("GET appearance = %s", got)
				}
			}
		})

		t.Run("appearance_rules", func(t *testing.T) {
			want422(t, e.Post("/connectSessions", obj{"intent": plainIntent(), "appearance": obj{"theme": "blue"}}), detail{"appearance.theme", "invalid"})
			want422(t, e.Post("/connectSessions", obj{"intent": plainIntent(), "appearance": obj{"theme": "Dark"}}), detail{"appearance.theme", "invalid"})
			want422(t, e.Post("/connectSessions", obj{"intent": plainIntent(), "appearance": obj{"theme": 1}}), detail{"appearance.theme", "invalidType"})
			want422(t, e.Post("/connectSessions", obj{"intent": plainIntent(), "appearance": obj{"theme": "dark", "font": "serif"}}), detail{"appearance.font", "unknownField"})
			want422(t, e.Post("/connectSessions", obj{"intent": plainIntent(), "appearance": "dark"}), detail{"appearance", "invalidType"})
		})

		t.Run("url_is_built_from_the_public_url_not_request_headers", func(t *testing.T) {
			body := `{"intent":{"type":"viewSubscriptions"}}`
			req, err := http.NewRequest("POST", e.URL+projectPath(e.Project, "/connectSessions"), strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Host = "evil.test"
			req.Header.Set("Authorization", "Bearer "+e.Key)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Forwarded-Host", "evil.test")
			req.Header.Set("X-Forwarded-Proto", "https")
			req.Header.Set("Forwarded", "host=evil.test;proto=https")
			resp, err := e.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			r := &apitest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
			s := wantStatus(t, r, http.StatusCreated)
			entryToken(t, e, s["url"], s["id"].(string))
			if strings.Contains(string(b), "evil") {
				t.Errorf("the answer uses request headers: %s", b)
			}
		})

		t.Run("secrets_never_reach_the_logs", func(t *testing.T) {
			s := createSession(t, e, obj{"intent": plainIntent(), "user": user})
			tok := entryToken(t, e, s["url"], s["id"].(string))
			logs := e.Logs.String()
			if !strings.Contains(logs, s["id"].(string)) && !strings.Contains(logs, "connectSessions") {
				t.Fatalf("no request log lines: %q", logs)
			}
			for name, secret := range map[string]string{"token": tok, "api key": e.Key, "url": s["url"].(string)} {
				if strings.Contains(logs, secret) {
					t.Errorf("the logs hold the %s", name)
				}
			}
		})
	})
}

// TestCreateProjectSettings covers the settings that change what create
// answers: the session TTL and the billing mode.
func TestCreateProjectSettings(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		t.Run("expiresAt_follows_sessionTTL", func(t *testing.T) {
			t.Parallel()
			s := connectd.DefaultProjectSettings()
			s.SessionTTL = connectd.Duration(time.Hour)
			e := apitest.New(t, apitest.Options{Backend: b, Settings: &s})
			got := createSession(t, e, obj{"intent": plainIntent()})
			created, _ := time.Parse(time.RFC3339, got["createdAt"].(string))
			expires, _ := time.Parse(time.RFC3339, got["expiresAt"].(string))
			if d := expires.Sub(created); d < time.Hour-time.Second || d > time.Hour+time.Second {
				t.Errorf("expiresAt - createdAt = %v, want 1h", d)
			}
		})
		t.Run("billing_mode_offers_two_intents", func(t *testing.T) {
			t.Parallel()
			s := connectd.DefaultProjectSettings()
			s.BillingMode = connectd.BillingModeBilling
			e := apitest.New(t, apitest.Options{Backend: b, Settings: &s})
			seedJerry(t, e)
			for _, it := range connectd.IntentTypes {
				in := obj{"type": string(it)}
				if it.HasPayload() {
					in[string(it)] = payloadFor(it)
				}
				r := e.Post("/connectSessions", obj{"intent": in})
				if it == connectd.IntentCompletePorting || it == connectd.IntentViewEsimInstallation {
					wantStatus(t, r, http.StatusCreated)
					continue
				}
				wantError(t, r, http.StatusUnprocessableEntity, "unprocessableEntity", "intentNotAvailable", detail{"intent.type", ""})
			}
		})
	})
}

// TestUserAndUserDetailsTogether: user names the user, userDetails must
// agree with it, on create and on PATCH.
func TestUserAndUserDetailsTogether(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		e := apitest.New(t, apitest.Options{Backend: b})
		user := e.CreateUser("jerry@example.com")
		wantStatus(t, e.Patch("/users/"+user, obj{"fullName": "Jerry Seinfeld", "metadata": obj{"crm": "42"}}), http.StatusOK)
		cases := []struct {
			name    string
			details obj
			want    []detail // nil: accepted
		}{
			{"same_email", obj{"email": "jerry@example.com"}, nil},
			{"email_other_case", obj{"email": "JERRY@Example.COM"}, nil},
			{"same_values", obj{"email": "jerry@example.com", "fullName": "Jerry Seinfeld", "metadata": obj{"crm": "42"}}, nil},
			{"fields_the_user_lacks", obj{"email": "jerry@example.com", "birthday": "1954-04-29", "preferredLocale": "en-US", "metadata": obj{"other": "1"}}, nil},
			{"other_email", obj{"email": "kramer@example.com"}, []detail{{"userDetails.email", "doesNotMatchUser"}}},
			{"other_fullName", obj{"email": "jerry@example.com", "fullName": "Cosmo Kramer"}, []detail{{"userDetails.fullName", "doesNotMatchUser"}}},
			{"other_metadata_value", obj{"email": "jerry@example.com", "metadata": obj{"crm": "7"}}, []detail{{"userDetails.metadata.crm", "doesNotMatchUser"}}},
			{"every_difference_at_once", obj{"email": "k@example.com", "fullName": "K", "metadata": obj{"crm": "7"}},
				[]detail{{"userDetails.email", "doesNotMatchUser"}, {"userDetails.fullName", "doesNotMatchUser"}, {"userDetails.metadata.crm", "doesNotMatchUser"}}},
		}
		for _, c := range cases {
			for _, method := range []string{http.MethodPost, http.MethodPatch} {
				t.Run(c.name+"/"+method, func(t *testing.T) {
					body := obj{"user": user, "userDetails": c.details}
					var r *apitest.Response
					var id string
					if method == http.MethodPatch {
						id = createSession(t, e, obj{"intent": plainIntent()})["id"].(string)
						r = e.Patch("/connectSessions/"+id, body)
					} else {
						body["intent"] = plainIntent()
						r = e.Post("/connectSessions", body)
					}
					if c.want != nil {
						want422(t, r, c.want...)
						if id != "" {
							if g := wantStatus(t, e.Get("/connectSessions/"+id), http.StatusOK); g["user"] != nil {
								t.Errorf("refused PATCH stuck: user %v", g["user"])
							}
						}
						return
					}
					status := http.StatusCreated
					if method == http.MethodPatch {
						status = http.StatusOK
					}
					s := wantStatus(t, r, status)
					if s["user"] != user {
						t.Errorf("user = %v, want %s", s["user"], user)
					}
					sid := s["id"].(string)
					mustConsume(t, e, sid, entryToken(t, e, s["url"], sid))
					// Nothing of the user was overwritten, nothing filled.
					u := wantStatus(t, e.Get("/users/"+user), http.StatusOK)
					if u["email"] != "jerry@example.com" || u["fullName"] != "Jerry Seinfeld" || u["birthday"] != nil ||
						!reflect.DeepEqual(u["metadata"], map[string]any{"crm": "42"}) {
						t.Errorf("user changed: %s", jsonString(u))
					}
				})
			}
		}
		t.Run("unknown_user_with_details", func(t *testing.T) {
			want422(t, e.Post("/connectSessions", obj{"intent": plainIntent(), "user": "usr_0000000000000000000000000000",
				"userDetails": obj{"email": "jerry@example.com"}}), detail{"user", "notFound"})
		})
	})
}

// TestIntentNullPayloadOfOtherType: a null payload key of another intent
// type (or the vendor's "subscription") counts as absent; a non-null one is
// still refused.
func TestIntentNullPayloadOfOtherType(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		e := apitest.New(t, apitest.Options{Backend: b})
		seedJerry(t, e)
		cancel := `"type":"cancelSubscription","cancelSubscription":{"subscription":"` + subID + `"}`
		cases := []struct {
			name, extra string
			want        *detail
		}{
			{"subscription_null", `"subscription":null`, nil},
			{"checkoutAddon_null", `"checkoutAddon":null`, nil},
			{"every_other_type_null", `"subscription":null,"checkoutAddon":null,"resumeSubscription":null,"checkoutNewSubscription":null,"confirmPayment":null`, nil},
			{"checkoutAddon_object", `"checkoutAddon":{"subscription":"` + subID + `","addons":["` + addID + `"]}`, &detail{"intent.checkoutAddon", "unknownField"}},
			{"subscription_string", `"subscription":"` + subID + `"`, &detail{"intent.subscription", "unknownField"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := e.Post("/connectSessions", `{"intent":{`+cancel+`,`+c.extra+`},"user":"`+jerryOf(t, e)+`"}`)
				if c.want != nil {
					want422(t, r, *c.want)
					return
				}
				s := wantStatus(t, r, http.StatusCreated)
				if got := jsonString(s["intent"]); got != `{"cancelSubscription":{"subscription":"`+subID+`"},"type":"cancelSubscription"}` {
					t.Errorf("intent = %s", got)
				}
			})
		}
	})
}

// jerryOf returns the ID of jerry@example.com.
func jerryOf(t *testing.T, e *apitest.Env) string {
	t.Helper()
	var list struct{ Items []obj }
	if err := json.Unmarshal(e.Get("/users").Body, &list); err != nil {
		t.Fatal(err)
	}
	for _, u := range list.Items {
		if u["email"] == "jerry@example.com" {
			return u["id"].(string)
		}
	}
	t.Fatal("no jerry")
	return ""
}

// TestAppearanceAlwaysAnObject: a session created without appearance
// answers {} in every response; one created with it echoes it (issue 10.2).
func TestAppearanceAlwaysAnObject(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		e := apitest.New(t, apitest.Options{Backend: b})
		cases := []struct {
			name string
			body string
			want any
		}{
			{"absent", `{"intent":{"type":"viewSubscriptions"}}`, map[string]any{}},
			{"null", `{"intent":{"type":"viewSubscriptions"},"appearance":null}`, map[string]any{}},
			{"empty", `{"intent":{"type":"viewSubscriptions"},"appearance":{}}`, map[string]any{}},
			{"theme_null", `{"intent":{"type":"viewSubscriptions"},"appearance":{"theme":null}}`, map[string]any{}},
			{"dark", `{"intent":{"type":"viewSubscriptions"},"appearance":{"theme":"dark"}}`, map[string]any{"theme": "dark"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				s := wantStatus(t, e.Post("/connectSessions", c.body), http.StatusCreated)
				id := s["id"].(string)
				check := func(where string, got any) {
					t.Helper()
					if !reflect.DeepEqual(got, c.want) {
						t.Errorf("%s: appearance = %s, want %s", where, jsonString(got), jsonString(c.want))
					}
				}
				check("create", s["appearance"])
				check("get", wantStatus(t, e.Get("/connectSessions/"+id), http.StatusOK)["appearance"])
				var list struct{ Items []obj }
				if err := json.Unmarshal(e.Get("/connectSessions?limit=200").Body, &list); err != nil {
					t.Fatal(err)
				}
				found := false
				for _, it := range list.Items {
					if it["id"] == id {
						found = true
						check("list item", it["appearance"])
					}
				}
				if !found {
					t.Errorf("session %s not listed", id)
				}
				check("patch", wantStatus(t, e.Patch("/connectSessions/"+id, obj{"callbackUrl": "https://example.com/back"}), http.StatusOK)["appearance"])
				check("expire", wantStatus(t, e.Post("/connectSessions/"+id+"/expire", ""), http.StatusOK)["appearance"])
			})
		}
	})
}
