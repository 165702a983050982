package hostile

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/connectd/connectd/internal/apitest"
)

// TestSecurityHeadersCrawl requests every route (API, operations, portal
// pages and forms, static CSS, error answers: 401, 404, 405, 413, 415) and
// checks the security headers of each answer; HTML answers must also say
// Cache-Control: no-store.
func TestSecurityHeadersCrawl(t *testing.T) {
	w := newWorld(t)
	e := w.e
	_, link := e.CreateSession(obj{"intent": obj{"type": "viewSubscription", "viewSubscription": obj{"subscription": w.sub}}, "user": w.user})
	signedIn := e.NewBrowser()
	if r := signedIn.Enter(link); r.Status != http.StatusSeeOther {
		t.Fatalf("enter: %d", r.Status)
	}
	anon := e.NewBrowser()

	type req struct {
		method, path, body string
		browser            *apitest.Browser
		noAuth             bool
	}
	var reqs []req
	api := func(method, path, body string) {
		reqs = append(reqs, req{method: method, path: path, body: body})
		reqs = append(reqs, req{method: method, path: path, body: body, noAuth: true})
	}
	for _, p := range []string{"/healthz", "/readyz", "/openapi.json", "/metrics", "/", "/nope", "/projects", "/projects/proj"} {
		reqs = append(reqs, req{method: "GET", path: p, noAuth: true})
	}
	api("POST", w.p("/connectSessions"), `{"intent":{"type":"viewSubscriptions"}}`)
	api("GET", w.p("/connectSessions"), "")
	api("GET", w.p("/connectSessions/"+w.sess), "")
	api("PATCH", w.p("/connectSessions/"+w.sess), `{}`)
	api("DELETE", w.p("/connectSessions/"+w.sess), "")
	api("GET", w.p("/connectSessions/csn_0SNlurA049MEWV1GWxpaE5D0t2D6"), "")
	api("POST", w.p("/connectSessions"), `{`)
	api("POST", w.p("/connectSessions"), `{"a":"`+strings.Repeat("x", 70<<10)+`"}`)
	api("POST", w.p("/users"), `{"email":"crawl@example.com"}`)
	api("GET", w.p("/users"), "")
	api("GET", w.p("/users/"+w.user), "")
	api("PATCH", w.p("/users/"+w.user), `{}`)
	for _, k := range []struct{ path, id string }{{"plans", w.plan}, {"addons", w.addon}, {"sims", w.sim}, {"devices", w.device},
		{"subscriptions", w.sub}, {"paymentMethods", w.pm}, {"payments", w.payment}, {"portings", w.porting}} {
		api("GET", w.p("/"+k.path), "")
		api("POST", w.p("/"+k.path), `{}`)
		api("GET", w.p("/"+k.path+"/"+k.id), "")
		api("PATCH", w.p("/"+k.path+"/"+k.id), `{}`)
		api("PUT", w.p("/"+k.path+"/"+k.id), `{}`)
	}
	api("POST", w.p("/connectSessions/"+w.sess+"/expire"), "")
	reqs = append(reqs, req{method: "POST", path: w.p("/connectSessions"), body: `{}`, noAuth: false}) // 422
	pages := []string{"/checkout/entry", "/checkout/entry?session=x&token=y", "/portal/static/portal.css", "/portal/login", "/portal/done",
		"/portal/addons", "/portal/address", "/portal/change", "/portal/checkout", "/portal/esim", "/portal/name", "/portal/payment",
		"/portal/payment-methods", "/portal/porting", "/portal/subscription", "/portal/subscriptions", "/portal/nope"}
	forms := []string{"/checkout/entry", "/portal/addons", "/portal/address", "/portal/change", "/portal/checkout", "/portal/continue",
		"/portal/esim/done", "/portal/login", "/portal/login/code", "/portal/name", "/portal/payment-methods", "/portal/payment/confirm",
		"/portal/porting", "/portal/subscription/done", "/portal/subscriptions/done", "/portal/exit"}
	for _, b := range []*apitest.Browser{anon, signedIn} {
		for _, p := range pages {
			reqs = append(reqs, req{method: "GET", path: p, browser: b})
		}
		for _, p := range forms {
			reqs = append(reqs, req{method: "POST", path: p, body: "x=1", browser: b})
		}
	}
	// The entry page of a fresh link, and the exit last (it ends the session).
	_, link2 := e.CreateSession(obj{"intent": obj{"type": "viewSubscriptions"}})
	u, _ := url.Parse(link2)
	reqs = append(reqs, req{method: "GET", path: "/checkout/entry?" + u.RawQuery, browser: anon})

	html := 0
	for _, rq := range reqs {
		var r *apitest.Response
		switch {
		case rq.browser != nil && rq.method == "POST":
			v, _ := url.ParseQuery(rq.body)
			r = rq.browser.Post(rq.path, v)
		case rq.browser != nil:
			r = rq.browser.Get(rq.path)
		default:
			r = w.send(t, tc{method: rq.method, path: rq.path, body: rq.body, noAuth: rq.noAuth})
		}
		what := rq.method + " " + rq.path
		if len(what) > 80 {
			what = what[:80]
		}
		want := map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}
		for k, v := range want {
			if got := r.Header.Get(k); got != v {
				t.Errorf("%s (%d): %s = %q, want %q", what, r.Status, k, got, v)
			}
		}
		if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s (%d): Content-Security-Policy %q lacks frame-ancestors 'none'", what, r.Status, csp)
		}
		if r.Status >= 500 {
			t.Errorf("%s: %d", what, r.Status)
		}
		if strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
			html++
			if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
				t.Errorf("%s (%d): HTML page with Cache-Control %q, want no-store", what, r.Status, cc)
			}
		}
	}
	t.Logf("headers crawl: %d answers (%d HTML pages) checked", len(reqs), html)
}
