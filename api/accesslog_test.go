package api_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/connectd/connectd/internal/apitest"
)

// TestAccessLogShape: every request is logged in one shape, API, portal and
// operations routes alike: method, the route pattern without a method,
// status, duration and request id (issue 16.4: API routes were logged
// without their method, portal routes with it, and /openapi.json as /…).
func TestAccessLogShape(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, apitest.Options{})
	requests := []struct {
		method, path, route string
		status              int
	}{
		{"GET", "/projects/" + e.Project + "/connectSessions", "/projects/{project}/connectSessions", http.StatusOK},
		{"GET", "/openapi.json", "/openapi.json", http.StatusOK},
		{"GET", "/checkout/entry?session=csn_0000000000000000000000000000&token=x", "/checkout/entry", 0},
		{"GET", "/healthz", "/healthz", http.StatusOK},
	}
	for _, rq := range requests {
		r := e.Do(apitest.Request{Method: rq.method, Path: rq.path, Header: map[string]string{"X-Request-Id": "req-" + strings.Trim(rq.route, "/{}")[:3]}})
		if rq.status != 0 && r.Status != rq.status {
			t.Fatalf("%s %s = %d", rq.method, rq.path, r.Status)
		}
	}
	seen := map[string]map[string]any{}
	sc := bufio.NewScanner(strings.NewReader(e.Logs.String()))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil || line["msg"] != "request" {
			continue
		}
		route, _ := line["route"].(string)
		seen[route] = line
	}
	for _, rq := range requests {
		line, ok := seen[rq.route]
		if !ok {
			t.Errorf("no request line with route %q; logged: %s", rq.route, e.Logs.String())
			continue
		}
		for _, k := range []string{"method", "route", "path", "status", "duration_ms", "request_id"} {
			if _, ok := line[k]; !ok {
				t.Errorf("%s: the request line has no %q: %v", rq.route, k, line)
			}
		}
		if line["method"] != rq.method {
			t.Errorf("%s: method %v, want %s", rq.route, line["method"], rq.method)
		}
		if p, _ := line["path"].(string); rq.route == "/openapi.json" && p != rq.path {
			t.Errorf("%s: path %q, want %q", rq.route, p, rq.path)
		}
	}
}
