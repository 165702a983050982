package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/poolstat"
)

func TestRouteLabel(t *testing.T) {
	for pattern, want := range map[string]string{
		"":                    "unmatched",
		"/":                   "/",
		"GET /checkout/entry": "/checkout/entry",
		"POST\t/portal/exit":  "/portal/exit",
		"/projects/{project}/connectSessions/{id}": "/projects/{project}/connectSessions/{id}",
	} {
		if got := RouteLabel(pattern); got != want {
			t.Errorf("RouteLabel(%q) = %q, want %q", pattern, got, want)
		}
	}
}

func TestLabelsAreClosedSets(t *testing.T) {
	m := New()
	m.ObserveRequest("BREW", "", 418, time.Millisecond)
	m.ObserveRequest(http.MethodGet, "GET /healthz", 200, time.Millisecond)
	m.SessionCreated(connectd.IntentType("stealEverything"))
	m.SessionEnded(connectd.StatusOpen) // not an outcome
	m.SessionEnded(connectd.StatusFailed)
	if n := testutil.CollectAndCount(m.requests); n != 2 {
		t.Errorf("%d request series, want 2", n)
	}
	if n := testutil.ToFloat64(m.sessionsCreated.WithLabelValues("other")); n != 1 {
		t.Errorf("sessions_created_total{intent=other} = %v", n)
	}
	if n := testutil.CollectAndCount(m.sessionsEnded); n != len(endStatuses) {
		t.Errorf("%d outcome series, want %d", n, len(endStatuses))
	}
	if n := testutil.ToFloat64(m.sessionsEnded.WithLabelValues("failed")); n != 1 {
		t.Errorf("sessions_ended_total{status=failed} = %v", n)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body := rec.Body.String()
	if strings.Contains(body, "BREW") || strings.Contains(body, "stealEverything") {
		t.Errorf("a client's text became a label:\n%s", body)
	}
	if !strings.Contains(body, `connectd_http_request_duration_seconds_count{code="418",method="other",route="unmatched"} 1`) {
		t.Errorf("no request series for the unknown method:\n%s", body)
	}
}

func TestNilMetricsRecordNothing(t *testing.T) {
	var m *Metrics
	m.ObserveRequest(http.MethodGet, "/", 200, time.Millisecond)
	m.SessionCreated(connectd.IntentViewSubscriptions)
	m.SessionEnded(connectd.StatusCompleted)
	m.TokenConsumed()
	m.Replayed()
	if err := m.WatchPools(nil); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("nil metrics served %d", rec.Code)
	}
}

type fakePools []poolstat.Stat

func (f fakePools) PoolStats() []poolstat.Stat { return f }

func TestPoolCollector(t *testing.T) {
	c := newPoolCollector(fakePools{
		{Pool: "writer", MaxOpen: 1, Open: 1, InUse: 1, WaitCount: 3, WaitDuration: 1500 * time.Millisecond},
		{Pool: "postgres", MaxOpen: 4, Open: 2, Idle: 2, HasAcquire: true, AcquireCount: 7, AcquireDuration: time.Second},
	})
	want := `
# HELP connectd_db_pool_acquires_total Connections acquired (pools that count them: PostgreSQL).
# TYPE connectd_db_pool_acquires_total counter
connectd_db_pool_acquires_total{pool="postgres"} 7
# HELP connectd_db_pool_wait_seconds_total Time spent waiting for a connection.
# TYPE connectd_db_pool_wait_seconds_total counter
connectd_db_pool_wait_seconds_total{pool="postgres"} 0
connectd_db_pool_wait_seconds_total{pool="writer"} 1.5
# HELP connectd_db_pool_in_use_connections Connections handed out (acquired).
# TYPE connectd_db_pool_in_use_connections gauge
connectd_db_pool_in_use_connections{pool="postgres"} 0
connectd_db_pool_in_use_connections{pool="writer"} 1
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "connectd_db_pool_acquires_total", "connectd_db_pool_wait_seconds_total", "connectd_db_pool_in_use_connections"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(c); n != 2*6+2 {
		t.Errorf("%d pool series, want 14", n)
	}
}
