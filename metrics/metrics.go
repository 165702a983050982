// Package metrics holds connectd's Prometheus metrics, on a registry of
// their own (never the global default one), served at GET /metrics.
//
// Label values come from closed sets only: route patterns (never a raw
// path), known HTTP methods, status codes, intent types, session statuses
// and pool names. Nothing a client sends verbatim, so no token, key or
// session url, can become a label, and the set of series stays bounded.
//
// Every method is safe on a nil *Metrics, which records nothing: tests and
// tools that build a service without metrics need not care.
package metrics

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/poolstat"
)

// Metrics is the registry and the collectors connectd records into.
type Metrics struct {
	// Registry holds every collector below, the Go runtime and process
	// collectors, and the database pool collector once WatchPools is called.
	Registry *prometheus.Registry

	requests        *prometheus.HistogramVec
	sessionsCreated *prometheus.CounterVec
	sessionsEnded   *prometheus.CounterVec
	tokensConsumed  prometheus.Counter
	replays         prometheus.Counter
	apiKeyLookups   prometheus.Counter
	authLimited     prometheus.Counter
}

// Label values of sessions_ended_total.
var endStatuses = []connectd.SessionStatus{connectd.StatusCompleted, connectd.StatusAborted, connectd.StatusFailed, connectd.StatusExpired}

// New returns fresh metrics on a registry of their own.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "connectd",
			Name:      "http_request_duration_seconds",
			Help:      "Time to answer HTTP requests, by method, route pattern and status code.",
			Buckets:   []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route", "code"}),
		sessionsCreated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "connectd",
			Name:      "sessions_created_total",
			Help:      "Connect Sessions created, by intent type (idempotent replays not counted).",
		}, []string{"intent"}),
		sessionsEnded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "connectd",
			Name:      "sessions_ended_total",
			Help:      "Connect Sessions ended, by outcome: completed, aborted or failed in the portal, expired through the API.",
		}, []string{"status"}),
		tokensConsumed: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "connectd",
			Name:      "session_tokens_consumed_total",
			Help:      "Session urls entered: tokens consumed by the portal's entry handoff.",
		}),
		replays: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "connectd",
			Name:      "session_url_replays_total",
			Help:      "Used session urls opened again in another browser (each revokes what the url opened).",
		}),
	}
	m.apiKeyLookups = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "connectd",
		Name:      "api_key_lookups_total",
		Help:      "API keys looked up in the database (lookup-cache misses), valid or not.",
	})
	m.authLimited = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "connectd",
		Name:      "auth_failures_limited_total",
		Help:      "API requests refused with 429 because their client address sent too many invalid API keys; none of them was looked up.",
	})
	// Every intent and outcome has its series from the start, at 0, so
	// that rates work from the first event.
	for _, t := range connectd.IntentTypes {
		m.sessionsCreated.WithLabelValues(string(t))
	}
	for _, s := range endStatuses {
		m.sessionsEnded.WithLabelValues(string(s))
	}
	m.Registry.MustRegister(m.requests, m.sessionsCreated, m.sessionsEnded, m.tokensConsumed, m.replays, m.apiKeyLookups, m.authLimited,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus exposition format. A nil
// Metrics serves 404.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

// ObserveRequest records one answered request. route is the pattern the
// router matched (http.Request.Pattern), "" when none did.
func (m *Metrics) ObserveRequest(method, route string, status int, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(methodLabel(method), RouteLabel(route), strconv.Itoa(status)).Observe(d.Seconds())
}

// SessionCreated counts a new session.
func (m *Metrics) SessionCreated(intent connectd.IntentType) {
	if m == nil {
		return
	}
	label := "other"
	if intent.Valid() {
		label = string(intent)
	}
	m.sessionsCreated.WithLabelValues(label).Inc()
}

// SessionEnded counts a session that ended with status: completed, aborted,
// failed or expired. Other statuses are not outcomes and are ignored.
func (m *Metrics) SessionEnded(status connectd.SessionStatus) {
	if m == nil {
		return
	}
	for _, s := range endStatuses {
		if s == status {
			m.sessionsEnded.WithLabelValues(string(s)).Inc()
			return
		}
	}
}

// TokenConsumed counts a session url entered.
func (m *Metrics) TokenConsumed() {
	if m == nil {
		return
	}
	m.tokensConsumed.Inc()
}

// Replayed counts a used session url opened in another browser.
func (m *Metrics) Replayed() {
	if m == nil {
		return
	}
	m.replays.Inc()
}

// APIKeyLookedUp counts an API key read from the database.
func (m *Metrics) APIKeyLookedUp() { m.inc(func() prometheus.Counter { return m.apiKeyLookups }) }

// AuthLimited counts a request refused by the failed-authentication limit.
func (m *Metrics) AuthLimited() { m.inc(func() prometheus.Counter { return m.authLimited }) }

// inc increments the counter c returns, unless m is nil.
func (m *Metrics) inc(c func() prometheus.Counter) {
	if m != nil {
		c().Inc()
	}
}

// WatchPools adds the database pool collector for st when it reports its
// pools (poolstat.Reporter); other stores are left out. Call it once.
func (m *Metrics) WatchPools(st connectd.Store) error {
	ps, ok := st.(poolstat.Reporter)
	if m == nil || !ok {
		return nil
	}
	return m.Registry.Register(newPoolCollector(ps))
}

// methodLabel keeps the standard methods; anything else a client sends is
// "other", so that a made-up method cannot add series.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

// RouteLabel is the route label of a request whose matched pattern is
// pattern: the pattern without its method ("GET /checkout/entry" is
// "/checkout/entry"), "unmatched" when no pattern matched (the router's own
// redirects and 405s). Patterns are fixed at start, so the label never holds
// a request's path.
func RouteLabel(pattern string) string {
	if pattern == "" {
		return "unmatched"
	}
	if i := strings.IndexAny(pattern, " \t"); i >= 0 {
		pattern = strings.TrimLeft(pattern[i:], " \t")
	}
	return pattern
}
