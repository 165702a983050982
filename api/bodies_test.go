package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/apitest"
)

// seed001User and seed001Sub are the IDs seed 001's examples name.
const (
	seed001User = "usr_0SNlurA049MEWV4OpCwsNyC9Kn2d"
	seed001Sub  = "sub_0SNlurA049MEWV2gSfSxi00xlPIi"
)

// seed001Requests are the create and PATCH example requests of seed 001,
// byte for byte (the -d of their curl examples, unescaped): both send user
// and userDetails together, and the create sends "subscription": null next
// to its payload (issue 10.1).
var seed001Requests = []struct{ name, method, body string }{
	{"create", http.MethodPost, `{"callbackUrl":"https://example.com","intent":{"type":"cancelSubscription","cancelSubscription":{"subscription":"sub_0SNlurA049MEWV2gSfSxi00xlPIi"},"subscription":null},"user":"usr_0SNlurA049MEWV4OpCwsNyC9Kn2d","userDetails":{"birthday":"2017-07-21","email":"jerry@example.com","fullName":"Jerry Seinfeld","metadata":{},"preferredLocale":"en-US"}}`},
	{"patch", http.MethodPatch, `{"callbackUrl":"https://example.com","user":"usr_0SNlurA049MEWV4OpCwsNyC9Kn2d","userDetails":{"birthday":"2017-07-21","email":"jerry@example.com","fullName":"Jerry Seinfeld","metadata":{},"preferredLocale":"en-US"}}`},
}

// TestSeed001Examples sends seed 001's example requests verbatim and gets
// the documented 201/200 with a url that works.
func TestSeed001Examples(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		settings := connectd.DefaultProjectSettings()
		settings.IntentValidation = connectd.IntentValidationLenient
		e := apitest.New(t, apitest.Options{Backend: b, Settings: &settings})
		if err := e.Store.CreateUser(context.Background(), &connectd.User{ID: seed001User, ProjectID: e.Project, Email: "jerry@example.com",
			Metadata: map[string]string{}, CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}, connectd.Idem{}); err != nil {
			t.Fatalf("create seed user: %v", err)
		}
		w := freshWorld()
		w.sub = seed001Sub
		seedWorldOf(t, e, seed001User, w)
		for _, sr := range seed001Requests {
			t.Run(sr.name, func(t *testing.T) {
				var r *apitest.Response
				want := http.StatusCreated
				if sr.method == http.MethodPatch {
					open := createSession(t, e, obj{"intent": obj{"type": "updateUserFullName"}})
					r = e.Patch("/connectSessions/"+open["id"].(string), sr.body)
					want = http.StatusOK
				} else {
					r = e.Post("/connectSessions", sr.body)
				}
				s := wantStatus(t, r, want)
				checkSessionShape(t, s)
				if s["user"] != seed001User || s["callbackUrl"] != "https://example.com" {
					t.Errorf("user %v callbackUrl %v, want %s and https://example.com", s["user"], s["callbackUrl"], seed001User)
				}
				if sr.method == http.MethodPost {
					// The intent as sent; a null member counts as absent.
					wantIntent := obj{"type": "cancelSubscription", "cancelSubscription": obj{"subscription": seed001Sub}}
					if !reflect.DeepEqual(s["intent"], map[string]any(wantIntent)) {
						t.Errorf("intent = %s", jsonString(s["intent"]))
					}
				}
				id := s["id"].(string)
				token := entryToken(t, e, s["url"], id)
				mustConsume(t, e, id, token)
				// The session is the existing user's: entry created nobody.
				var list struct{ Items []obj }
				if err := json.Unmarshal(e.Get("/users").Body, &list); err != nil || len(list.Items) != 1 {
					t.Errorf("users after entry: %s (%v)", e.Get("/users").Body, err)
				}
			})
		}
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
