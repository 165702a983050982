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

// seedUser is the user every seed example names.
const seedUser = "usr_0U2ViuFW0Z7P8Y2S1L76mfADMT6m"

// seedRequests are the example create bodies of the seeds, byte for byte:
// the 13 intents of seed 000 and the example of seed 003.
var seedRequests = []struct{ name, body string }{
	{"cancelSubscription", `{
"callbackUrl": "https://example.com",
"intent": {
"type": "cancelSubscription",
"cancelSubscription": {
"subscription": "sub_0U32VAxJ0Z7P8Y40mBAnOP9LPhEr"
}
},
"user": "usr_0U2ViuFW0Z7P8Y2S1L76mfADMT6m"
}`},
	{"changeSubscription", `{
"callbackUrl": "https://example.com",
"intent": {
"type": "changeSubscription",
"changeSubscription": {
"subscription": "sub_0U32VAxJ0Z7P8Y40mBAnOP9LPhEr"
}
},
"user": "usr_0U2ViuFW0Z7P8Y2S1L76mfADMT6m"
}`},
	{"checkoutAddon", `{
"callbackUrl": "https://example.com",
"intent": {
"type": "checkoutAddon",
"checkoutAddon": {
"subscription": "sub_0U32VAxJ0Z7P8Y40mBAnOP9LPhEr",
"addons": ["add_0U32Zonj0Z7P8Y0kDmHNLzgaevse"]
}
},
"user": "usr_0U2ViuFW0Z7P8Y2S1L76mfADMT6m"
}`},
	{"checkoutNewSubscription", `{
"callbackUrl": "https://example.com",
"intent": {
"type": "checkoutNewSubscription",
"checkoutNewSubscription": {
"plan": "pln_0U32ZjA60Z7P8Y5vLtmvXaIMEiPr",
"sim": "sim_0U32TCTS0Z7P8Y4gBoN1duXbdi2m"
}
},
"user": "usr_0U2ViuFW0Z7P8Y2S1L76mfADMT6m"
}`},
	{"completePorting", `{
"callbackUrl": "https://example.com",
"intent": {
"type": "completePorting",
"completePorting": {
"subscription": "sub_0U32VAxJ0Z7P8Y40mBAnOP9LPhEr"
}
},
"user": "usr_0U2ViuFW0Z7P8Y2S1L76mfADMT6m"
}`},
	{"confirmPayment", `{
"callbackUrl": "https://example.com",
"intent": {
"type": "confirmPayment",
"confirmPayment": {
"payment": "pay_19XU2VA2J0Z7P8Y40mBAnOP9L1PAr"
}
},
"user": "usr_0U2ViuFW0Z7P8Y2S1L76mfADMT6m"
}`},
	{"resumeSubscription", `{
"callbackUrl": "https://example.com",
"intent": {
"type": "resumeSubscription",
"resumeSubscription": {
"subscription": "sub_0U32VAxJ0Z7P8Y40mBAnOP9LPhEr"
}
},
"user": "usr_0U2ViuFW0Z7P8Y2S1L76mfADMT6m"
}`},
	{"updatePaymentMethod", `{
"callbackUrl": "https://example.com",
"intent": {
"type": "updatePaymentMethod"
},
"user": "usr_0U2ViuFW0Z7P8Y2S1L76mfADMT6m"
}`},
	{"updateUserAddress", `{
"callbackUrl": "https://example.com",
"intent": {
"type": "updateUserAddress"
},
"user": "usr_0U2ViuFW0Z7P8Y2S1L76mfADMT6m"
}`},
	{"updateUserFullName", `{
"callbackUrl": "https://example.com",
"intent": {
"type": "updateUserFullName"
},
"user": "usr_0U2ViuFW0Z7P8Y2S1L76mfADMT6m"
}`},
	{"viewEsimInstallation", `{
"callbackUrl": "https://example.com",
"intent": {
"type": "viewEsimInstallation",
"viewEsimInstallation": {
"subscription": "sub_0U32VAxJ0Z7P8Y40mBAnOP9LPhEr"
}
},
"user": "usr_0U2ViuFW0Z7P8Y2S1L76mfADMT6m"
}`},
	{"viewSubscription", `{
"callbackUrl": "https://example.com",
"intent": {
"type": "viewSubscription",
"viewSubscription": {
"subscription": "sub_0U32VAxJ0Z7P8Y40mBAnOP9LPhEr"
}
},
"user": "usr_0U2ViuFW0Z7P8Y2S1L76mfADMT6m"
}`},
	{"viewSubscriptions", `{
"callbackUrl": "https://example.com",
"intent": {
"type": "viewSubscriptions"
},
"user": "usr_0U2ViuFW0Z7P8Y2S1L76mfADMT6m"
}`},
	{"003_checkoutNewSubscription", `{
"callbackUrl": "https://example.com",
"intent": {
"type": "checkoutNewSubscription",
"checkoutNewSubscription": {
"plan": "pln_0U32ZjA60Z7P8Y5vLtmvXaIMEiPr"
}
},
"user": "usr_0U2ViuFW0Z7P8Y2S1L76mfADMT6m"
}`},
}

// TestSeedsAcceptance sends every example request of the seeds as it stands
// (the user and the resources it names are created first, with the seed's
// IDs) and checks the
// documented answer: 201, the session object with every field, the intent as
// sent, an entry url whose token the store knows by its SHA-256, and a GET
// that returns the same session with url null.
func TestSeedsAcceptance(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		// The seeds describe the documented service, which does not check
		// resource states: lenient mode. (They even send one subscription
		// to both cancelSubscription and resumeSubscription.) Existence and
		// ownership are still checked, so the resources they name exist.
		settings := connectd.DefaultProjectSettings()
		settings.IntentValidation = connectd.IntentValidationLenient
		e := apitest.New(t, apitest.Options{Backend: b, Settings: &settings})
		ctx := context.Background()
		if err := e.Store.CreateUser(ctx, &connectd.User{ID: seedUser, ProjectID: e.Project, Email: "seed@example.com",
			Metadata: map[string]string{}, CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}, connectd.Idem{}); err != nil {
			t.Fatalf("create seed user: %v", err)
		}
		seedWorld(t, e, seedUser)
		for _, sr := range seedRequests {
			t.Run(sr.name, func(t *testing.T) {
				var req map[string]any
				if err := json.Unmarshal([]byte(sr.body), &req); err != nil {
					t.Fatalf("seed body: %v", err)
				}
				before := time.Now().UTC().Truncate(time.Second)
				r := e.Post("/connectSessions", sr.body)
				after := time.Now().UTC()
				s := wantStatus(t, r, http.StatusCreated)
				checkSessionShape(t, s)
				id := s["id"].(string)
				if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
					t.Errorf("Cache-Control = %q, want no-store", cc)
				}
				if s["callbackUrl"] != req["callbackUrl"] {
					t.Errorf("callbackUrl = %v, want %v", s["callbackUrl"], req["callbackUrl"])
				}
				if !reflect.DeepEqual(s["intent"], req["intent"]) {
					t.Errorf("intent = %s, want %s", jsonString(s["intent"]), jsonString(req["intent"]))
				}
				if s["user"] != seedUser {
					t.Errorf("user = %v, want %s", s["user"], seedUser)
				}
				if !reflect.DeepEqual(s["appearance"], map[string]any{}) { // issue 10.2
					t.Errorf("appearance = %v, want {}", s["appearance"])
				}
				if s["status"] != "open" {
					t.Errorf("status = %v, want open", s["status"])
				}
				created, _ := time.Parse(time.RFC3339, s["createdAt"].(string))
				expires, _ := time.Parse(time.RFC3339, s["expiresAt"].(string))
				if created.Before(before) || created.After(after) {
					t.Errorf("createdAt = %v, want between %v and %v", created, before, after)
				}
				if d := expires.Sub(created); d < connectd.DefaultSessionTTL-time.Second || d > connectd.DefaultSessionTTL+time.Second {
					t.Errorf("expiresAt - createdAt = %v, want the default TTL %v", d, connectd.DefaultSessionTTL)
				}
				token := entryToken(t, e, s["url"], id)

				// GET answers the same session, url null.
				g := wantStatus(t, e.Get("/connectSessions/"+id), http.StatusOK)
				if g["url"] != nil {
					t.Errorf("GET url = %v, want null", g["url"])
				}
				want := map[string]any{}
				for k, v := range s {
					want[k] = v
				}
				want["url"] = nil
				if !reflect.DeepEqual(g, want) {
					t.Errorf("GET = %s\nwant %s", jsonString(g), jsonString(want))
				}

				// The url works: the store holds sha256(token), and nothing else does.
				mustNotConsume(t, e, id, token+"x")
				mustConsume(t, e, id, token)
				mustNotConsume(t, e, id, token) // once only
				g = wantStatus(t, e.Get("/connectSessions/"+id), http.StatusOK)
				if g["status"] != "active" || g["url"] != nil {
					t.Errorf("after entry: status %v url %v, want active and null", g["status"], g["url"])
				}
			})
		}
	})
}

// TestSeedsDocumentedResponse checks the response of seed 003 field by
// field: every documented field is there with the documented type.
func TestSeedsDocumentedResponse(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, apitest.Options{})
	const documented = `{
"object": "connectSession",
"id": "csn_0U2UMLEo0Z7P8Y37BOdNohpMnq0Y",
"callbackUrl": "https://example.com",
"intent": {
"type": "checkoutNewSubscription",
"checkoutNewSubscription": { "plan": "pln_0U2qJyIT0Z7P8Y1M6uFNjOiO5sws" }
},
"url": "https://connect.gigs.com/checkout/entry?session=csn_0SNlurA049MEWV1GWxpaE5D0t2D7&token=lzODbEyaUQjVRAmalD4pdaq5Nkn1Lw0qTL6Rdsh7PwLVES6N7ImWxnCYbJA99AXp",
"user": "usr_0SNlurA049MEWV1BAAmWZULA4tm8"
}`
	var doc map[string]any
	if err := json.Unmarshal([]byte(documented), &doc); err != nil {
		t.Fatal(err)
	}
	user := seedJerry(t, e)
	s := createSession(t, e, map[string]any{"callbackUrl": "https://example.com",
		"intent": map[string]any{"type": "checkoutNewSubscription", "checkoutNewSubscription": map[string]any{"plan": plnID}},
		"user":   user})
	for k, v := range doc {
		got, ok := s[k]
		if !ok {
			t.Errorf("documented field %q missing", k)
			continue
		}
		if reflect.TypeOf(got) != reflect.TypeOf(v) {
			t.Errorf("field %q is %T, documented as %T", k, got, v)
		}
	}
}

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
