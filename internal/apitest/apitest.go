// Package apitest runs a real connectd API server on a loopback port for
// tests, backed by a fresh SQLite or PostgreSQL store, and talks to it over
// real HTTP.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/portal"
	"github.com/connectd/connectd/ratelimit"
	"github.com/connectd/connectd/server"
	"github.com/connectd/connectd/service"
	"github.com/connectd/connectd/store/postgres/pgtest"
	"github.com/connectd/connectd/store/sqlite/sqlitetest"
)

// Backend names a store backend.
type Backend string

const (
	SQLite   Backend = "sqlite"
	Postgres Backend = "postgres"
)

// Backends lists every backend, SQLite first.
var Backends = []Backend{SQLite, Postgres}

// ForEachBackend runs f as a parallel subtest per backend. The PostgreSQL
// subtest skips (or fails under CONNECTD_TEST_REQUIRE_POSTGRES=1) when no
// database is configured.
func ForEachBackend(t *testing.T, f func(t *testing.T, b Backend)) {
	for _, b := range Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			f(t, b)
		})
	}
}

// NewStore returns a fresh, migrated, empty store of backend b.
func NewStore(t testing.TB, b Backend) connectd.Store {
	if b == Postgres {
		return pgtest.New(t)
	}
	return sqlitetest.New(t)
}

// Env is one running server with one project, its API key, and a user.
type Env struct {
	T       testing.TB
	URL     string // base URL, http://127.0.0.1:PORT
	Store   connectd.Store
	Server  *server.Server
	Service *service.Service
	Portal  *portal.Portal
	// Clock is the server's one clock: service, platform and portal read
	// it. Tests move it forward to make TTLs pass.
	Clock *Clock
	// Mail holds the hosted-login codes the portal sent.
	Mail    *CaptureMailer
	Project string
	Key     string
	// Logs holds every log line the server wrote.
	Logs   *SyncBuffer
	Client *http.Client
}

// Options tune New.
type Options struct {
	Backend  Backend
	Settings *connectd.ProjectSettings // nil: the defaults
	// APILimit and PortalLimit are the rate limits per API key and per
	// client address. A zero Rate means a limit far above what any test
	// sends (the limiters still run); a negative Rate turns the limiter off.
	APILimit, PortalLimit ratelimit.Config
	// AuthFailLimit is the failed-authentication limit per client address,
	// with the same zero and negative Rates.
	AuthFailLimit ratelimit.Config
	// TrustProxyHeaders takes client addresses from X-Forwarded-For, so
	// that a test can speak from several addresses over loopback.
	TrustProxyHeaders bool
	// Store, when set, is the store to serve (Backend is then ignored);
	// tests use it to wrap a store with faults.
	Store connectd.Store
	// NoPlatform serves without platform resources: every resource
	// endpoint answers 404 platformDisabled.
	NoPlatform bool
}

// testLimit is the default limit of tests: high enough never to refuse.
var testLimit = ratelimit.Config{Rate: 1e6, Burst: 1e6}

// New starts a server with a project "proj" and an API key for it. The
// server is built by server.New, exactly as connectd serve builds it.
func New(t testing.TB, opts Options) *Env {
	t.Helper()
	if opts.Backend == "" {
		opts.Backend = SQLite
	}
	st := opts.Store
	if st == nil {
		st = NewStore(t, opts.Backend)
	}
	if opts.APILimit.Rate == 0 {
		opts.APILimit = testLimit
	}
	if opts.PortalLimit.Rate == 0 {
		opts.PortalLimit = testLimit
	}
	if opts.AuthFailLimit.Rate == 0 {
		opts.AuthFailLimit = testLimit
	}
	logs := &SyncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// The server must know its public URL before it listens: listen
	// first, then build the server.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	publicURL := "http://" + ln.Addr().String()
	clock := &Clock{}
	mail := &CaptureMailer{}
	srv, err := server.New(server.Config{
		Store:             st,
		PublicURL:         publicURL,
		Logger:            logger,
		Now:               clock.Now,
		Mailer:            mail,
		APILimit:          opts.APILimit,
		PortalLimit:       opts.PortalLimit,
		AuthFailLimit:     opts.AuthFailLimit,
		TrustProxyHeaders: opts.TrustProxyHeaders,
	})
	if err != nil {
		ln.Close()
		t.Fatalf("server: %v", err)
	}
	if opts.NoPlatform {
		srv.Service.Platform = nil
	}
	served := make(chan struct{})
	go func() { srv.Serve(context.Background(), ln); close(served) }()
	client := &http.Client{
		Transport:     &http.Transport{},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	t.Cleanup(func() {
		srv.Close()
		<-served
		client.CloseIdleConnections()
	})

	e := &Env{T: t, URL: publicURL, Store: st, Server: srv, Service: srv.Service, Portal: srv.Portal, Clock: clock,
		Mail: mail, Logs: logs, Client: client}
	e.Project, e.Key = e.NewProject("proj", opts.Settings)
	return e
}

// Clock is the real time plus an offset that tests move forward.
type Clock struct{ offset atomic.Int64 }

// Now returns the time the server sees.
func (c *Clock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// NewProject creates another project in the same server and returns its ID
// and an API key.
func (e *Env) NewProject(id string, settings *connectd.ProjectSettings) (string, string) {
	e.T.Helper()
	s := connectd.DefaultProjectSettings()
	if settings != nil {
		s = *settings
	}
	ctx := context.Background()
	if err := e.Service.CreateProject(ctx, &connectd.Project{ID: id, Name: id, Settings: s}); err != nil {
		e.T.Fatalf("create project %s: %v", id, err)
	}
	key, err := e.Service.CreateAPIKey(ctx, id)
	if err != nil {
		e.T.Fatalf("create key: %v", err)
	}
	return id, key
}

// Response is an answer of the server.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic map; it fails the test when the body
// is not a JSON object.
func (r *Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response body is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

// Request describes one request. Body may be a string or []byte (sent as
// is) or any other value (sent as JSON). Key "" means e.Key; use NoAuth for
// none.
type Request struct {
	Method  string
	Path    string
	Body    any
	Key     string
	Header  map[string]string
	NoAuth  bool
	NoCType bool // do not set Content-Type: application/json
}

// Do sends req and reads the whole answer.
func (e *Env) Do(req Request) *Response {
	e.T.Helper()
	var body io.Reader
	switch b := req.Body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.T.Fatalf("marshal body: %v", err)
		}
		body = bytes.NewReader(j)
	}
	hr, err := http.NewRequest(req.Method, e.URL+req.Path, body)
	if err != nil {
		e.T.Fatalf("new request: %v", err)
	}
	if !req.NoAuth {
		key := req.Key
		if key == "" {
			key = e.Key
		}
		hr.Header.Set("Authorization", "Bearer "+key)
	}
	if body != nil && !req.NoCType {
		hr.Header.Set("Content-Type", "application/json")
	}
	for k, v := range req.Header {
		hr.Header.Set(k, v)
	}
	return Send(e.T, e.Client, hr)
}

// Send sends req with client, within 30 seconds, and reads the whole
// answer; a request that gets no answer fails t.
func Send(t testing.TB, client *http.Client, req *http.Request) *Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(req.Context(), 30*time.Second)
	defer cancel()
	resp, err := client.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL.Path, err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Post, Get and Patch are shorthands for Do on the project's paths: path is
// relative to /projects/{project}.
func (e *Env) Post(path string, body any) *Response {
	e.T.Helper()
	return e.Do(Request{Method: http.MethodPost, Path: "/projects/" + e.Project + path, Body: body})
}

func (e *Env) Get(path string) *Response {
	e.T.Helper()
	return e.Do(Request{Method: http.MethodGet, Path: "/projects/" + e.Project + path})
}

func (e *Env) Patch(path string, body any) *Response {
	e.T.Helper()
	return e.Do(Request{Method: http.MethodPatch, Path: "/projects/" + e.Project + path, Body: body})
}

// CreateUser creates a user through the API and returns its ID.
func (e *Env) CreateUser(email string) string {
	e.T.Helper()
	r := e.Post("/users", map[string]any{"email": email})
	if r.Status != http.StatusCreated {
		e.T.Fatalf("create user %s: %d %s", email, r.Status, r.Body)
	}
	return r.JSON(e.T)["id"].(string)
}

// SyncBuffer is a bytes.Buffer safe for concurrent use.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// CaptureMailer keeps the login codes the portal sends, for tests.
type CaptureMailer struct {
	mu    sync.Mutex
	codes map[string]string // email -> latest code
}

func (m *CaptureMailer) SendLoginCode(_ context.Context, to, code string, _ *connectd.Project) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.codes == nil {
		m.codes = map[string]string{}
	}
	m.codes[to] = code
	return nil
}

// Code returns the latest code sent to email, or "".
func (m *CaptureMailer) Code(email string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.codes[email]
}

// AtOnce runs f(i) for i in [0, n) on n goroutines released together, as
// contenders for one thing, and returns their results in order.
func AtOnce[T any](n int, f func(i int) T) []T {
	results := make([]T, n)
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() { <-gate; results[i] = f(i) })
	}
	close(gate)
	wg.Wait()
	return results
}
