package hostile

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connectd/connectd/internal/apitest"
)

type obj = map[string]any

// world is one running server (SQLite) with one resource of every kind,
// created through the API, for the tests to aim at.
type world struct {
	e                                                   *apitest.Env
	user, user2, sess                                   string
	plan, addon, sim, device, sub, pm, payment, porting string
}

const validIMEI = "490154203237518"

func newWorld(t *testing.T) *world {
	t.Helper()
	e := apitest.New(t, apitest.Options{})
	if e.Service.Platform == nil {
		t.Fatal("the SQLite store keeps no platform resources")
	}
	w := &world{e: e, user: e.CreateUser("a@example.com"), user2: e.CreateUser("b@example.com")}
	create := func(path string, body obj) string {
		t.Helper()
		r := e.Post(path, body)
		if r.Status != http.StatusCreated {
			t.Fatalf("POST %s: %d %s", path, r.Status, r.Body)
		}
		return r.JSON(t)["id"].(string)
	}
	w.plan = create("/plans", obj{"name": "Basic", "status": "active", "price": obj{"amount": 1500, "currency": "USD"}})
	w.addon = create("/addons", obj{"name": "1 GB", "status": "active", "price": obj{"amount": 500, "currency": "USD"}, "plans": []string{w.plan}})
	w.sim = create("/sims", obj{"type": "eSIM", "iccid": "8988247000101234567", "activationCode": "LPA:1$smdp.example.com$K2-1ABCD-EFGH"})
	w.device = create("/devices", obj{"user": w.user, "manufacturer": "Apple", "model": "iPhone 15", "esimCapable": true, "imei": validIMEI})
	w.sub = create("/subscriptions", obj{"user": w.user, "plan": w.plan, "sim": w.sim, "phoneNumber": "+14155550123", "status": "active", "recurring": true})
	w.pm = create("/paymentMethods", obj{"user": w.user, "type": "card", "card": obj{"brand": "visa", "last4": "4242", "expMonth": 12, "expYear": 2030}})
	w.payment = create("/payments", obj{"user": w.user, "subscription": w.sub, "amount": 1500, "currency": "USD"})
	w.porting = create("/portings", obj{"subscription": w.sub, "phoneNumber": "+14155550199"})
	w.sess = create("/connectSessions", obj{"intent": obj{"type": "viewSubscriptions"}})
	return w
}

// p returns the project path of rest.
func (w *world) p(rest string) string { return "/projects/" + w.e.Project + rest }

// tc is one malformed request and the answer it must get.
type tc struct {
	name   string
	method string
	path   string // absolute, with the query
	body   string
	ctype  string // "" = application/json when there is a body; "-" = none
	header map[string]string
	noAuth bool
	// redirect: the router first answers 307 to the cleaned path, where
	// the request then gets status.
	redirect bool

	status int
	code   string // the error's code
	field  string // a detail that must be listed ("" = none checked)
	fcode  string // that detail's code ("" = any)
}

var typeOf = map[int]string{
	400: "badRequest", 401: "unauthenticated", 403: "forbidden", 404: "notFound", 405: "methodNotAllowed",
	409: "conflict", 413: "payloadTooLarge", 415: "unsupportedMediaType", 422: "unprocessableEntity", 429: "tooManyRequests",
}

// tally counts answers across a test, 5xx ones apart.
type tally struct{ total, fiveXX atomic.Int64 }

func (c *tally) add(status int) {
	c.total.Add(1)
	if status >= 500 {
		c.fiveXX.Add(1)
	}
}

// send sends one case over real HTTP.
func (w *world) send(t *testing.T, c tc) *apitest.Response {
	t.Helper()
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req, err := http.NewRequest(c.method, w.e.URL+c.path, body)
	if err != nil {
		t.Fatalf("%s: new request: %v", c.name, err)
	}
	if !c.noAuth {
		req.Header.Set("Authorization", "Bearer "+w.e.Key)
	}
	switch {
	case c.ctype == "-":
	case c.ctype != "":
		req.Header.Set("Content-Type", c.ctype)
	case c.body != "":
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range c.header {
		req.Header[k] = []string{v}
	}
	return apitest.Send(t, w.e.Client, req)
}

// check compares an answer with what case c expects: the status, and the
// documented error object with its type, code and named detail.
func check(t *testing.T, c tc, r *apitest.Response) {
	t.Helper()
	if r.Status != c.status {
		t.Errorf("%s: %s %.120q: status %d, want %d: %.300s", c.name, c.method, c.path, r.Status, c.status, r.Body)
		return
	}
	checkErrorBody(t, c.name, r, c.status, c.code, c.field, c.fcode)
}

func checkErrorBody(t *testing.T, name string, r *apitest.Response, status int, code, field, fcode string) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q, want application/json", name, ct)
	}
	var e struct {
		Object, Type, Code, Message string
		Details                     []struct{ Field, Code, Message string }
	}
	if err := json.Unmarshal(r.Body, &e); err != nil {
		t.Errorf("%s: body is not the error object: %v: %.300s", name, err, r.Body)
		return
	}
	if e.Object != "error" || e.Type != typeOf[status] || e.Message == "" {
		t.Errorf("%s: error object %+v, want object error, type %s and a message", name, e, typeOf[status])
	}
	if e.Code != code {
		t.Errorf("%s: code %q, want %q: %.300s", name, e.Code, code, r.Body)
	}
	if field == "" {
		return
	}
	for _, d := range e.Details {
		if d.Field == field && (fcode == "" || d.Code == fcode) && d.Message != "" {
			return
		}
	}
	t.Errorf("%s: details lack field %q (code %q): %.400s", name, field, fcode, r.Body)
}

// rawExchange writes raw bytes, then rest, on a new connection to the
// server and reads the first answer. It returns nil when the server closed
// the connection without answering.
func (w *world) rawExchange(t *testing.T, raw []byte, rest io.Reader) *apitest.Response {
	t.Helper()
	addr := strings.TrimPrefix(w.e.URL, "http://")
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	// Write in the background: the server may answer (413) and close
	// before the whole body went out.
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := conn.Write(raw); err != nil {
			return
		}
		if rest != nil {
			io.Copy(conn, rest)
		}
	}()
	defer func() { conn.Close(); <-done }()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return &apitest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// rawRequest builds an HTTP/1.1 request by hand; header lines are written
// as given, so they may hold anything.
func rawRequest(method, target string, headers []string, body string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: connectd.test\r\nConnection: close\r\n", method, target)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	return []byte(b.String())
}

// chunked encodes data as one HTTP/1.1 chunked body of chunks of n bytes.
func chunked(data []byte, n int) []byte {
	var b strings.Builder
	for len(data) > 0 {
		k := min(n, len(data))
		fmt.Fprintf(&b, "%x\r\n%s\r\n", k, data[:k])
		data = data[k:]
	}
	b.WriteString("0\r\n\r\n")
	return []byte(b.String())
}
