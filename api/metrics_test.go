package api_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/connectd/connectd/internal/apitest"
)

// TestMetrics drives sessions through the API and the portal over real
// HTTP, then reads GET /metrics as Prometheus would: the series are there
// with the right labels and values, routes are patterns, and nothing a
// client sent (a token, a key, a url, a random path) shows up.
func TestMetrics(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		e := apitest.New(t, apitest.Options{Backend: b})
		secrets := []string{e.Key}
		user := e.CreateUser("jerry@example.com")
		create := func(intent string) (string, string) {
			t.Helper()
			id, u := e.CreateSession(map[string]any{"intent": map[string]any{"type": intent}, "user": user,
				"callbackUrl": "https://app.example.com/back"})
			secrets = append(secrets, u, mustQuery(t, u, "token"))
			return id, u
		}

		// Completed: entered, then the name saved.
		_, completedURL := create("updateUserFullName")
		br := e.NewBrowser()
		if r := br.Enter(completedURL); r.Status != http.StatusSeeOther {
			t.Fatalf("enter: %d %s", r.Status, r.Body)
		}
		if r := br.Post("/portal/name", url.Values{"full_name": {"Jerry S"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("save name: %d %s", r.Status, r.Body)
		}
		// Aborted: entered, then exit.
		_, abortedURL := create("updateUserFullName")
		br = e.NewBrowser()
		br.Enter(abortedURL)
		if r := br.Post("/portal/exit", nil); r.Status != http.StatusSeeOther {
			t.Fatalf("exit: %d %s", r.Status, r.Body)
		}
		// Entered, then the used url replayed in another browser.
		_, replayedURL := create("updateUserFullName")
		e.NewBrowser().Enter(replayedURL)
		ru, _ := url.Parse(replayedURL)
		replay := url.Values{"session": {ru.Query().Get("session")}, "token": {ru.Query().Get("token")}}
		if r := e.NewBrowser().Post("/checkout/entry", replay); r.Status != http.StatusSeeOther {
			t.Fatalf("replay: %d %s", r.Status, r.Body)
		}
		// Expired through the API, twice: one outcome.
		expired, _ := create("viewSubscriptions")
		for range 2 {
			if r := e.Post("/connectSessions/"+expired+"/expire", nil); r.Status != http.StatusOK {
				t.Fatalf("expire: %d %s", r.Status, r.Body)
			}
		}
		if r := e.Get("/connectSessions/" + expired); r.Status != http.StatusOK {
			t.Fatalf("get: %d %s", r.Status, r.Body)
		}
		if r := e.Get("/connectSessions/csn_0000000000000000000000000000"); r.Status != http.StatusNotFound {
			t.Fatalf("get unknown: %d %s", r.Status, r.Body)
		}
		// Paths and a method no route has: their text must not become labels.
		random := randomSegment(t)
		secrets = append(secrets, random)
		for _, path := range []string{"/projects/" + e.Project + "/connectSessions/" + random, "/" + random, "/projects/" + random + "/users"} {
			e.Do(apitest.Request{Method: http.MethodGet, Path: path})
		}
		e.Do(apitest.Request{Method: "X" + strings.ToUpper(random[:10]), Path: "/healthz"})

		body := scrapeMetrics(t, e)
		for _, s := range secrets {
			if strings.Contains(body, s) {
				t.Errorf("/metrics holds a secret or a client's text (%.12s…)", s)
			}
		}
		fams := parseMetrics(t, body)
		for _, f := range fams {
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "route" && !isPatternLabel(l.GetValue()) {
						t.Errorf("%s: route label %q is not a route pattern", f.GetName(), l.GetValue())
					}
				}
			}
		}

		counters := map[string]float64{
			`connectd_sessions_created_total{intent="updateUserFullName"}`: 3,
			`connectd_sessions_created_total{intent="viewSubscriptions"}`:  1,
			`connectd_sessions_created_total{intent="cancelSubscription"}`: 0,
			`connectd_sessions_ended_total{status="completed"}`:            1,
			`connectd_sessions_ended_total{status="aborted"}`:              1,
			`connectd_sessions_ended_total{status="expired"}`:              1,
			`connectd_sessions_ended_total{status="failed"}`:               0,
			`connectd_session_tokens_consumed_total`:                       3,
			`connectd_session_url_replays_total`:                           1,
		}
		for series, want := range counters {
			if got, ok := value(fams, series); !ok || got != want {
				t.Errorf("%s = %v (present %v), want %v", series, got, ok, want)
			}
		}

		// Latency: one histogram series per method, route pattern and code.
		const hist = "connectd_http_request_duration_seconds"
		for series, want := range map[string]uint64{
			hist + `{method="POST",route="/projects/{project}/connectSessions",code="201"}`:             4,
			hist + `{method="POST",route="/projects/{project}/connectSessions/{id}/expire",code="200"}`: 2,
			hist + `{method="GET",route="/projects/{project}/connectSessions/{id}",code="200"}`:         1,
			hist + `{method="GET",route="/projects/{project}/connectSessions/{id}",code="404"}`:         2,
			hist + `{method="POST",route="/projects/{project}/users",code="201"}`:                       1,
			hist + `{method="GET",route="/checkout/entry",code="200"}`:                                  3,
			hist + `{method="POST",route="/checkout/entry",code="303"}`:                                 4, // 3 entries, 1 replay
			hist + `{method="POST",route="/portal/name",code="303"}`:                                    1,
			hist + `{method="POST",route="/portal/exit",code="303"}`:                                    1,
			hist + `{method="GET",route="/",code="404"}`:                                                1,
			hist + `{method="GET",route="/projects/{project}/users",code="403"}`:                        1,
			hist + `{method="other",route="/",code="404"}`:                                              1,
		} {
			if got, ok := histCount(fams, series); !ok || got != want {
				t.Errorf("%s: %d observations (present %v), want %d", series, got, ok, want)
			}
		}

		// Database pools, by pool.
		pools := []string{"writer", "reader"}
		if b == apitest.Postgres {
			pools = []string{"postgres"}
		}
		for _, p := range pools {
			for _, name := range []string{"max_connections", "open_connections", "in_use_connections", "idle_connections", "waits_total", "wait_seconds_total"} {
				if _, ok := value(fams, fmt.Sprintf(`connectd_db_pool_%s{pool=%q}`, name, p)); !ok {
					t.Errorf("no connectd_db_pool_%s for pool %s", name, p)
				}
			}
			_, ok := value(fams, fmt.Sprintf(`connectd_db_pool_acquires_total{pool=%q}`, p))
			if ok != (b == apitest.Postgres) {
				t.Errorf("pool %s: acquires_total present = %v", p, ok)
			}
		}
		if v, ok := value(fams, `connectd_db_pool_max_connections{pool="writer"}`); b == apitest.SQLite && (!ok || v != 1) {
			t.Errorf("writer pool max_connections = %v, want 1", v)
		}
		if v, ok := value(fams, `connectd_db_pool_open_connections{pool="reader"}`); b == apitest.SQLite && (!ok || v < 1) {
			t.Errorf("reader pool open_connections = %v, want at least 1", v)
		}

		// The Go runtime and the process.
		if _, ok := fams["go_goroutines"]; !ok {
			t.Error("no go_goroutines")
		}
		if _, ok := fams["process_cpu_seconds_total"]; !ok && runtime.GOOS == "linux" {
			t.Error("no process_cpu_seconds_total")
		}
	})
}

// TestMetricsUnauthenticated: /metrics needs no key, any key is ignored, and
// it is never cached.
func TestMetricsUnauthenticated(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, apitest.Options{})
	for _, req := range []apitest.Request{
		{Method: http.MethodGet, Path: "/metrics", NoAuth: true},
		{Method: http.MethodGet, Path: "/metrics", Key: "cdk_wrong"},
	} {
		r := e.Do(req)
		if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
			t.Fatalf("GET /metrics: %d %q", r.Status, r.Header.Get("Content-Type"))
		}
		if r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control = %q", r.Header.Get("Cache-Control"))
		}
	}
	if r := e.Do(apitest.Request{Method: http.MethodPost, Path: "/metrics", NoAuth: true}); r.Status != http.StatusNotFound {
		t.Errorf("POST /metrics: %d", r.Status)
	}
}

// scrapeMetrics returns the body of GET /metrics. A request's latency is
// observed as its handler returns, which can be just after the client read
// a large answer: scrape until the last request before it is counted.
func scrapeMetrics(t *testing.T, e *apitest.Env) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := e.Do(apitest.Request{Method: http.MethodGet, Path: "/metrics", NoAuth: true})
		if r.Status != http.StatusOK {
			t.Fatalf("GET /metrics: %d %s", r.Status, r.Body)
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Fatalf("GET /metrics: Content-Type %q", ct)
		}
		if n, _ := histCount(parseMetrics(t, string(r.Body)), `connectd_http_request_duration_seconds{method="other",route="/",code="404"}`); n > 0 || time.Now().After(deadline) {
			return string(r.Body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func parseMetrics(t *testing.T, body string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return fams
}

// find returns the metric of series, written as name{label="value",...}
// with every label of the metric.
func find(fams map[string]*dto.MetricFamily, series string) *dto.Metric {
	name, labels, _ := strings.Cut(strings.TrimSuffix(series, "}"), "{")
	f := fams[name]
	if f == nil {
		return nil
	}
	var want []string
	if labels != "" {
		want = strings.Split(labels, ",")
	}
	for _, m := range f.GetMetric() {
		var got []string
		for _, l := range m.GetLabel() {
			got = append(got, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
		}
		slices.Sort(got)
		w := slices.Clone(want)
		slices.Sort(w)
		if slices.Equal(got, w) {
			return m
		}
	}
	return nil
}

func value(fams map[string]*dto.MetricFamily, series string) (float64, bool) {
	m := find(fams, series)
	switch {
	case m == nil:
		return 0, false
	case m.Counter != nil:
		return m.Counter.GetValue(), true
	case m.Gauge != nil:
		return m.Gauge.GetValue(), true
	}
	return 0, false
}

func histCount(fams map[string]*dto.MetricFamily, series string) (uint64, bool) {
	m := find(fams, series)
	if m == nil || m.Histogram == nil {
		return 0, false
	}
	return m.Histogram.GetSampleCount(), true
}

// isPatternLabel accepts route labels made of a route's fixed words and
// {wildcards}: what http.ServeMux patterns are made of, never a client's
// text.
func isPatternLabel(v string) bool {
	if v == "unmatched" {
		return true
	}
	if !strings.HasPrefix(v, "/") {
		return false
	}
	for _, seg := range strings.Split(v[1:], "/") {
		if seg == "" || strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			continue
		}
		if len(seg) > 24 || strings.Trim(seg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-_") != "" {
			return false
		}
	}
	return true
}

// randomSegment returns 43 random URL-safe characters: the shape of a token.
func randomSegment(t *testing.T) string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func mustQuery(t *testing.T, raw, key string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get(key)
}
