// Package api serves connectd's REST API over net/http: the Connect
// Sessions endpoints, users, health and the OpenAPI document.
package api

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/buildinfo"
	"github.com/connectd/connectd/internal/jsonv"
	"github.com/connectd/connectd/ratelimit"
	"github.com/connectd/connectd/service"
)

// MaxBodyBytes bounds request bodies.
const MaxBodyBytes = 64 << 10

// MaxIdempotencyKeyLength bounds the Idempotency-Key header.
const MaxIdempotencyKeyLength = 255

//go:embed openapi.json
var openAPIDoc []byte

// Server routes and answers API requests.
type Server struct {
	svc      *service.Service
	logger   *slog.Logger
	mux      *http.ServeMux
	draining atomic.Bool
	build    buildinfo.Info // shown by /healthz
	// KeyLimiter limits requests per API key (by key ID, never the
	// secret), checked right after authentication. nil: no limit. Set it
	// before serving.
	KeyLimiter *ratelimit.Limiter
	// AuthFailLimiter limits failed authentications per client address
	// (authlimit.go). nil: no limit. TrustProxyHeaders takes the address
	// from X-Forwarded-For, as the portal does. Set both before serving.
	AuthFailLimiter   *ratelimit.Limiter
	TrustProxyHeaders bool
	known             knownKeys // keys that authenticated (authlimit.go)
}

// New returns the API server for svc.
func New(svc *service.Service, logger *slog.Logger) *Server {
	s := &Server{svc: svc, logger: logger, mux: http.NewServeMux(), build: buildinfo.Read()}
	s.routes()
	return s
}

// today is the date by the service's clock, which bounds birthdays.
func (s *Server) today() string { return s.svc.Now().UTC().Format(time.DateOnly) }

// Mux returns the router, so that other packages (the portal) can add their
// routes to it.
func (s *Server) Mux() *http.ServeMux { return s.mux }

// Drain turns readiness off, so that load balancers stop sending traffic
// while in-flight requests finish.
func (s *Server) Drain() { s.draining.Store(true) }

// Handler returns the whole HTTP handler, with logging and security headers.
func (s *Server) Handler() http.Handler { return observe(s.logger, s.svc.Metrics, s.mux) }

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /healthz", s.healthz)
	m.HandleFunc("GET /readyz", s.readyz)
	m.HandleFunc("GET /openapi.json", s.openapi)
	m.HandleFunc("GET /metrics", s.metrics)

	m.Handle("/projects/{project}/connectSessions", s.methods(map[string]apiFunc{
		http.MethodPost: s.createSession,
		http.MethodGet:  s.listSessions,
	}))
	m.Handle("/projects/{project}/connectSessions/{id}", s.methods(map[string]apiFunc{
		http.MethodGet:   s.getSession,
		http.MethodPatch: s.updateSession,
	}))
	m.Handle("/projects/{project}/connectSessions/{id}/expire", s.methods(map[string]apiFunc{
		http.MethodPost: s.expireSession, // takes an empty body or {}
	}))
	m.Handle("/projects/{project}/users", s.methods(map[string]apiFunc{
		http.MethodPost: s.createUser,
		http.MethodGet:  s.listUsers,
	}))
	m.Handle("/projects/{project}/users/{id}", s.methods(map[string]apiFunc{
		http.MethodGet:   s.getUser,
		http.MethodPatch: s.updateUser,
	}))
	s.resourceRoutes()
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, connectd.Errorf(connectd.TypeNotFound, "routeNotFound", "There is no endpoint at %s %s.", r.Method, RedactPath(r.URL.Path)))
	})
}

// redactName returns a query parameter name or JSON key for an error
// detail: as is when it looks like a field name, else "…", since a client
// may send anything there, a secret included.
func redactName(name string) string {
	// No secret is as short as connectd.MaxEchoedNameLength.
	if len(name) > connectd.MaxEchoedNameLength {
		return "…"
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return "…"
		}
	}
	return name
}

// call is one authenticated API request: its project and body.
type call struct {
	project *connectd.Project
	body    []byte
	idem    *service.Idempotency
}

type apiFunc func(w http.ResponseWriter, r *http.Request, c *call) error

// methods dispatches by method after the checks every API request goes
// through, in the documented order: headers (auth, content type, length),
// then path (project), then the handler's query and body.
func (s *Server) methods(handlers map[string]apiFunc) http.Handler {
	allow := make([]string, 0, len(handlers))
	for m := range handlers {
		allow = append(allow, m)
	}
	allowed := strings.Join(allow, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, ok := handlers[r.Method]
		if !ok {
			w.Header().Set("Allow", allowed)
			writeError(w, r, connectd.Errorf(connectd.TypeMethodNotAllowed, "methodNotAllowed", "%s is not allowed here; use %s.", r.Method, allowed))
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		c, err := s.prepare(w, r)
		if err == nil {
			if c.idem != nil {
				w = &replayMarker{ResponseWriter: w, idem: c.idem}
			}
			err = h(w, r, c)
		}
		if err != nil {
			writeError(w, r, err)
		}
	})
}

func (s *Server) prepare(w http.ResponseWriter, r *http.Request) (*call, error) {
	key, err := s.authenticateLimited(w, r)
	if err != nil {
		return nil, err
	}
	if ok, wait := s.KeyLimiter.Allow(key.ID); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(ratelimit.RetryAfterSeconds(wait)))
		return nil, connectd.Errorf(connectd.TypeTooManyRequests, "rateLimited", "Too many requests with this API key; retry after the time in Retry-After.")
	}
	hasBody := r.Method == http.MethodPost || r.Method == http.MethodPatch
	if hasBody && r.ContentLength == 0 && r.Header.Get("Content-Type") == "" && strings.HasSuffix(r.Pattern, "/expire") {
		hasBody = false // expire is the one POST that takes no body
	}
	if hasBody {
		if err := checkContentType(r); err != nil {
			return nil, err
		}
		if r.ContentLength > MaxBodyBytes {
			return nil, errTooLarge()
		}
	}
	var idem *service.Idempotency
	if r.Method == http.MethodPost {
		if v, present := r.Header["Idempotency-Key"]; present {
			if len(v) != 1 || !validIdempotencyKey(v[0]) {
				return nil, connectd.Errorf(connectd.TypeBadRequest, "invalidIdempotencyKey", "Idempotency-Key must be one header of 1 to %d printable ASCII characters.", MaxIdempotencyKeyLength)
			}
			idem = &service.Idempotency{Key: v[0]}
		}
	}
	project, err := s.svc.Project(r.Context(), key.ProjectID, r.PathValue("project"))
	if err != nil {
		return nil, err
	}
	c := &call{project: project, idem: idem}
	if hasBody {
		c.body, err = readBody(w, r)
		if err != nil {
			return nil, err
		}
	}
	if idem != nil {
		idem.RequestHash, idem.LegacyHash = requestHashes(r.Method, r.URL.Path, c.body)
	}
	return c, nil
}

func (s *Server) authenticate(r *http.Request) (*connectd.APIKey, error) {
	secret, ok := bearer(r)
	if !ok {
		return nil, service.ErrUnauthenticated()
	}
	return s.svc.Authenticate(r.Context(), secret)
}

// bearer returns the secret of a request's "Authorization: Bearer" header.
func bearer(r *http.Request) (string, bool) {
	scheme, secret, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || secret == "" {
		return "", false
	}
	return strings.TrimSpace(secret), true
}

func checkContentType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err == nil && mt == "application/json" {
		if cs, ok := params["charset"]; !ok || strings.EqualFold(cs, "utf-8") {
			return nil
		}
	}
	return connectd.Errorf(connectd.TypeUnsupportedMediaType, "unsupportedMediaType", "Send the body as JSON with Content-Type: application/json.")
}

func errTooLarge() error {
	return connectd.Errorf(connectd.TypePayloadTooLarge, "payloadTooLarge", "The request body is larger than %d KiB.", MaxBodyBytes>>10)
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, errTooLarge()
	}
	if err != nil {
		return nil, connectd.Errorf(connectd.TypeBadRequest, "unreadableBody", "The request body could not be read.")
	}
	return body, nil
}

func validIdempotencyKey(k string) bool {
	if len(k) == 0 || len(k) > MaxIdempotencyKeyLength {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	// The build, so that a person filing a bug can say which one answered.
	writeJSON(w, http.StatusOK, struct {
		Status string `json:"status"`
		buildinfo.Info
	}{"ok", s.build})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "draining"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.ping(ctx); err != nil {
		s.logger.WarnContext(ctx, "readiness check failed", "err", err.Error())
		status := "database unreachable"
		if errors.Is(err, connectd.ErrStorageUnavailable) {
			status = "storage unavailable"
		}
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": status})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// ping checks the database. A probe must answer 503 whenever the check
// fails, so a store that panics (a closed one may) counts as unreachable
// rather than turning readiness into a 500.
func (s *Server) ping(ctx context.Context) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("ping panicked: %T", v)
		}
	}()
	return s.svc.Store.Ping(ctx)
}

// metrics serves the Prometheus metrics, without authentication, like the
// health probes: scrapers hold no API key, and the metrics hold no secret
// (labels are route patterns, methods, status codes, intents, outcomes and
// pool names; never a path, a token, a key or a url). Where the port is
// reachable from the internet, keep /metrics to the internal network at
// the proxy. A service without metrics answers 404, as for any unknown path.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	if s.svc.Metrics == nil {
		writeError(w, r, connectd.Errorf(connectd.TypeNotFound, "routeNotFound", "There is no endpoint at %s %s.", r.Method, RedactPath(r.URL.Path)))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.svc.Metrics.Handler().ServeHTTP(w, r)
}

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openAPIDoc)
}

// requestHashes returns the hash an Idempotency-Key is bound to: the method,
// path and canonical form of the parsed body (issue 10.6), so that a retry
// whose JSON has its keys in another order or other whitespace is the same
// request. A body that does not parse (refused later) and an empty one
// (expire) hash as their bytes. legacy is the hash of the raw bytes that
// records written before issue 10.6 hold; nil where it equals the first.
func requestHashes(method, path string, body []byte) (hash, legacy []byte) {
	sum := func(b []byte) []byte {
		h := sha256.New()
		io.WriteString(h, method+" "+path+"\n")
		h.Write(b)
		return h.Sum(nil)
	}
	raw := sum(body)
	v, err := jsonv.Parse(body)
	if len(body) == 0 || err != nil {
		return raw, nil
	}
	// The canonical form is tagged, so that it never equals a raw body.
	return sum(jsonv.AppendCanonical([]byte("canonical-json\n"), v)), raw
}

// replayMarker adds Idempotent-Replayed: true to a successful answer that
// the service replayed for an Idempotency-Key (issue 10.6). A fresh answer
// carries no such header; a refusal never does.
type replayMarker struct {
	http.ResponseWriter
	idem *service.Idempotency
}

func (m *replayMarker) WriteHeader(status int) {
	if m.idem.Replayed && status < 400 {
		m.Header().Set("Idempotent-Replayed", "true")
	}
	m.ResponseWriter.WriteHeader(status)
}

func (m *replayMarker) Unwrap() http.ResponseWriter { return m.ResponseWriter }
