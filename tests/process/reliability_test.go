package process

// Reliability tests of the connectd binary as real processes on loopback:
// exactly-once token consumption, user association and idempotent creates
// under concurrency (several instances on one PostgreSQL, one on SQLite),
// crash safety under SIGKILL, graceful shutdown under load, and slow
// clients. Every test is bounded in requests and time; -short shrinks them.
// The figures they log ("figure: ...", with go test -v) are recorded in
// docs/reliability.md.

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/connectd/connectd/internal/apitest"
	"github.com/connectd/connectd/internal/proctest"
	"github.com/connectd/connectd/store/postgres/pgtest"
)

func TestMain(m *testing.M) { os.Exit(proctest.Main(m)) }

// relEnv is the environment of every serve of these tests: rate limits
// off (the load comes from one address and one key on purpose). A build
// without those flags ignores the variables.
var relEnv = []string{"CONNECTD_API_RATE=0", "CONNECTD_PORTAL_RATE=0"}

const (
	relProject  = "acme"
	relCallback = "https://app.example.com/done"
	relIntent   = "updateUserFullName"
	relDest     = "/portal/name" // the portal page of relIntent
)

// sizes returns full unless -short, when it returns short.
func sizes(full, short int) int {
	if testing.Short() {
		return short
	}
	return full
}

// figure logs one figure for docs/reliability.md.
func figure(t *testing.T, name string, value any) {
	t.Helper()
	t.Logf("figure: %s = %v", name, value)
}

// relSetup migrates db, creates project acme and returns an API key of it.
func relSetup(t *testing.T, dir, db string) string {
	t.Helper()
	for _, args := range [][]string{{"migrate", "--db", db}, {"projects", "create", "--db", db, "--id", relProject, "--name", "Acme"}} {
		if r := proctest.RunCLI(t, dir, nil, args...); r.Code != 0 {
			t.Fatalf("%s", r)
		}
	}
	r := proctest.RunCLI(t, dir, nil, "keys", "create", "--db", db, "--project", relProject)
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	if r.Code != 0 || len(lines) == 0 {
		t.Fatalf("keys create: %s", r)
	}
	return lines[len(lines)-1]
}

// relServe starts serve on db with the binary under test.
func relServe(t *testing.T, dir, db string, extra ...string) *proctest.Proc {
	t.Helper()
	return serveWith(t, proctest.Bin, dir, db, extra...)
}

// loadServe starts serve on db for a load test: with loadBin, which is
// built without the race detector. Under it the pure-Go SQLite runs more
// than ten times slower, and thousands of requests turn into timeouts.
// The other end-to-end tests and the graceful and slow-client tests here
// keep running the race-checked binary.
func loadServe(t *testing.T, dir, db string, extra ...string) *proctest.Proc {
	t.Helper()
	return serveWith(t, loadBin(t), dir, db, extra...)
}

var (
	loadBinOnce sync.Once
	loadBinPath string
	loadBinErr  error
)

// loadBin returns the connectd binary without the race detector: bin
// itself unless this test binary runs with -race, else one built once, next
// to bin (so TestMain removes it).
func loadBin(t *testing.T) string {
	t.Helper()
	loadBinOnce.Do(func() {
		if !proctest.RaceEnabled() {
			loadBinPath = proctest.Bin
			return
		}
		loadBinPath = proctest.Bin + "-norace"
		loadBinErr = proctest.Build(loadBinPath)
	})
	if loadBinErr != nil {
		t.Fatal(loadBinErr)
	}
	return loadBinPath
}

// serveWith starts serve from binary on db on a free loopback port, with
// rate limits off, and waits until it is serving; it is killed when the
// test ends.
func serveWith(t *testing.T, binary, dir, db string, extra ...string) *proctest.Proc {
	t.Helper()
	args := append([]string{"serve", "--db", db, "--addr", "127.0.0.1:0"}, extra...)
	p := proctest.StartBinary(t, binary, dir, relEnv, args...)
	t.Cleanup(func() {
		if t.Failed() {
			logProblems(t, p)
		}
	})
	proctest.WaitServing(t, p)
	return p
}

// logProblems logs what a server logged above info level: the first
// lines, which are the ones that explain.
func logProblems(t *testing.T, p *proctest.Proc) {
	n := 0
	for _, line := range strings.Split(p.Stderr.String(), "\n") {
		var l struct{ Level, Msg string }
		if json.Unmarshal([]byte(line), &l) == nil && (l.Level == "INFO" || l.Level == "DEBUG" || strings.HasPrefix(l.Msg, "session url replayed")) {
			continue
		}
		if line = strings.TrimSpace(line); line != "" {
			if n++; n > 20 {
				t.Logf("server %s: ... more", p.PublicURL)
				return
			}
			t.Logf("server %s: %.1000s", p.PublicURL, line)
		}
	}
}

// relTransport returns a transport for many concurrent requests to a few
// hosts. Clients made on it have no cookie jar: every request is a browser
// of its own.
func relTransport() *http.Transport {
	return &http.Transport{
		DialContext:         (&net.Dialer{Timeout: proctest.RequestTimeout}).DialContext,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 512,
		IdleConnTimeout:     30 * time.Second,
	}
}

func relClient(tr http.RoundTripper) *http.Client {
	return &http.Client{Transport: tr, Timeout: proctest.RequestTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// answer is one HTTP exchange as a goroutine sees it: no t.Fatal there.
type answer struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
	err    error
}

func (a answer) String() string {
	if a.err != nil {
		return a.err.Error()
	}
	return fmt.Sprintf("%d %s %.300s", a.status, a.header.Get("Location"), a.body)
}

func (a answer) str(k string) string { s, _ := a.json[k].(string); return s }

// call sends a JSON API request (a nil key sends none).
func call(c *http.Client, method, u, key, body string, header map[string]string) answer {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		return answer{err: err}
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return doReq(c, req)
}

func doReq(c *http.Client, req *http.Request) answer {
	var conn httptrace.GotConnInfo
	var wrote atomic.Bool
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		GotConn:      func(i httptrace.GotConnInfo) { conn = i },
		WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(true) },
	}))
	started := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		// How the connection was got tells a server that closed a
		// kept-alive connection from one that dropped a request.
		if conn.Conn != nil {
			err = fmt.Errorf("%w (connection reused %v, idle %s, local %s, request written %v, after %s)",
				err, conn.Reused, conn.IdleTime, conn.Conn.LocalAddr(), wrote.Load(), time.Since(started).Round(time.Millisecond))
		}
		return answer{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{err: err}
	}
	a := answer{status: resp.StatusCode, header: resp.Header, body: b}
	json.Unmarshal(b, &a.json)
	return a
}

// enter sends the confirmation page's POST, which consumes the token, from
// a fresh client: no cookies, no redirects followed.
func enter(tr http.RoundTripper, base, id, token string) answer {
	form := url.Values{"session": {id}, "token": {token}}
	req, err := http.NewRequest("POST", base+"/checkout/entry", strings.NewReader(form.Encode()))
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return doReq(relClient(tr), req)
}

// entryKind classifies an answer to the entry POST.
type entryKind int

const (
	entryOther   entryKind = iota
	entryWon               // 303 to the intent's page
	entryExpired           // 303 to the callback with status=auth_expired
)

func classifyEntry(a answer, id string) entryKind {
	if a.err != nil || a.status != http.StatusSeeOther {
		return entryOther
	}
	loc := a.header.Get("Location")
	if loc == relDest {
		return entryWon
	}
	u, err := url.Parse(loc)
	if err == nil && strings.HasPrefix(loc, relCallback+"?") && u.Query().Get("status") == "auth_expired" && u.Query().Get("session_id") == id {
		return entryExpired
	}
	return entryOther
}

// tokenOf returns the token of a session url.
func tokenOf(a answer) string {
	u, err := url.Parse(a.str("url"))
	if err != nil {
		return ""
	}
	return u.Query().Get("token")
}

// createUser creates a user over the API and returns its ID.
func createUser(t *testing.T, c *http.Client, base, key, email string) string {
	t.Helper()
	a := call(c, "POST", base+"/projects/"+relProject+"/users", key, `{"email":"`+email+`"}`, nil)
	if a.status != http.StatusCreated || a.str("id") == "" {
		t.Fatalf("create user %s: %s", email, a)
	}
	return a.str("id")
}

func sessionBody(user string) string {
	return `{"callbackUrl":"` + relCallback + `","intent":{"type":"` + relIntent + `"},"user":"` + user + `"}`
}

// parallel runs f(i) for i in [0, n) on at most workers goroutines.
func parallel(n, workers int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				f(i)
			}
		}()
	}
	wg.Wait()
}

// Exactly once.

// TestReliabilityExactlyOnce runs the concurrency checks on three serve
// processes sharing one PostgreSQL schema and on one serve on SQLite.
func TestReliabilityExactlyOnce(t *testing.T) {
	t.Parallel()
	concurrently(t, map[string]func(t *testing.T){
		"postgres": func(t *testing.T) { exactlyOnce(t, t.TempDir(), pgtest.URL(t), 3) },
		"sqlite": func(t *testing.T) {
			dir := t.TempDir()
			exactlyOnce(t, dir, "sqlite:"+filepath.Join(dir, "connectd.db"), 1)
		},
	})
}

// concurrently runs subtests all at once and waits for them. They are not
// parallel subtests, which would each wait for one of go test's -parallel
// slots (GOMAXPROCS of them): these tests mostly wait on fsync, not on CPU,
// and run in a fraction of the time side by side.
func concurrently(t *testing.T, subtests map[string]func(t *testing.T)) {
	var wg sync.WaitGroup
	for name, f := range subtests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(name, f)
		}()
	}
	wg.Wait()
}

func exactlyOnce(t *testing.T, dir, db string, instances int) {
	key := relSetup(t, dir, db)
	var bases []string
	for i := 0; i < instances; i++ {
		bases = append(bases, loadServe(t, dir, db).PublicURL)
	}
	t.Run("entry", func(t *testing.T) { entryOnce(t, bases, key) })
	t.Run("associate", func(t *testing.T) { associateOnce(t, bases, key) })
	t.Run("idempotent", func(t *testing.T) { idempotentOnce(t, bases, key) })
}

// entryOnce: for each token, many concurrent consuming POSTs spread over
// the instances; exactly one gets the intent's page, every other one the
// auth_expired answer, none a 5xx.
func entryOnce(t *testing.T, bases []string, key string) {
	// Waves of 5 tokens: 250 requests at once. Larger waves starve the
	// race-instrumented test process on a busy 2-CPU machine until the
	// server's 5 s ReadHeaderTimeout closes connections it did not get
	// to write on, which is the client's failure, not the server's.
	tokens, attempts, wave := sizes(200, 20), sizes(50, 20), 5
	tr := relTransport()
	defer tr.CloseIdleConnections()
	api := relClient(tr)
	// Each consuming POST comes from a browser of its own: no cookies and
	// a connection of its own.
	browsers := relTransport()
	browsers.DisableKeepAlives = true
	user := createUser(t, api, bases[0], key, "entry-"+proctest.RandomString(6)+"@example.com")

	type sess struct{ id, token string }
	sessions := make([]sess, tokens)
	var createErr atomic.Value
	parallel(tokens, 8, func(i int) {
		body := sessionBody(user)
		if i%2 == 1 { // the user is created when the session is entered
			body = `{"callbackUrl":"` + relCallback + `","intent":{"type":"` + relIntent + `"},"userDetails":{"email":"entry-` +
				strconv.Itoa(i) + "-" + proctest.RandomString(6) + `@example.com","fullName":"Entry ` + strconv.Itoa(i) + `"}}`
		}
		a := call(api, "POST", bases[0]+"/projects/"+relProject+"/connectSessions", key, body, nil)
		if a.status != http.StatusCreated || tokenOf(a) == "" {
			createErr.Store(fmt.Sprintf("create session #%d: %s", i, a))
			return
		}
		sessions[i] = sess{a.str("id"), tokenOf(a)}
	})
	if e := createErr.Load(); e != nil {
		t.Fatal(e)
	}

	start := time.Now()
	var winners, expired, fivexx, others atomic.Int64
	var problems sync.Map // session index -> description
	for w := 0; w < tokens; w += wave {
		end := min(w+wave, tokens)
		// Every attempt on every token of the wave, released together.
		flat := apitest.AtOnce((end-w)*attempts, func(k int) answer {
			i, j := w+k/attempts, k%attempts
			return enter(browsers, bases[j%len(bases)], sessions[i].id, sessions[i].token)
		})
		results := make([][]answer, tokens)
		for i := w; i < end; i++ {
			results[i] = flat[(i-w)*attempts : (i-w+1)*attempts]
		}
		for i := w; i < end; i++ {
			won := 0
			for _, a := range results[i] {
				switch classifyEntry(a, sessions[i].id) {
				case entryWon:
					won++
					winners.Add(1)
				case entryExpired:
					expired.Add(1)
				default:
					others.Add(1)
					if a.status >= 500 {
						fivexx.Add(1)
					}
					problems.LoadOrStore(i, "unexpected answer: "+a.String())
				}
			}
			if won != 1 {
				problems.Store(i, fmt.Sprintf("%d winners out of %d attempts", won, attempts))
			}
		}
	}
	elapsed := time.Since(start)

	// Every session was entered now, and the userDetails ones have a user.
	// It reads active, or expired when an attempt that arrived after the
	// winner committed saw a used url: a replay, which signs the winner's
	// browser out (issue 11.6). Attempts that lose the race itself do not.
	parallel(tokens, 8, func(i int) {
		a := call(api, "GET", bases[len(bases)-1]+"/projects/"+relProject+"/connectSessions/"+sessions[i].id, key, "", nil)
		if st := a.str("status"); a.status != http.StatusOK || (st != "active" && st != "expired") || a.str("user") == "" {
			problems.LoadOrStore(i, "after the run: "+a.String())
		}
	})
	n := 0
	problems.Range(func(k, v any) bool {
		if n++; n <= 10 {
			t.Errorf("token #%d (%s): %v", k, sessions[k.(int)].id, v)
		}
		return true
	})
	if n > 10 {
		t.Errorf("... %d tokens with problems in all", n)
	}
	figure(t, "instances", len(bases))
	figure(t, "tokens x attempts", fmt.Sprintf("%d x %d", tokens, attempts))
	figure(t, "winners", winners.Load())
	figure(t, "auth_expired answers", expired.Load())
	figure(t, "other answers", others.Load())
	figure(t, "5xx", fivexx.Load())
	figure(t, "tokens with != 1 winner or a bad answer", n)
	figure(t, "consuming POSTs per second", fmt.Sprintf("%.0f", float64(tokens*attempts)/elapsed.Seconds()))
}

// associateOnce: concurrent PATCHes that associate a user with the same
// session, spread over the instances: exactly one 200, the others 409, and
// only the winner's new url works.
func associateOnce(t *testing.T, bases []string, key string) {
	rounds, contenders := sizes(100, 10), 6
	tr := relTransport()
	defer tr.CloseIdleConnections()
	api := relClient(tr)
	users := make([]string, contenders)
	for k := range users {
		users[k] = createUser(t, api, bases[0], key, fmt.Sprintf("patch-%d-%s@example.com", k, proctest.RandomString(6)))
	}
	var wins, conflicts, bad atomic.Int64
	var problems []string
	var mu sync.Mutex
	problem := func(s string) {
		mu.Lock()
		problems = append(problems, s)
		mu.Unlock()
	}
	parallel(rounds, 4, func(r int) {
		created := call(api, "POST", bases[0]+"/projects/"+relProject+"/connectSessions", key,
			`{"callbackUrl":"`+relCallback+`","intent":{"type":"`+relIntent+`"}}`, nil)
		id := created.str("id")
		if created.status != http.StatusCreated {
			problem("create: " + created.String())
			return
		}
		answers := apitest.AtOnce(contenders, func(k int) answer {
			return call(api, "PATCH", bases[k%len(bases)]+"/projects/"+relProject+"/connectSessions/"+id, key, `{"user":"`+users[k]+`"}`, nil)
		})
		winner := -1
		for k, a := range answers {
			switch a.status {
			case http.StatusOK:
				wins.Add(1)
				if winner >= 0 {
					problem(fmt.Sprintf("session %s: two PATCHes won (%s and %s)", id, users[winner], users[k]))
				}
				winner = k
			case http.StatusConflict:
				conflicts.Add(1)
				if a.json["url"] != nil {
					problem("a 409 carries a url: " + a.String())
				}
			default:
				bad.Add(1)
				problem(fmt.Sprintf("session %s: PATCH answered %s", id, a))
			}
		}
		if winner < 0 {
			problem(fmt.Sprintf("session %s: no PATCH won", id))
			return
		}
		got := call(api, "GET", bases[len(bases)-1]+"/projects/"+relProject+"/connectSessions/"+id, key, "", nil)
		if got.str("user") != users[winner] {
			problem(fmt.Sprintf("session %s: user %q, want the winner's %s", id, got.str("user"), users[winner]))
		}
		// The winner's url opens the confirmation page; the first one died.
		page := call(relClient(tr), "GET", bases[len(bases)-1]+"/checkout/entry?session="+id+"&token="+url.QueryEscape(tokenOf(answers[winner])), "", "", nil)
		old := enter(tr, bases[0], id, tokenOf(created))
		if page.status != http.StatusOK || classifyEntry(old, id) != entryExpired {
			problem(fmt.Sprintf("session %s: winner's url %d, first url %s", id, page.status, old))
		}
	})
	for i, p := range problems {
		if i == 10 {
			t.Errorf("... %d problems in all", len(problems))
			break
		}
		t.Error(p)
	}
	figure(t, "associate rounds x contenders", fmt.Sprintf("%d x %d", rounds, contenders))
	figure(t, "associate wins (200)", wins.Load())
	figure(t, "associate conflicts (409)", conflicts.Load())
	figure(t, "associate other answers", bad.Load())
}

// idempotentOnce: concurrent duplicates of one create (same key, same
// body) spread over the instances make exactly one session; every answer
// is that session (201) or 409 in flight.
func idempotentOnce(t *testing.T, bases []string, key string) {
	rounds, dups := sizes(10, 3), 20
	tr := relTransport()
	defer tr.CloseIdleConnections()
	api := relClient(tr)
	var created, replays, inFlight, bad, extra int
	for r := 0; r < rounds; r++ {
		user := createUser(t, api, bases[0], key, fmt.Sprintf("idem-%d-%s@example.com", r, proctest.RandomString(6)))
		hdr := map[string]string{"Idempotency-Key": "order-" + proctest.RandomString(12)}
		answers := apitest.AtOnce(dups, func(k int) answer {
			return call(api, "POST", bases[k%len(bases)]+"/projects/"+relProject+"/connectSessions", key, sessionBody(user), hdr)
		})
		id := ""
		for _, a := range answers {
			switch {
			case a.status == http.StatusCreated:
				if id == "" {
					id = a.str("id")
					created++
				} else {
					replays++
				}
				if a.str("id") != id {
					t.Errorf("round %d: duplicates answered two sessions, %s and %s", r, id, a.str("id"))
				}
			case a.status == http.StatusConflict && a.str("code") == "idempotencyKeyInUse":
				inFlight++
			default:
				bad++
				t.Errorf("round %d: a duplicate answered %s", r, a)
			}
		}
		list := call(api, "GET", bases[len(bases)-1]+"/projects/"+relProject+"/connectSessions?limit=200&user="+user, key, "", nil)
		items, _ := list.json["items"].([]any)
		if list.status != http.StatusOK || len(items) != 1 {
			extra += max(len(items)-1, 0)
			t.Errorf("round %d: %d sessions of the user after %d duplicates, want 1: %s", r, len(items), dups, list)
		} else if item, _ := items[0].(map[string]any); id == "" || item["id"] != id {
			t.Errorf("round %d: the one session is %v, the answers said %q", r, item["id"], id)
		}
	}
	figure(t, "idempotent rounds x duplicates", fmt.Sprintf("%d x %d", rounds, dups))
	figure(t, "idempotent sessions made / replays (201) / in flight (409) / other", fmt.Sprintf("%d / %d / %d / %d", created, replays, inFlight, bad))
	figure(t, "idempotent extra sessions", extra)
}

// Crash safety.

// TestReliabilityCrashSafety kills serve with SIGKILL at random points
// under a mixed create/consume load, restarts it on the same database and
// checks that every acknowledged session survived and no consumed token
// works again.
func TestReliabilityCrashSafety(t *testing.T) {
	t.Parallel()
	concurrently(t, map[string]func(t *testing.T){
		"sqlite": func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "connectd.db")
			crashes(t, dir, "sqlite:"+path, path+".lock")
		},
		"postgres": func(t *testing.T) { crashes(t, t.TempDir(), pgtest.URL(t), "") },
	})
}

type acked struct {
	id, token string
	consumed  bool // a 303 to the intent's page was received
	// replayed: its used token was sent again from another client, which
	// signs its browser out: it reads expired from then on (issue 11.6).
	replayed bool
}

func crashes(t *testing.T, dir, db, lockPath string) {
	kills, workers := sizes(20, 4), 8
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("seed %d", seed)
	key := relSetup(t, dir, db)

	var all []*acked
	var user string
	var unknownCreates, unknownConsumes, refusedAfterKill, lost, reconsumed, unconsumed, failures int
	fail := func(format string, args ...any) {
		failures++
		if failures <= 10 {
			t.Errorf(format, args...)
		}
	}
	// verify checks sessions after a restart: retrievable, and consumed
	// ones still active (expired once replayed); with replay, their tokens
	// are sent again too.
	verify := func(base string, list []*acked, replay bool) {
		tr := relTransport()
		defer tr.CloseIdleConnections()
		api := relClient(tr)
		var mu sync.Mutex
		parallel(len(list), 16, func(i int) {
			s := list[i]
			got := call(api, "GET", base+"/projects/"+relProject+"/connectSessions/"+s.id, key, "", nil)
			var again answer
			if s.consumed && replay {
				again = enter(tr, base, s.id, s.token)
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case got.status != http.StatusOK:
				lost++
				fail("acknowledged session %s lost: %s", s.id, got)
			case s.consumed && !s.replayed && got.str("status") != "active",
				s.consumed && s.replayed && got.str("status") != "expired":
				unconsumed++
				fail("consumed session %s (replayed %v) is %q after the restart", s.id, s.replayed, got.str("status"))
			}
			if s.consumed && replay {
				s.replayed = true
				if classifyEntry(again, s.id) != entryExpired {
					reconsumed++
					fail("consumed session %s: its token answered %s after the restart", s.id, again)
				}
			}
		})
	}

	var round []*acked
	var restarts time.Duration
	start := time.Now()
	for k := 0; ; k++ {
		started := time.Now()
		srv := loadServe(t, dir, db) // after a kill: the restart must succeed
		restarts += time.Since(started)
		base := srv.PublicURL
		if user == "" {
			user = createUser(t, relClient(http.DefaultTransport), base, key, "crash-"+proctest.RandomString(6)+"@example.com")
		}
		verify(base, round, true)
		if k == kills {
			// Everything, once more: a later crash must not have undone
			// an earlier round (the replays were sent after their round).
			verify(base, all, false)
			if code := srv.Stop(t); code != 0 {
				t.Errorf("serve exited %d after SIGTERM", code)
			}
			break
		}

		round = nil
		var mu sync.Mutex
		var killed atomic.Bool
		tr := relTransport()
		api := relClient(tr)
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(seed, uint64(k*workers+w+1)))
				for !killed.Load() {
					a := call(api, "POST", base+"/projects/"+relProject+"/connectSessions", key, sessionBody(user), nil)
					if a.err != nil {
						mu.Lock()
						if isRefused(a.err) {
							refusedAfterKill++ // sent after the kill: never arrived
						} else {
							unknownCreates++ // in flight at the kill: it may or may not exist
						}
						mu.Unlock()
						return
					}
					if a.status != http.StatusCreated {
						mu.Lock()
						fail("create under load: %s", a)
						mu.Unlock()
						return
					}
					s := &acked{id: a.str("id"), token: tokenOf(a)}
					mu.Lock()
					round = append(round, s)
					mu.Unlock()
					if r.IntN(2) == 0 || killed.Load() {
						continue
					}
					e := enter(tr, base, s.id, s.token)
					switch {
					case e.err != nil:
						mu.Lock()
						if isRefused(e.err) {
							refusedAfterKill++
						} else {
							unknownConsumes++
						}
						mu.Unlock()
						return
					case classifyEntry(e, s.id) == entryWon:
						mu.Lock()
						s.consumed = true
						mu.Unlock()
					default:
						mu.Lock()
						fail("consume under load: %s", e)
						mu.Unlock()
						return
					}
				}
			}()
		}
		time.Sleep(200*time.Millisecond + time.Duration(rng.Int64N(int64(1300*time.Millisecond))))
		killed.Store(true)
		if err := srv.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatalf("SIGKILL: %v", err)
		}
		<-srv.Done
		wg.Wait()
		tr.CloseIdleConnections()
		all = append(all, round...)
		if lockPath != "" {
			// The kernel dropped the dead process's flock.
			f, err := os.OpenFile(lockPath, os.O_RDWR, 0)
			if err != nil {
				t.Fatalf("open the lock file after the kill: %v", err)
			}
			if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
				t.Errorf("the lock of the killed process is still held: %v", err)
			}
			syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
			f.Close()
		}
	}
	consumed := 0
	for _, s := range all {
		if s.consumed {
			consumed++
		}
	}
	figure(t, "kills (SIGKILL) and restarts", kills)
	figure(t, "acknowledged creates (201)", len(all))
	figure(t, "consumed tokens (303)", consumed)
	figure(t, "lost sessions", lost)
	figure(t, "consumed sessions found open again", unconsumed)
	figure(t, "consumed tokens that worked again", reconsumed)
	figure(t, "unknown (in flight at a kill, excluded): creates / consumes", fmt.Sprintf("%d / %d", unknownCreates, unknownConsumes))
	figure(t, "requests refused after a kill (not in flight)", refusedAfterKill)
	figure(t, "mean restart time (start to serving)", (restarts / time.Duration(kills+1)).Round(10*time.Millisecond))
	figure(t, "crash test duration", time.Since(start).Round(100*time.Millisecond))
}

// Graceful shutdown.

// TestReliabilityGracefulShutdown sends SIGTERM to serve under load.
//
// What counts, per request, each on a connection of its own:
//   - completed: an answer with its normal status (201);
//   - refused: the connection was refused (the listener is closed): the
//     server never saw the request, which is not in flight;
//   - reset: the connection was made but closed without an answer. That
//     is what a client sees when it connected into the listen queue just
//     as the listener closed: the server never accepted it. It counts as
//     refused if, and only if, it left no trace;
//   - failed in flight: any other answer (a 5xx, a 503, a timeout), or a
//     session in the database that no client got a 201 for (a request the
//     server handled whose answer was lost). Goal: 0.
//
// And the process exits 0.
func TestReliabilityGracefulShutdown(t *testing.T) {
	t.Parallel()
	sqlite := func(drain time.Duration) func(t *testing.T) {
		return func(t *testing.T) {
			dir := t.TempDir()
			graceful(t, dir, "sqlite:"+filepath.Join(dir, "connectd.db"), drain)
		}
	}
	concurrently(t, map[string]func(t *testing.T){
		"sqlite":   sqlite(0),
		"postgres": func(t *testing.T) { graceful(t, t.TempDir(), pgtest.URL(t), 0) },
		// With a drain delay, clients that watch readiness, as a load
		// balancer does, stop sending before the listener closes: nothing
		// is refused or reset. The delay must outlast noticing (a /readyz
		// poll) plus the slowest request, which under -race on a busy
		// machine is seconds.
		"sqlite-drain-delay": sqlite(3 * time.Second),
	})
}

func graceful(t *testing.T, dir, db string, drain time.Duration) {
	clients := sizes(32, 8)
	key := relSetup(t, dir, db)
	srv := relServe(t, dir, db, "--drain-delay", drain.String())
	base := srv.PublicURL
	user := createUser(t, relClient(http.DefaultTransport), base, key, "graceful-"+proctest.RandomString(6)+"@example.com")

	tr := relTransport()
	tr.DisableKeepAlives = drain == 0 // a connection per request: each one's fate is known
	defer tr.CloseIdleConnections()
	api := relClient(tr)
	var stop atomic.Bool // readiness said draining
	var mu sync.Mutex
	ackedIDs := map[string]bool{}
	var completed, refused, reset, other int
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				a := call(api, "POST", base+"/projects/"+relProject+"/connectSessions", key, sessionBody(user), nil)
				mu.Lock()
				switch {
				case a.err == nil && a.status == http.StatusCreated:
					completed++
					ackedIDs[a.str("id")] = true
				case isRefused(a.err):
					refused++
				case a.err != nil:
					reset++
				default:
					other++
					if other <= 5 {
						t.Errorf("in flight: %s", a)
					}
				}
				mu.Unlock()
				if a.err != nil {
					return
				}
			}
		}()
	}
	if drain > 0 {
		go func() { // the load balancer
			c := relClient(http.DefaultTransport)
			for !stop.Load() {
				if a := call(c, "GET", base+"/readyz", "", "", nil); a.status != http.StatusOK {
					stop.Store(true)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	// Load for a second, and until every client had an answer or two.
	time.Sleep(time.Second)
	var before int
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		mu.Lock()
		before = completed
		mu.Unlock()
		if before >= 2*clients || time.Now().After(deadline) {
			break
		}
	}
	sent := time.Now()
	code := srv.Stop(t)
	took := time.Since(sent)
	stop.Store(true)
	wg.Wait()
	if code != 0 {
		t.Errorf("serve exited %d after SIGTERM under load:\n%.2000s", code, srv.Stderr.String())
	}
	if before == 0 {
		t.Fatal("no request completed before SIGTERM: the load did not run")
	}

	// Every session in the database is one a client got a 201 for.
	after := relServe(t, dir, db)
	c := relClient(http.DefaultTransport)
	stored := map[string]bool{}
	next := ""
	for {
		a := call(c, "GET", after.PublicURL+"/projects/"+relProject+"/connectSessions?limit=200&user="+user+next, key, "", nil)
		items, _ := a.json["items"].([]any)
		if a.status != http.StatusOK {
			t.Fatalf("list: %s", a)
		}
		for _, it := range items {
			stored[it.(map[string]any)["id"].(string)] = true
		}
		more, _ := a.json["moreItemsAfter"].(string)
		if more == "" {
			break
		}
		next = "&after=" + more
	}
	unanswered := 0
	for id := range stored {
		if !ackedIDs[id] {
			unanswered++
		}
	}
	missing := 0
	for id := range ackedIDs {
		if !stored[id] {
			missing++
		}
	}
	if unanswered > 0 || missing > 0 {
		t.Errorf("%d stored sessions no client got an answer for (handled, answer lost); %d acknowledged sessions missing", unanswered, missing)
	}
	if drain > 0 && (refused > 0 || reset > 0) {
		t.Errorf("with a drain delay and readiness-aware clients: %d refused, %d reset, want 0", refused, reset)
	}
	after.Stop(t)
	figure(t, "clients", clients)
	figure(t, "drain delay", drain)
	figure(t, "completed (201)", completed)
	figure(t, "refused (connection refused after the listener closed)", refused)
	figure(t, "reset without a trace (in the listen queue at close)", reset)
	figure(t, "failed in flight", other+unanswered+missing)
	figure(t, "exit code", code)
	figure(t, "SIGTERM to exit", took.Round(10*time.Millisecond))
}

// isRefused reports whether err is a failure to connect: the request
// never reached the server.
func isRefused(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// Slow clients.

// TestReliabilitySlowClients opens connections that send their request
// headers slowly or not at all: the server's ReadHeaderTimeout closes every
// one of them, and its goroutines and open files come back to where they
// were.
func TestReliabilitySlowClients(t *testing.T) {
	t.Parallel()
	const headerTimeout = time.Second
	conns := sizes(200, 50)
	dir := t.TempDir()
	args := []string{"--read-header-timeout", headerTimeout.String()}
	if hasServeFlag(t, proctest.Bin, "pprof-addr") {
		args = append(args, "--pprof-addr", "127.0.0.1:0")
	}
	srv := relServe(t, dir, "sqlite:"+filepath.Join(dir, "connectd.db"), args...)
	u := proctest.MustParseURL(t, srv.PublicURL)
	pid := srv.Cmd.Process.Pid
	gr := goroutineProbe(t, srv)
	t.Logf("goroutines measured by %s", gr.source)

	// Settled: one request over a connection that closes.
	settle := func() (g, fds int) {
		a := call(&http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: proctest.RequestTimeout}, "GET", srv.PublicURL+"/healthz", "", "", nil)
		if a.status != http.StatusOK {
			t.Fatalf("healthz: %s", a)
		}
		time.Sleep(300 * time.Millisecond)
		return gr.count(t), openFiles(t, pid)
	}
	g0, fd0 := settle()

	start := time.Now()
	closedAt := make([]time.Duration, conns)
	var wg sync.WaitGroup
	var opened atomic.Int64
	for i := 0; i < conns; i++ {
		c, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
		if err != nil {
			t.Fatalf("connection #%d: %v", i, err)
		}
		opened.Add(1)
		t.Cleanup(func() { c.Close() })
		wg.Add(2)
		go func() { // reads until the server closes the connection
			defer wg.Done()
			c.SetReadDeadline(time.Now().Add(headerTimeout + 10*time.Second))
			_, err := io.Copy(io.Discard, c)
			closedAt[i] = time.Since(start)
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				closedAt[i] = -1 // our deadline, not the server
			}
		}()
		go func() {
			defer wg.Done()
			switch i % 3 {
			case 0: // nothing at all
			case 1: // half a request line
				c.Write([]byte("POST /projects/acme/connectS"))
			case 2: // a request line, then a header byte now and then
				c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: " + u.Host + "\r\nX-Slow: "))
				for k := 0; k < 40; k++ {
					time.Sleep(100 * time.Millisecond)
					if _, err := c.Write([]byte("a")); err != nil {
						return
					}
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	g1, fd1 := gr.count(t), openFiles(t, pid)
	// The server answers others meanwhile.
	if a := call(relClient(http.DefaultTransport), "GET", srv.PublicURL+"/healthz", "", "", nil); a.status != http.StatusOK {
		t.Errorf("healthz with %d slow connections open: %s", conns, a)
	}
	wg.Wait()
	closed, slowest := 0, time.Duration(0)
	for i, d := range closedAt {
		if d < 0 || d > headerTimeout+5*time.Second {
			t.Errorf("slow connection #%d still open after %s", i, headerTimeout+5*time.Second)
			continue
		}
		closed++
		slowest = max(slowest, d)
	}
	g2, fd2 := settle()
	if g2 > g0+5 {
		t.Errorf("goroutines: %d before, %d with the slow connections, %d after they were closed", g0, g1, g2)
	}
	if fd2 > fd0+5 {
		t.Errorf("open files: %d before, %d with the slow connections, %d after", fd0, fd1, fd2)
	}
	if gr.exact && g1 < g0+conns/2 {
		t.Errorf("goroutines: %d before, %d with %d slow connections: the probe does not see them", g0, g1, conns)
	}
	if fd1 < fd0+conns/2 {
		t.Errorf("open files: %d before, %d with %d slow connections: the server did not hold them, so the test proves nothing", fd0, fd1, conns)
	}
	figure(t, "read header timeout", headerTimeout)
	figure(t, "slow connections opened / closed by the server", fmt.Sprintf("%d / %d", opened.Load(), closed))
	figure(t, "slowest close after opening", slowest.Round(10*time.Millisecond))
	figure(t, "goroutines before / with / after ("+gr.source+")", fmt.Sprintf("%d / %d / %d", g0, g1, g2))
	figure(t, "open files before / with / after (/proc/PID/fd)", fmt.Sprintf("%d / %d / %d", fd0, fd1, fd2))
}

// probe counts the goroutines of a serve process.
type probe struct {
	source string
	exact  bool // counts goroutines, not threads
	count  func(t *testing.T) int
}

// goroutineProbe picks what this build offers: the pprof listener's
// goroutine profile, else /metrics' go_goroutines, else the process's
// thread count (a weak stand-in).
func goroutineProbe(t *testing.T, srv *proctest.Proc) probe {
	c := relClient(http.DefaultTransport)
	for _, line := range strings.Split(srv.Stderr.String(), "\n") {
		var l struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &l) != nil || l.Msg != "pprof serving" || l.Addr == "" {
			continue
		}
		u := "http://" + l.Addr + "/debug/pprof/goroutine?debug=1"
		return probe{"the goroutine profile of --pprof-addr", true, func(t *testing.T) int {
			a := call(c, "GET", u, "", "", nil)
			first, _, _ := strings.Cut(string(a.body), "\n")
			n, err := strconv.Atoi(strings.TrimPrefix(first, "goroutine profile: total "))
			if a.status != http.StatusOK || err != nil {
				t.Fatalf("goroutine profile: %s", a)
			}
			return n
		}}
	}
	if a := call(c, "GET", srv.PublicURL+"/metrics", "", "", nil); a.status == http.StatusOK && metricValue(a.body, "go_goroutines") >= 0 {
		return probe{"go_goroutines of /metrics", true, func(t *testing.T) int {
			a := call(c, "GET", srv.PublicURL+"/metrics", "", "", nil)
			v := metricValue(a.body, "go_goroutines")
			if v < 0 {
				t.Fatalf("/metrics: no go_goroutines: %s", a)
			}
			return v
		}}
	}
	pid := srv.Cmd.Process.Pid
	return probe{"threads of /proc/PID/status", false, func(t *testing.T) int {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "Threads:"); ok {
				n, _ := strconv.Atoi(strings.TrimSpace(v))
				return n
			}
		}
		t.Fatal("no Threads line")
		return 0
	}}
}

// hasServeFlag reports whether binary's serve has flag --name.
func hasServeFlag(t *testing.T, binary, name string) bool {
	t.Helper()
	out, _ := exec.Command(binary, "serve", "-h").CombinedOutput()
	return strings.Contains(string(out), "-"+name+" ")
}

// metricValue returns the value of an unlabelled Prometheus metric, or -1.
func metricValue(body []byte, name string) int {
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil {
				return int(f)
			}
		}
	}
	return -1
}

func openFiles(t *testing.T, pid int) int {
	t.Helper()
	es, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("open files of %d: %v", pid, err)
	}
	return len(es)
}
