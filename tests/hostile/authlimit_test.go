package hostile

import (
	"bufio"
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/apitest"
	"github.com/connectd/connectd/ratelimit"
)

// metricValue reads one unlabelled counter from GET /metrics.
func metricValue(t *testing.T, e *apitest.Env, name string) float64 {
	t.Helper()
	r := e.Do(apitest.Request{Method: http.MethodGet, Path: "/metrics", NoAuth: true})
	sc := bufio.NewScanner(bytes.NewReader(r.Body))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return f
		}
	}
	t.Fatalf("no metric %s in /metrics", name)
	return 0
}

// TestFailedAuthLimitedPerAddress: invalid API keys from one client address
// get 401 for the burst, then 429 with Retry-After and no database lookup;
// a valid key from another address is never limited, and neither is a key
// that authenticated before from the limited address (issue 11.11).
func TestFailedAuthLimitedPerAddress(t *testing.T) {
	const burst = 5
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		// A rate so low that no token comes back during the test.
		e := apitest.New(t, apitest.Options{Backend: b, TrustProxyHeaders: true,
			AuthFailLimit: ratelimit.Config{Rate: 0.001, Burst: burst}})
		_, freshKey := e.NewProject("other", nil) // valid, never used before the flood
		const attacker, neighbour = "203.0.113.7", "198.51.100.9"
		from := func(addr, key string, noAuth bool) *apitest.Response {
			return e.Do(apitest.Request{Method: http.MethodGet, Path: "/projects/" + e.Project + "/connectSessions",
				Key: key, NoAuth: noAuth, Header: map[string]string{"X-Forwarded-For": addr}})
		}
		badKey := connectd.APIKeyPrefix + "0000000000000000000000000000000000000000000"

		// The valid key authenticates once from the attacker's address
		// before the flood: the server knows it.
		if r := from(attacker, e.Key, false); r.Status != http.StatusOK {
			t.Fatalf("valid key before the flood: %d %s", r.Status, r.Body)
		}
		before := metricValue(t, e, "connectd_api_key_lookups_total")
		for i := range burst {
			if r := from(attacker, badKey, false); r.Status != http.StatusUnauthorized {
				t.Fatalf("bad key %d within the burst: %d %s", i, r.Status, r.Body)
			}
		}
		if got := metricValue(t, e, "connectd_api_key_lookups_total") - before; got != burst {
			t.Fatalf("lookups within the burst = %v, want %d", got, burst)
		}
		before = metricValue(t, e, "connectd_api_key_lookups_total")
		limitedBefore := metricValue(t, e, "connectd_auth_failures_limited_total")

		for _, tc := range []struct {
			name   string
			addr   string
			key    string
			noAuth bool
			n      int
			want   int
		}{
			{"bad key, limited address", attacker, badKey, false, 30, http.StatusTooManyRequests},
			{"no key, limited address", attacker, "", true, 5, http.StatusTooManyRequests},
			{"valid key never seen, limited address", attacker, freshKey, false, 3, http.StatusTooManyRequests},
			{"valid key seen before, limited address", attacker, e.Key, false, 10, http.StatusOK},
			{"valid key, other address", neighbour, e.Key, false, 50, http.StatusOK},
			{"bad key, other address (its own burst)", neighbour, badKey, false, burst, http.StatusUnauthorized},
			{"valid key after its address's failures", neighbour, e.Key, false, 10, http.StatusOK},
		} {
			for i := range tc.n {
				r := from(tc.addr, tc.key, tc.noAuth)
				if r.Status != tc.want {
					t.Fatalf("%s, request %d: %d %s, want %d", tc.name, i, r.Status, r.Body, tc.want)
				}
				if tc.want == http.StatusTooManyRequests {
					if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra < 1 {
						t.Fatalf("%s: Retry-After %q", tc.name, r.Header.Get("Retry-After"))
					}
					if code := r.JSON(t)["code"]; code != "authRateLimited" {
						t.Fatalf("%s: code %v", tc.name, code)
					}
				}
			}
		}
		// Looked up: the valid keys (10 + 50 + 10) and the neighbour's
		// burst of bad keys; never one of the 38 refused requests.
		if got, want := metricValue(t, e, "connectd_api_key_lookups_total")-before, float64(10+50+burst+10); got != want {
			t.Errorf("lookups after the limit = %v, want %v (none for refused requests)", got, want)
		}
		if got := metricValue(t, e, "connectd_auth_failures_limited_total") - limitedBefore; got != 30+5+3 {
			t.Errorf("limited = %v, want 38", got)
		}
	})
}
