package main

import (
	"encoding/json"
	"github.com/connectd/connectd/internal/proctest"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckPprofAddr(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"", "127.0.0.1:6060", "127.0.0.2:0", "[::1]:6060", "localhost:6060"} {
		if err := checkPprofAddr(addr); err != nil {
			t.Errorf("checkPprofAddr(%q): %v", addr, err)
		}
	}
	for _, addr := range []string{"0.0.0.0:6060", ":6060", "[::]:6060", "10.0.0.1:6060", "example.com:6060", "127.0.0.1", "localhost.example.com:6060"} {
		if err := checkPprofAddr(addr); err == nil || !strings.Contains(err.Error(), "--pprof-addr") {
			t.Errorf("checkPprofAddr(%q) = %v, want a refusal naming --pprof-addr", addr, err)
		}
	}
}

// TestServePprof: --pprof-addr (or CONNECTD_PPROF_ADDR) refuses a
// non-loopback address at start; a loopback one serves /debug/pprof/ on a
// listener of its own, which the API's listener does not.
func TestServePprof(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "connectd.db")
	for _, c := range []struct {
		env  []string
		args []string
	}{
		{nil, []string{"--pprof-addr", "0.0.0.0:6060"}},
		{[]string{"CONNECTD_PPROF_ADDR=0.0.0.0:6060"}, nil},
		{nil, []string{"--pprof-addr", ":6060"}},
	} {
		r := proctest.RunCLI(t, dir, c.env, append([]string{"serve", "--db", db, "--addr", "127.0.0.1:0"}, c.args...)...)
		if r.Code != 1 || !strings.Contains(r.Stderr, "--pprof-addr") || !strings.Contains(r.Stderr, "loopback") {
			t.Errorf("serve with a public pprof address (env %q): want exit 1 and a loopback message, got %s", c.env, r)
		}
	}

	srv := proctest.StartServe(t, dir, nil, "--db", db, "--addr", "127.0.0.1:0", "--pprof-addr", "127.0.0.1:0")
	var pprofAddr string
	proctest.WaitFor(t, `serve to log "pprof serving"`, func() bool {
		for _, line := range strings.Split(srv.Stderr.String(), "\n") {
			var l struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "pprof serving" && l.Addr != "" {
				pprofAddr = l.Addr
				return true
			}
		}
		return false
	}, srv)
	if !strings.HasPrefix(pprofAddr, "127.0.0.1:") {
		t.Fatalf("pprof listens on %q", pprofAddr)
	}
	resp, body := get(t, "http://"+pprofAddr+"/debug/pprof/", "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine") {
		t.Errorf("GET /debug/pprof/ on the pprof listener: %d\n%.300s", resp.StatusCode, body)
	}
	if resp, _ := get(t, "http://"+pprofAddr+"/debug/pprof/goroutine?debug=1", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /debug/pprof/goroutine: %d", resp.StatusCode)
	}
	if resp, _ := get(t, srv.PublicURL+"/debug/pprof/", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the API listener serves /debug/pprof/: %d", resp.StatusCode)
	}
	if resp, body := get(t, srv.PublicURL+"/metrics", ""); resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `connectd_db_pool_open_connections{pool="writer"}`) {
		t.Errorf("GET /metrics: %d\n%.300s", resp.StatusCode, body)
	}
	if code := srv.Stop(t); code != 0 {
		t.Errorf("serve exited %d after SIGTERM:\n%s", code, srv.Output())
	}
}
