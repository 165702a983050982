package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Create bodies: one per intent, all 13, each with the demo data that makes
// it pass the demo project's strict intent checks (the README's "Sessions
// for every intent"). Creating a session changes none of these resources, so
// every body passes again and again: cancelSubscription names the active
// subscription, resumeSubscription the canceled one, completePorting the
// porting that can be retried. The baseline takes the same bodies (it only
// checks the shape), so both servers decode the same bytes.
const demoUser = "usr_0DemoJerry000000000000000001"

var createBodies = func() [][]byte {
	intents := []string{
		`{"type":"cancelSubscription","cancelSubscription":{"subscription":"sub_0DemoActive00000000000000001"}}`,
		`{"type":"changeSubscription","changeSubscription":{"subscription":"sub_0DemoActive00000000000000001"}}`,
		`{"type":"checkoutAddon","checkoutAddon":{"subscription":"sub_0DemoActive00000000000000001","addons":["add_0DemoDataBoost00000000000001"]}}`,
		`{"type":"checkoutNewSubscription","checkoutNewSubscription":{"plan":"pln_0DemoMax00000000000000000001","sim":"sim_0DemoFreeEsim000000000000001","device":"dev_0DemoIphone00000000000000001","addons":["add_0DemoIntl0000000000000000001"]}}`,
		`{"type":"completePorting","completePorting":{"subscription":"sub_0DemoPortRetry00000000000001"}}`,
		`{"type":"confirmPayment","confirmPayment":{"payment":"pay_0DemoConfirm0000000000000001"}}`,
		`{"type":"resumeSubscription","resumeSubscription":{"subscription":"sub_0DemoCanceled000000000000001"}}`,
		`{"type":"updatePaymentMethod"}`,
		`{"type":"updateUserAddress"}`,
		`{"type":"updateUserFullName"}`,
		`{"type":"viewEsimInstallation","viewEsimInstallation":{"subscription":"sub_0DemoActive00000000000000001"}}`,
		`{"type":"viewSubscription","viewSubscription":{"subscription":"sub_0DemoActive00000000000000001"}}`,
		`{"type":"viewSubscriptions"}`,
	}
	out := make([][]byte, len(intents))
	for i, in := range intents {
		out[i] = []byte(`{"callbackUrl":"https://shop.example.com/account/connect?from=app","user":"` + demoUser + `","intent":` + in + `}`)
	}
	return out
}()

var scenarioNames = []string{"create", "get", "list", "entry", "mixed"}

// Endpoint names in results.
const (
	epCreate    = "create"
	epGet       = "get"
	epList      = "list"      // ?limit=10
	epListUser  = "list-user" // ?limit=10&user=
	epEntryGet  = "entry GET"
	epEntryPost = "entry POST"
	epEntry     = "entry" // the whole flow: connectd GET page + POST; baseline single GET
)

// target is a server under test.
type target struct {
	name    string // "connectd" or "baseline"
	base    *url.URL
	project string
	key     string
	pid     int
	client  *http.Client

	// connectd: sessions created before the runs; baseline: seeded IDs.
	getIDs []string
	// connectd: unconsumed (id, token) pairs, taken in order across runs.
	entryPool []entryLink
	entryNext atomic.Int64
	// connectd, mixed: sessions its creates made, for its entries (bounded).
	freshMu sync.Mutex
	fresh   []entryLink
	// baseline: seeded sessions cs_seed_%08d; entry consumes indices in order.
	seedN int
}

type entryLink struct{ id, token string }

func (t *target) isBaseline() bool { return t.name == "baseline" }

// Baseline seed data, as in ../shared/perf/wrk/get.lua and entry.lua.
func seedID(i int) string    { return fmt.Sprintf("cs_seed_%08d", i) }
func seedToken(i int) string { return fmt.Sprintf("seedtok_%08d_", i) + strings.Repeat("x", 26) }

// supports says whether the target has the scenario's endpoints.
func (t *target) supports(s string) bool {
	return !(t.isBaseline() && s == "list")
}

// worker is one connection's loop state and private statistics.
type worker struct {
	t    *target
	rng  *rand.Rand
	n    int
	eps  map[string]*epStats
	stop *atomic.Bool
	// exhausted: the last entry found no unused session and sent nothing.
	exhausted bool
}

type epStats struct {
	h      hist
	ok     uint64
	errors uint64
	codes  map[string]uint64 // unexpected statuses and transport errors, by kind
}

func (w *worker) ep(name string) *epStats {
	s := w.eps[name]
	if s == nil {
		s = &epStats{codes: map[string]uint64{}}
		w.eps[name] = s
	}
	return s
}

// do sends one request and reads the whole answer. It records the latency
// under ep, and success when the status is want.
func (w *worker) do(ctx context.Context, ep string, req *http.Request, want int, keep *[]byte) bool {
	st := w.ep(ep)
	t0 := time.Now()
	resp, err := w.t.client.Do(req.WithContext(ctx))
	if err != nil {
		st.h.record(time.Since(t0))
		st.errors++
		st.codes[errKind(err)]++
		return false
	}
	var rerr error
	if keep != nil {
		*keep, rerr = io.ReadAll(resp.Body)
	} else {
		_, rerr = io.Copy(io.Discard, resp.Body)
	}
	resp.Body.Close()
	st.h.record(time.Since(t0))
	if rerr != nil {
		st.errors++
		st.codes[errKind(rerr)]++
		return false
	}
	if resp.StatusCode != want {
		st.errors++
		st.codes[fmt.Sprintf("HTTP %d", resp.StatusCode)]++
		return false
	}
	st.ok++
	return true
}

func errKind(err error) string {
	s := err.Error()
	switch {
	case strings.Contains(s, "Client.Timeout") || strings.Contains(s, "deadline exceeded"):
		return "timeout"
	case strings.Contains(s, "connection refused"):
		return "connection refused"
	case strings.Contains(s, "connection reset"):
		return "connection reset"
	case strings.Contains(s, "EOF"):
		return "EOF"
	}
	return "transport error"
}

func (t *target) newReq(method, path string, body []byte) *http.Request {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, _ := http.NewRequest(method, t.base.String()+path, r)
	if strings.HasPrefix(path, "/projects/") {
		req.Header.Set("Authorization", "Bearer "+t.key)
	}
	if body != nil && method == "POST" && strings.HasPrefix(path, "/projects/") {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

func (t *target) sessionsPath() string {
	return "/projects/" + url.PathEscape(t.project) + "/connectSessions"
}

// Operations. Each returns whether it succeeded; its requests are recorded
// under their endpoint names.

func (w *worker) create(ctx context.Context) bool {
	body := createBodies[w.n%len(createBodies)]
	return w.do(ctx, epCreate, w.t.newReq("POST", w.t.sessionsPath(), body), http.StatusCreated, nil)
}

const maxFresh = 10000

// createForEntry is mixed's create on connectd: it keeps the new session's
// link so that a later entry of the same run can use it.
func (w *worker) createForEntry(ctx context.Context) bool {
	body := createBodies[w.n%len(createBodies)]
	var b []byte
	if !w.do(ctx, epCreate, w.t.newReq("POST", w.t.sessionsPath(), body), http.StatusCreated, &b) {
		return false
	}
	if l, err := parseLink(b); err == nil {
		t := w.t
		t.freshMu.Lock()
		if len(t.fresh) < maxFresh {
			t.fresh = append(t.fresh, l)
		}
		t.freshMu.Unlock()
	}
	return true
}

func (t *target) takeFresh() (entryLink, bool) {
	t.freshMu.Lock()
	defer t.freshMu.Unlock()
	if len(t.fresh) == 0 {
		return entryLink{}, false
	}
	l := t.fresh[len(t.fresh)-1]
	t.fresh = t.fresh[:len(t.fresh)-1]
	return l, true
}

func (w *worker) get(ctx context.Context) bool {
	ids := w.t.getIDs
	if len(ids) == 0 {
		w.ep(epGet).errors++
		w.ep(epGet).codes["no sessions to get"]++
		return false
	}
	id := ids[w.rng.IntN(len(ids))]
	return w.do(ctx, epGet, w.t.newReq("GET", w.t.sessionsPath()+"/"+id, nil), http.StatusOK, nil)
}

func (w *worker) list(ctx context.Context) bool {
	if w.n%2 == 0 {
		return w.do(ctx, epList, w.t.newReq("GET", w.t.sessionsPath()+"?limit=10", nil), http.StatusOK, nil)
	}
	return w.do(ctx, epListUser, w.t.newReq("GET", w.t.sessionsPath()+"?limit=10&user="+demoUser, nil), http.StatusOK, nil)
}

// entry is one browser entering a session: on connectd the confirmation
// page (GET, 200) and its form (POST, 303 with a cookie); on the baseline
// its single-use GET (303). Each consumes a session nobody used yet; when
// there are none left the run stops.
func (w *worker) entry(ctx context.Context) bool {
	t := w.t
	i := int(t.entryNext.Add(1) - 1)
	if t.isBaseline() {
		if i >= t.seedN {
			w.exhausted = true
			w.stop.Store(true)
			return false
		}
		req := t.newReq("GET", "/checkout/entry?session="+seedID(i)+"&token="+seedToken(i), nil)
		return w.do(ctx, epEntry, req, http.StatusSeeOther, nil)
	}
	if i >= len(t.entryPool) {
		w.exhausted = true
		w.stop.Store(true)
		return false
	}
	return w.enter(ctx, t.entryPool[i])
}

func (w *worker) enter(ctx context.Context, l entryLink) bool {
	t := w.t
	q := "session=" + url.QueryEscape(l.id) + "&token=" + url.QueryEscape(l.token)
	get := t.newReq("GET", "/checkout/entry?"+q, nil)
	get.Header.Set("Sec-Fetch-Site", "none")
	if !w.do(ctx, epEntryGet, get, http.StatusOK, nil) {
		return false
	}
	post := t.newReq("POST", "/checkout/entry", []byte(q))
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	post.Header.Set("Sec-Fetch-Site", "same-origin")
	post.Header.Set("Origin", t.base.Scheme+"://"+t.base.Host)
	return w.do(ctx, epEntryPost, post, http.StatusSeeOther, nil)
}

// mixed: 40 % create, 40 % get, 10 % list (get on the baseline, which has
// no list), 10 % entry. On connectd an entry enters a session an earlier
// create of the run made (else one of the entry pool, else it creates); on
// the baseline it consumes the next seeded session (else it gets).
func (w *worker) mixed(ctx context.Context) bool {
	switch r := w.rng.IntN(10); {
	case r < 4:
		if w.t.isBaseline() {
			return w.create(ctx)
		}
		return w.createForEntry(ctx)
	case r < 8:
		return w.get(ctx)
	case r < 9:
		if w.t.isBaseline() {
			return w.get(ctx)
		}
		return w.list(ctx)
	default:
		t := w.t
		if t.isBaseline() {
			if int(t.entryNext.Load()) >= t.seedN {
				return w.get(ctx)
			}
			i := int(t.entryNext.Add(1) - 1)
			if i >= t.seedN {
				return w.get(ctx)
			}
			return w.do(ctx, epEntry, t.newReq("GET", "/checkout/entry?session="+seedID(i)+"&token="+seedToken(i), nil), http.StatusSeeOther, nil)
		}
		if l, ok := t.takeFresh(); ok {
			return w.enter(ctx, l)
		}
		if i := int(t.entryNext.Load()); i < len(t.entryPool) {
			if i = int(t.entryNext.Add(1) - 1); i < len(t.entryPool) {
				return w.enter(ctx, t.entryPool[i])
			}
		}
		return w.createForEntry(ctx)
	}
}

func (w *worker) op(ctx context.Context, scenario string) bool {
	switch scenario {
	case "create":
		return w.create(ctx)
	case "get":
		return w.get(ctx)
	case "list":
		return w.list(ctx)
	case "entry":
		return w.entry(ctx)
	default:
		return w.mixed(ctx)
	}
}

// prepare creates the sessions the get, entry and mixed scenarios use
// (connectd), or lists the baseline's seeded ones.
func (t *target) prepare(ctx context.Context, conns, getPool, entryPool int, needGet, needEntry bool) error {
	if t.isBaseline() {
		n := getPool
		if n > t.seedN {
			n = t.seedN
		}
		t.getIDs = make([]string, n)
		for i := range t.getIDs {
			t.getIDs[i] = seedID(t.seedN - 1 - i) // the last ones: entry consumes from 0 up
		}
		return nil
	}
	want := 0
	if needGet {
		want += getPool
	}
	if needEntry {
		want += entryPool
	}
	if want == 0 {
		return nil
	}
	links := make([]entryLink, want)
	var next atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for c := 0; c < conns; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= want {
					return
				}
				l, err := t.createOne(ctx, createBodies[i%len(createBodies)])
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					next.Store(int64(want))
					return
				}
				links[i] = l
			}
		}(c)
	}
	wg.Wait()
	if firstErr != nil {
		return fmt.Errorf("%s: creating sessions for get/entry: %w", t.name, firstErr)
	}
	if needGet {
		for _, l := range links[:getPool] {
			t.getIDs = append(t.getIDs, l.id)
		}
		links = links[getPool:]
	}
	t.entryPool = links
	return nil
}

func (t *target) createOne(ctx context.Context, body []byte) (entryLink, error) {
	req := t.newReq("POST", t.sessionsPath(), body).WithContext(ctx)
	resp, err := t.client.Do(req)
	if err != nil {
		return entryLink{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return entryLink{}, err
	}
	if resp.StatusCode != http.StatusCreated {
		return entryLink{}, fmt.Errorf("create answered %d: %.300s", resp.StatusCode, b)
	}
	return parseLink(b)
}

// parseLink takes the session ID and the token of its url from a create answer.
func parseLink(b []byte) (entryLink, error) {
	var s struct {
		ID  string `json:"id"`
		URL string `json:"url"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return entryLink{}, fmt.Errorf("create answer: %v", err)
	}
	u, err := url.Parse(s.URL)
	if err != nil || u.Query().Get("token") == "" {
		return entryLink{}, fmt.Errorf("create answer: no token in url %q", s.URL)
	}
	return entryLink{id: s.ID, token: u.Query().Get("token")}, nil
}
