package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/metrics"
)

type ctxKey int

const requestIDKey ctxKey = iota

// RequestID returns the id of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// recorder remembers what a handler answered, for the request log.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int
	cause  error // the internal error behind a 500, for the log only
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func recorderOf(w http.ResponseWriter) *recorder {
	for {
		switch v := w.(type) {
		case *recorder:
			return v
		case interface{ Unwrap() http.ResponseWriter }: // replayMarker
			w = v.Unwrap()
		default:
			return nil
		}
	}
}

// newRequestID returns 16 random hex characters.
func newRequestID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validRequestID accepts a caller's X-Request-Id when it is short and plain,
// so that it can be logged without escaping tricks. Short means at most
// connectd.MaxEchoedNameLength characters: no secret is that short.
func validRequestID(s string) bool {
	if len(s) == 0 || len(s) > connectd.MaxEchoedNameLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// Observe wraps h with what every response needs: a request id, the
// security headers, panic recovery, and one JSON log line per request.
//
// The log line holds the route pattern and the path, never the query string
// (the portal's entry url carries its token there), never a header value,
// and never a body.
func Observe(logger *slog.Logger, h http.Handler) http.Handler {
	return observe(logger, nil, h)
}

// observe is Observe that also records each request's latency in m, by
// method, route pattern and status code (never the path).
func observe(logger *slog.Logger, m *metrics.Metrics, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = newRequestID()
		}
		ctx := context.WithValue(r.Context(), requestIDKey, id)
		r = r.WithContext(ctx)
		rec := &recorder{ResponseWriter: w}
		hdr := w.Header()
		hdr.Set("X-Request-Id", id)
		setSecurityHeaders(hdr)

		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				// The panic value may hold request data: log its type and the
				// stack (which holds no string contents), not the value.
				logger.ErrorContext(ctx, "panic", "request_id", id, "panic_type", fmt.Sprintf("%T", v), "stack", string(debug.Stack()))
				if rec.status == 0 {
					writeError(rec, r, fmt.Errorf("panic"))
				}
			}
			elapsed := time.Since(start)
			status := rec.status
			if status == 0 {
				status = http.StatusOK
			}
			attrs := []slog.Attr{
				slog.String("request_id", id),
				slog.String("method", r.Method),
				// The route without its method (a portal pattern has one, an
				// API pattern not): one shape for every request (issue 16.4).
				slog.String("route", metrics.RouteLabel(r.Pattern)),
				slog.String("path", RedactPath(r.URL.Path)),
				slog.Int("status", status),
				slog.Int("bytes", rec.bytes),
				slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
			}
			m.ObserveRequest(r.Method, r.Pattern, status, elapsed)
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
				if rec.cause != nil {
					attrs = append(attrs, slog.String("err", rec.cause.Error()))
				}
			}
			logger.LogAttrs(ctx, level, "request", attrs...)
		}()
		h.ServeHTTP(rec, r)
	})
}

// setSecurityHeaders sets the headers every response carries, API and
// portal, error pages included.
func setSecurityHeaders(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
}

// RedactPath returns path with every segment that could be a secret
// replaced by "…". A path can hold anything a client sends, a session token
// or an API key pasted in the wrong place among them; logs and error bodies
// must never show one. Kept: route words (letters only, as in
// /projects/…/connectSessions), IDs with a known prefix, and project IDs
// (lower-case, which a random token or key is not).
func RedactPath(path string) string {
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		if seg == "" || isRouteWord(seg) || hasKnownIDShape(seg) || isLowerProjectID(seg) {
			continue
		}
		segs[i] = "…"
	}
	return strings.Join(segs, "/")
}

// isRouteWord reports a segment short and plain enough to be a word of a
// route ("connectSessions", "openapi.json"), never a token or an email.
func isRouteWord(s string) bool {
	if len(s) > 24 || s[0] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; (c < 'a' || c > 'z') && s[i] != '.' {
			return false
		}
	}
	return true
}

var knownPrefixes = []string{
	connectd.PrefixSession, connectd.PrefixUser, connectd.PrefixPlan, connectd.PrefixAddon, connectd.PrefixSIM,
	connectd.PrefixDevice, connectd.PrefixSubscription, connectd.PrefixPayment, connectd.PrefixPaymentMethod,
	connectd.PrefixPorting, connectd.PrefixEvent,
}

func hasKnownIDShape(s string) bool {
	for _, p := range knownPrefixes {
		if connectd.ValidID(p, s) {
			return true
		}
	}
	return false
}

// isLowerProjectID accepts project IDs of up to 32 characters. Tokens and
// keys are longer and mix cases, so a lower-case random one of this length
// does not happen in practice.
func isLowerProjectID(s string) bool {
	return len(s) <= 32 && connectd.ValidProjectID(s)
}
