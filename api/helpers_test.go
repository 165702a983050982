package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/apitest"
)

// Shared test data. IDs in the documented format, as in the seeds.
const (
	subID  = "sub_0U32VAxJ0Z7P8Y40mBAnOP9LPhEr"
	plnID  = "pln_0U32ZjA60Z7P8Y5vLtmvXaIMEiPr"
	simID  = "sim_0U32TCTS0Z7P8Y4gBoN1duXbdi2m"
	devID  = "dev_0U32TCTS0Z7P8Y4gBoN1duXbdi2m"
	addID  = "add_0U32Zonj0Z7P8Y0kDmHNLzgaevse"
	add2ID = "add_0U32Zonj0Z7P8Y0kDmHNLzgaevsf"
	payID  = "pay_19XU2VA2J0Z7P8Y40mBAnOP9L1PAr" // 29 characters after the prefix, as in the seed
	// validIMEI is 15 digits with a valid Luhn check digit.
	validIMEI = "490154203237518"
)

var (
	sessionIDRe = regexp.MustCompile(`^csn_[0-9A-Za-z]{28}$`)
	userIDRe    = regexp.MustCompile(`^usr_[0-9A-Za-z]{28}$`)
	tokenRe     = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
)

// obj is a JSON object literal.
type obj = map[string]any

// plainIntent is the intent of tests that are not about intents: it
// references no platform resource.
func plainIntent() obj { return obj{"type": "viewSubscriptions"} }

// cancelIntent references subID, which seedWorld creates.
func cancelIntent() obj {
	return obj{"type": "cancelSubscription", "cancelSubscription": obj{"subscription": subID}}
}

// More resources of the test world.
const (
	pln2ID     = "pln_0U32ZjA60Z7P8Y5vLtmvXaIMUnlm"
	esimID     = "sim_0U32TCTS0Z7P8Y4gBoN1duXbESIM"
	subEndedID = "sub_0U32VAxJ0Z7P8Y40mBAnOP9LEndd"
	prtID      = "prt_0U32VAxJ0Z7P8Y40mBAnOP9LPort"
)

// seedJerry creates the user Jerry with the world seedWorld makes, and
// returns his ID: where most tests start.
func seedJerry(t *testing.T, e *apitest.Env) string {
	t.Helper()
	user := e.CreateUser("jerry@example.com")
	seedWorld(t, e, user)
	return user
}

// world names the resources seedWorld creates.
type world struct {
	plan, plan2, addon, addon2, sim, esim, device string
	sub, subEnded, porting, payment               string
}

// testWorld is the world of the tests, whose IDs they name as constants.
var testWorld = world{plan: plnID, plan2: pln2ID, addon: addID, addon2: add2ID, sim: simID, esim: esimID, device: devID,
	sub: subID, subEnded: subEndedID, porting: prtID, payment: payID}

// freshWorld is a world of new IDs: many can live in one project.
func freshWorld() world {
	id := connectd.NewID
	return world{plan: id(connectd.PrefixPlan), plan2: id(connectd.PrefixPlan), addon: id(connectd.PrefixAddon),
		addon2: id(connectd.PrefixAddon), sim: id(connectd.PrefixSIM), esim: id(connectd.PrefixSIM), device: id(connectd.PrefixDevice),
		sub: id(connectd.PrefixSubscription), subEnded: id(connectd.PrefixSubscription), porting: id(connectd.PrefixPorting),
		payment: id(connectd.PrefixPayment)}
}

// seedWorld creates testWorld, owned by user.
func seedWorld(t *testing.T, e *apitest.Env, user string) { seedWorldOf(t, e, user, testWorld) }

// seedWorldOf creates w, owned by user, so that a session of every intent
// passes the platform's existence, ownership and strict-state checks: an
// active recurring subscription (sub) on plan with an eSIM, a waiting
// porting and a payment to confirm; an ended one (subEnded) to resume; an
// available SIM, a device, another active plan and two add-ons for plan.
func seedWorldOf(tb testing.TB, e *apitest.Env, user string, w world) world {
	tb.Helper()
	pf := e.Service.Platform
	ctx := context.Background()
	p := e.Project
	now := time.Now().UTC().Truncate(time.Millisecond)
	must := func(what string, err error) {
		tb.Helper()
		if err != nil {
			tb.Fatalf("seed %s: %v", what, err)
		}
	}
	str := func(s string) *string { return &s }
	price := connectd.Price{Amount: 1500, Currency: "USD"}
	recurring := connectd.Validity{Type: connectd.ValidityRecurring}
	must("plan", pf.Plans().Create(ctx, p, &connectd.Plan{ID: w.plan, Name: "Basic", Status: connectd.PlanActive, Price: price, Validity: recurring, CreatedAt: now}))
	must("plan 2", pf.Plans().Create(ctx, p, &connectd.Plan{ID: w.plan2, Name: "Unlimited", Status: connectd.PlanActive, Price: price, Validity: recurring, CreatedAt: now}))
	for _, id := range []string{w.addon, w.addon2} {
		must("addon", pf.Addons().Create(ctx, p, &connectd.Addon{ID: id, Name: "1 GB", Status: connectd.PlanActive, Price: price, Plans: []string{w.plan}, CreatedAt: now}))
	}
	must("sim", pf.SIMs().Create(ctx, p, &connectd.SIM{ID: w.sim, Type: connectd.SIMTypePSIM, ICCID: "8901260000000000001", Status: connectd.SIMAvailable, CreatedAt: now}))
	must("esim", pf.SIMs().Create(ctx, p, &connectd.SIM{ID: w.esim, Type: connectd.SIMTypeESIM, ICCID: "8901260000000000002",
		Status: connectd.SIMAssigned, ActivationCode: str("LPA:1$smdp.example.com$MATCHING-ID"), CreatedAt: now}))
	must("device", pf.Devices().Create(ctx, p, &connectd.Device{ID: w.device, User: &user, Manufacturer: "Apple", Model: "iPhone 15", EsimCapable: true, CreatedAt: now}))
	must("subscription", pf.Subscriptions().Create(ctx, p, &connectd.Subscription{ID: w.sub, User: user, Plan: w.plan, SIM: str(w.esim),
		PhoneNumber: str("+15555550100"), Status: connectd.SubscriptionActive, Recurring: true, CreatedAt: now}))
	ended := now.Add(-time.Hour)
	must("ended subscription", pf.Subscriptions().Create(ctx, p, &connectd.Subscription{ID: w.subEnded, User: user, Plan: w.plan,
		Status: connectd.SubscriptionActive, Recurring: true, EndedAt: &ended, CreatedAt: now}))
	must("porting", pf.Portings().Create(ctx, p, &connectd.Porting{ID: w.porting, Subscription: w.sub,
		PhoneNumber: "+15555550199", Status: connectd.PortingDraft, CreatedAt: now}))
	must("payment", pf.Payments().Create(ctx, p, &connectd.Payment{ID: w.payment, User: user, Subscription: str(w.sub), Amount: 1500,
		Currency: "USD", Status: connectd.PaymentRequiresConfirmation, CreatedAt: now}))
	return w
}

// newEnv starts a server on backend b.
func newEnv(t *testing.T, b apitest.Backend) *apitest.Env {
	t.Helper()
	return apitest.New(t, apitest.Options{Backend: b})
}

// eachBackend runs f as a parallel subtest per backend, each with a fresh
// server and project (newEnv).
func eachBackend(t *testing.T, f func(t *testing.T, e *apitest.Env)) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) { f(t, newEnv(t, b)) })
}

// detail is one expected entry of an error's details.
type detail struct{ field, code string }

// wantError checks that r is the error object with the given status, type
// and code ("" = no code expected to be checked), and that every given
// detail is listed (code "" matches any code). It returns the decoded body.
func wantError(t *testing.T, r *apitest.Response, status int, typ, code string, details ...detail) obj {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d; body: %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	m := r.JSON(t)
	if m["object"] != "error" {
		t.Errorf("object = %v, want error; body: %s", m["object"], r.Body)
	}
	if m["type"] != typ {
		t.Errorf("type = %v, want %s; body: %s", m["type"], typ, r.Body)
	}
	if code != "" && m["code"] != code {
		t.Errorf("code = %v, want %s; body: %s", m["code"], code, r.Body)
	}
	if msg, _ := m["message"].(string); msg == "" {
		t.Errorf("message is empty; body: %s", r.Body)
	}
	got := detailsOf(t, m)
	for _, d := range details {
		found := false
		for _, g := range got {
			if g.field == d.field && (d.code == "" || g.code == d.code) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("details lack {field %q, code %q}; got %v; body: %s", d.field, d.code, got, r.Body)
		}
	}
	return m
}

// detailsOf returns the details of an error body, checking their shape.
func detailsOf(t *testing.T, m obj) []detail {
	t.Helper()
	raw, ok := m["details"]
	if !ok || raw == nil {
		return nil
	}
	list, ok := raw.([]any)
	if !ok {
		t.Fatalf("details is %T, want an array", raw)
	}
	out := make([]detail, 0, len(list))
	for _, it := range list {
		d, ok := it.(map[string]any)
		if !ok {
			t.Fatalf("detail is %T, want an object", it)
		}
		f, _ := d["field"].(string)
		c, _ := d["code"].(string)
		msg, _ := d["message"].(string)
		if c == "" || msg == "" {
			t.Errorf("detail %v lacks a code or message", d)
		}
		out = append(out, detail{f, c})
	}
	return out
}

// want422 is wantError for validation failures.
func want422(t *testing.T, r *apitest.Response, details ...detail) obj {
	t.Helper()
	return wantError(t, r, http.StatusUnprocessableEntity, "unprocessableEntity", "", details...)
}

// wantStatus fails unless r has the given status.
func wantStatus(t *testing.T, r *apitest.Response, status int) obj {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d; body: %s", r.Status, status, r.Body)
	}
	return r.JSON(t)
}

// createSession posts body and requires a 201.
func createSession(t *testing.T, e *apitest.Env, body any) obj {
	t.Helper()
	r := e.Post("/connectSessions", body)
	if r.Status != http.StatusCreated {
		t.Fatalf("create session: %d %s", r.Status, r.Body)
	}
	return r.JSON(t)
}

// entryToken checks that u is the entry url of session id on e and returns
// its token.
func entryToken(t *testing.T, e *apitest.Env, u any, id string) string {
	t.Helper()
	s, ok := u.(string)
	if !ok {
		t.Fatalf("url = %v (%T), want a string", u, u)
	}
	prefix := e.URL + "/checkout/entry?session=" + id + "&token="
	if !strings.HasPrefix(s, prefix) {
		t.Fatalf("url = %q, want prefix %q", s, prefix)
	}
	pu, err := url.Parse(s)
	if err != nil {
		t.Fatalf("url %q: %v", s, err)
	}
	q := pu.Query()
	if len(q) != 2 || q.Get("session") != id {
		t.Fatalf("url %q: query must be exactly session and token", s)
	}
	tok := q.Get("token")
	if !tokenRe.MatchString(tok) || tok != s[len(prefix):] {
		t.Fatalf("url token %q is not 43 base64url characters", tok)
	}
	return tok
}

// consume tries to use a session's url token the way the portal does.
func consume(e *apitest.Env, id, token string) error {
	_, err := e.Store.ConsumeToken(context.Background(), id, connectd.HashToken(token), time.Now())
	return err
}

// mustConsume requires the token to work.
func mustConsume(t *testing.T, e *apitest.Env, id, token string) {
	t.Helper()
	if err := consume(e, id, token); err != nil {
		t.Fatalf("token of %s does not consume: %v", id, err)
	}
}

// mustNotConsume requires the token to be dead.
func mustNotConsume(t *testing.T, e *apitest.Env, id, token string) {
	t.Helper()
	if err := consume(e, id, token); err == nil {
		t.Fatalf("token of %s still consumes", id)
	}
}

// projectPath returns the path of a project resource.
func projectPath(project, rest string) string { return "/projects/" + project + rest }

// sessionFields are the fields every session object has, always.
var sessionFields = []string{"object", "id", "callbackUrl", "intent", "url", "user", "appearance", "status", "createdAt", "expiresAt"}

// checkObject checks that o has exactly the documented fields and is the
// object named kind.
func checkObject(t *testing.T, o obj, kind string, fields []string) {
	t.Helper()
	for _, f := range fields {
		if _, ok := o[f]; !ok {
			t.Errorf("%s lacks field %q: %v", kind, f, o)
		}
	}
	if len(o) != len(fields) {
		t.Errorf("%s has %d fields, want exactly %v: %v", kind, len(o), fields, o)
	}
	if o["object"] != kind {
		t.Errorf("object = %v, want %s", o["object"], kind)
	}
}

// checkSessionShape checks the documented shape of a session object.
func checkSessionShape(t *testing.T, s obj) {
	t.Helper()
	checkObject(t, s, "connectSession", sessionFields)
	id, _ := s["id"].(string)
	if !sessionIDRe.MatchString(id) {
		t.Errorf("id %q is not csn_ + 28 base62 characters", id)
	}
	in, ok := s["intent"].(map[string]any)
	if !ok {
		t.Fatalf("intent = %v", s["intent"])
	}
	typ, _ := in["type"].(string)
	it := connectd.IntentType(typ)
	if !it.Valid() {
		t.Errorf("intent.type = %q", typ)
	}
	want := 1
	if it.HasPayload() {
		want = 2
		if _, ok := in[typ].(map[string]any); !ok {
			t.Errorf("intent lacks its payload object %q: %v", typ, in)
		}
	}
	if len(in) != want {
		t.Errorf("intent has %d members, want type and only its payload: %v", len(in), in)
	}
	for _, f := range []string{"createdAt", "expiresAt"} {
		v, _ := s[f].(string)
		if _, err := time.Parse(time.RFC3339, v); err != nil {
			t.Errorf("%s = %q is not RFC 3339", f, v)
		}
	}
	switch s["status"] {
	case "open", "active", "completed", "aborted", "failed", "expired":
	default:
		t.Errorf("status = %v", s["status"])
	}
}

// jsonString returns v as compact JSON, for messages.
func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// noInternals fails when a body shows driver or SQL text.
func noInternals(t *testing.T, what string, body []byte) {
	t.Helper()
	low := strings.ToLower(string(body))
	for _, bad := range []string{"sql", "database", "select", "closed", "pgx", "sqlite", "postgres", "panic", "goroutine", "nil pointer"} {
		if strings.Contains(low, bad) {
			t.Errorf("%s: body leaks %q: %s", what, bad, body)
		}
	}
}

func itoa(i int) string { return fmt.Sprint(i) }

// rawDo sends a request built by hand: body is sent as is (a reader of
// unknown length goes out chunked), and hdr is copied verbatim, repeated
// values included. The API key is added unless hdr sets Authorization.
func rawDo(t *testing.T, e *apitest.Env, method, path string, body io.Reader, hdr http.Header) *apitest.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, e.URL+path, body)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if _, ok := hdr["Authorization"]; !ok {
		req.Header.Set("Authorization", "Bearer "+e.Key)
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	resp, err := e.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return &apitest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// doWithHeaders sends req (its Body must be nil, a string or a JSON value)
// with extra raw headers.
func doWithHeaders(t *testing.T, e *apitest.Env, req apitest.Request, extra http.Header) *apitest.Response {
	t.Helper()
	var body io.Reader
	switch v := req.Body.(type) {
	case nil:
	case string:
		body = strings.NewReader(v)
	default:
		body = strings.NewReader(jsonString(v))
	}
	hdr := http.Header{}
	if body != nil {
		hdr.Set("Content-Type", "application/json")
	}
	for k, vs := range extra {
		hdr[http.CanonicalHeaderKey(k)] = vs
	}
	return rawDo(t, e, req.Method, req.Path, body, hdr)
}
