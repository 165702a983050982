package hostile

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/connectd/connectd/internal/apitest"
)

// canaryValue returns a secret-looking value that is recognisable.
func canaryValue(prefix string) string {
	var b [32]byte
	rand.Read(b[:])
	return prefix + "CANARY" + base64.RawURLEncoding.EncodeToString(b[:])
}

// TestSecretsCanary runs a full flow, API and portal, with recognisable
// secrets sent everywhere a client can put them (paths, queries, bodies,
// headers, cookies) and checks that no secret comes back: not in the
// logs, not in /metrics, not in any error body, header or page. The real
// secrets of the flow (the API key, every session token, the login codes)
// count as canaries too; the only places a token may appear are the
// answers that hand it out (a create or PATCH that returns url) and the
// confirmation page of its own link, whose button posts it back.
func TestSecretsCanary(t *testing.T) {
	e := apitest.New(t, apitest.Options{})
	userEmail := "canary.user." + strings.ToLower(canaryValue("")[6:16]) + "@example.com"
	detailsEmail := "canary.details." + strings.ToLower(canaryValue("")[6:16]) + "@example.com"
	loginEmail := "canary.login." + strings.ToLower(canaryValue("")[6:16]) + "@example.com"
	canaryName := "Canary " + canaryValue("")[6:20]
	clientToken := canaryValue("tok")    // a token-like value a client sends by mistake
	clientKey := "ck_" + canaryValue("") // a key-like value
	callbackSecret := canaryValue("state")
	callback := "https://example.com/cb?state=" + callbackSecret
	pin := canaryValue("pin")

	secrets := map[string]string{"api key": e.Key, "client token": clientToken, "client key": clientKey}
	// Personal data must stay out of logs and metrics (pages may show a
	// user their own data).
	personal := map[string]string{"user email": userEmail, "details email": detailsEmail, "login email": loginEmail,
		"full name": canaryName, "callback state": callbackSecret, "account pin": pin}

	var corpus []string // error bodies, headers and pages, labelled
	allowed := map[string]bool{}
	tokenOf := func(link string) string {
		u, err := url.Parse(link)
		if err != nil {
			t.Fatal(err)
		}
		return u.Query().Get("token")
	}
	record := func(what string, r *apitest.Response) {
		var h strings.Builder
		for k, vs := range r.Header {
			h.WriteString(k + ": " + strings.Join(vs, ", ") + "\n")
		}
		corpus = append(corpus, what+"\n"+h.String()+"\n"+string(r.Body))
	}
	var tokens []string
	apiDo := func(req apitest.Request) *apitest.Response {
		t.Helper()
		r := e.Do(req)
		var m map[string]any
		if r.Status < 300 && strings.Contains(string(r.Body), `"url":"http`) {
			if err := json.Unmarshal(r.Body, &m); err == nil {
				if u, _ := m["url"].(string); u != "" {
					tokens = append(tokens, tokenOf(u))
					return r // hands the token out: not scanned
				}
			}
		}
		record("API answer", r) // not the path: it may hold a canary
		return r
	}

	// API: a user, sessions with canary details and callback, a porting
	// with a PIN, then errors with secrets everywhere.
	user := e.CreateUser(userEmail)
	apiDo(apitest.Request{Method: "PATCH", Path: "/projects/proj/users/" + user, Body: obj{"fullName": canaryName}})
	plan := apiDo(apitest.Request{Method: "POST", Path: "/projects/proj/plans", Body: obj{"name": "P", "status": "active", "price": obj{"amount": 100, "currency": "USD"}}}).JSON(t)["id"].(string)
	sub := apiDo(apitest.Request{Method: "POST", Path: "/projects/proj/subscriptions", Body: obj{"user": user, "plan": plan, "status": "active", "recurring": true}}).JSON(t)["id"].(string)
	apiDo(apitest.Request{Method: "POST", Path: "/projects/proj/portings", Body: obj{"subscription": sub, "phoneNumber": "+14155550100", "accountPin": pin}})

	create := func(body obj) (string, string) {
		t.Helper()
		r := apiDo(apitest.Request{Method: "POST", Path: "/projects/proj/connectSessions", Body: body, Header: map[string]string{"Idempotency-Key": canaryValue("idem")}})
		if r.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		m := r.JSON(t)
		return m["id"].(string), m["url"].(string)
	}
	detailsID, detailsLink := create(obj{"intent": obj{"type": "updateUserFullName"}, "callbackUrl": callback,
		"userDetails": obj{"email": detailsEmail, "fullName": canaryName, "metadata": obj{"secret": clientToken}}})
	_, loginLink := create(obj{"intent": obj{"type": "viewSubscriptions"}, "callbackUrl": callback})
	expiredID, expiredLink := create(obj{"intent": obj{"type": "viewSubscriptions"}, "user": user, "callbackUrl": callback})
	_, noCallbackLink := create(obj{"intent": obj{"type": "viewSubscriptions"}, "user": user})
	apiDo(apitest.Request{Method: "GET", Path: "/projects/proj/connectSessions/" + detailsID})
	apiDo(apitest.Request{Method: "GET", Path: "/projects/proj/connectSessions?limit=5"})
	apiDo(apitest.Request{Method: "POST", Path: "/projects/proj/connectSessions/" + expiredID + "/expire"})

	// Portal: the confirmation page (its own token allowed there), entry,
	// the action, the link back.
	b1 := e.NewBrowser()
	page := b1.Get(detailsLink)
	allowed[tokenOf(detailsLink)] = true
	record("entry page (token masked)", &apitest.Response{Status: page.Status, Header: page.Header,
		Body: []byte(strings.ReplaceAll(string(page.Body), tokenOf(detailsLink), "<own token>"))})
	enter := b1.Post("/checkout/entry", url.Values{"session": {detailsID}, "token": {tokenOf(detailsLink)}})
	record("enter", enter)
	record("name page", b1.Follow(enter))
	done := b1.Post("/portal/name", url.Values{"full_name": {canaryName + " Jr"}})
	record("save name", done)
	record("done page", b1.Follow(done))
	record("continue", b1.Post("/portal/continue", nil))
	// Replays: the used link in another browser, the expired link, bad
	// tokens.
	b2 := e.NewBrowser()
	record("replay", b2.Get(detailsLink))
	record("replay post", b2.Post("/checkout/entry", url.Values{"session": {detailsID}, "token": {tokenOf(detailsLink)}}))
	record("expired", b2.Get(expiredLink))
	record("client token as token", b2.Get("/checkout/entry?session="+expiredID+"&token="+clientToken[:43]))
	record("no callback, bad token", b2.Get(strings.Replace(noCallbackLink, "token=", "token=x", 1)))
	// Hosted login with a code; wrong codes first.
	b3 := e.NewBrowser()
	ent := b3.Enter(loginLink)
	record("enter login", ent)
	record("login page", b3.Follow(ent))
	record("send code", b3.Post("/portal/login", url.Values{"email": {loginEmail}}))
	code := e.Mail.Code(loginEmail)
	if code == "" {
		t.Fatal("no login code sent")
	}
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	record("wrong code", b3.Post("/portal/login/code", url.Values{"code": {wrong}}))
	ok := b3.Post("/portal/login/code", url.Values{"code": {code}})
	record("right code", ok)
	record("subscriptions", b3.Follow(ok))
	record("exit", b3.Post("/portal/exit", nil))
	secrets["login code 1"] = "code=" + code // a bare 6-digit number could occur by chance

	// Errors with secrets in paths, queries, bodies and headers.
	for _, s := range []string{e.Key, clientToken, clientKey} {
		esc := url.PathEscape(s)
		qs := url.QueryEscape(s)
		for _, req := range []apitest.Request{
			{Method: "GET", Path: "/projects/proj/connectSessions/" + esc},
			{Method: "GET", Path: "/projects/" + esc + "/connectSessions"},
			{Method: "GET", Path: "/" + esc},
			{Method: "GET", Path: "/projects/proj/users/" + esc + "/x"},
			{Method: "GET", Path: "/projects/proj/connectSessions?token=" + qs},
			{Method: "GET", Path: "/projects/proj/connectSessions?" + qs + "=1"},
			{Method: "GET", Path: "/projects/proj/connectSessions?after=" + qs},
			{Method: "GET", Path: "/projects/proj/plans?user=" + qs},
			{Method: "GET", Path: "/healthz?key=" + qs},
			{Method: "POST", Path: "/projects/proj/connectSessions", Body: `{"intent":{"type":"` + s + `"}}`},
			{Method: "POST", Path: "/projects/proj/connectSessions", Body: `{"intent":{"type":"viewSubscriptions"},"` + s + `":1}`},
			{Method: "POST", Path: "/projects/proj/connectSessions", Body: `{"intent":{"type":"viewSubscriptions"},"x":{"` + s + `":1}}`},
			{Method: "POST", Path: "/projects/proj/connectSessions", Body: `{"intent":{"type":"viewSubscriptions"},"callbackUrl":"javascript:` + s + `"}`},
			{Method: "POST", Path: "/projects/proj/connectSessions", Body: `{"intent":{"type":"viewSubscriptions"},"callbackUrl":"https://` + s + `@evil.test"}`},
			{Method: "POST", Path: "/projects/proj/connectSessions", Body: `{"intent":{"type":"viewSubscriptions"},"user":"` + s + `"}`},
			{Method: "POST", Path: "/projects/proj/connectSessions", Body: `{"intent":{"type":"viewSubscriptions"},"userDetails":{"email":"` + s + `"}}`},
			{Method: "POST", Path: "/projects/proj/connectSessions", Body: `{"intent":{"type":"cancelSubscription","cancelSubscription":{"subscription":"` + s + `"}}}`},
			{Method: "POST", Path: "/projects/proj/connectSessions", Body: `{"intent":{"type":"viewSubscriptions"},"userDetails":{"email":"a@example.com","metadata":{"` + s + `":"v"}}}`},
			{Method: "POST", Path: "/projects/proj/connectSessions", Body: `{"` + s + `":` + "\xff}"},
			{Method: "POST", Path: "/projects/proj/connectSessions", Body: `{"` + s + `":1,"` + s + `":2}`},
			{Method: "POST", Path: "/projects/proj/users", Body: `{"email":"` + s + `@example.com","fullName":"` + s + "\n" + `"}`},
			{Method: "POST", Path: "/projects/proj/plans", Body: `{"name":"` + s + `","price":{"amount":"` + s + `","currency":"` + s + `"}}`},
			{Method: "POST", Path: "/projects/proj/paymentMethods", Body: `{"user":"` + user + `","type":"card","card":{"number":"4242424242424242","brand":"` + s + `"}}`},
			{Method: "POST", Path: "/projects/proj/connectSessions", Body: `{}`, Header: map[string]string{"Idempotency-Key": s + " x"}},
			{Method: "POST", Path: "/projects/proj/connectSessions", Body: `{}`, NoCType: true},
			{Method: "GET", Path: "/projects/proj/connectSessions", Key: s},
			{Method: "GET", Path: "/projects/other/connectSessions", Header: map[string]string{"X-Request-Id": s, "X-Forwarded-For": s,
				"Referer": "https://example.com/?" + s, "User-Agent": s, "Cookie": "connectd=" + s, "X-Api-Key": s}},
			{Method: s[:20], Path: "/projects/proj/connectSessions"},
		} {
			apiDo(req)
		}
		for _, b := range []*apitest.Browser{b1, b2, e.NewBrowser()} {
			record("portal path", b.Get("/checkout/entry/"+esc))
			record("portal query", b.Get("/checkout/entry?session="+qs+"&token="+qs))
			record("portal post", b.Post("/checkout/entry", url.Values{"session": {s}, "token": {s}, s: {s}}))
			record("portal login", b.Post("/portal/login", url.Values{"email": {s}}))
			record("portal name", b.Post("/portal/name", url.Values{"full_name": {s}}))
		}
	}
	// Metrics, when served.
	var metrics string
	if r := e.Do(apitest.Request{Method: "GET", Path: "/metrics", NoAuth: true}); r.Status == http.StatusOK {
		metrics = string(r.Body)
	} else {
		t.Logf("no /metrics (%d): not scanned", r.Status)
	}

	for i, tok := range tokens {
		secrets["session token "+string(rune('a'+i%26))+strings.Repeat("'", i/26)] = tok
	}
	logs := e.Logs.String()
	found := 0
	scan := func(where, text, what, value string) {
		if value == "" {
			return
		}
		if n := strings.Count(text, value); n > 0 {
			found += n
			i := strings.Index(text, value)
			t.Errorf("%s found %d times in %s: …%s…", what, n, where, text[max(0, i-200):min(len(text), i+len(value)+50)])
		}
	}
	checks := 0
	for what, v := range secrets {
		scan("the logs", logs, what, v)
		scan("/metrics", metrics, what, v)
		for _, c := range corpus {
			if allowed[v] && strings.HasPrefix(c, "entry page") {
				continue
			}
			scan("an answer", c, what, v)
		}
		checks++
	}
	for what, v := range personal {
		scan("the logs", logs, what, v)
		scan("/metrics", metrics, what, v)
		checks++
	}
	// The log lines are all JSON with a request id; no line holds a raw
	// Authorization or Cookie header.
	if regexp.MustCompile(`(?i)bearer |"cookie"|"authorization"`).MatchString(logs) {
		t.Errorf("the logs hold a header value")
	}
	t.Logf("secrets canary: %d canaries (%d secrets, %d personal), %d answers and %d log bytes scanned, %d found",
		checks, len(secrets), len(personal), len(corpus), len(logs), found)
	if found != 0 {
		t.Errorf("%d canary occurrences found, want 0", found)
	}
}
