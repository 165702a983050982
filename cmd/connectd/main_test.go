package main

// Tests of the binary's own commands and flags: the connectd binary, built
// once by TestMain (internal/proctest), run as real processes on loopback,
// spoken to over real HTTP. The process-level reliability suite (load,
// crashes, shutdown, slow clients) is tests/process.

import (
	"bufio"
	"bytes"
	"context"
	"debug/buildinfo"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/proctest"
	"github.com/connectd/connectd/store"
	"github.com/connectd/connectd/store/postgres/pgtest"
)

// The binary, built once for this package's tests.
func TestMain(m *testing.M) { os.Exit(proctest.Main(m)) }

func TestVersion(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"version", "--version"} {
		r := proctest.RunCLI(t, t.TempDir(), nil, arg)
		if r.Code != 0 || !regexp.MustCompile(`^connectd \S+( \(.+\))?\n$`).MatchString(r.Stdout) || r.Stderr != "" {
			t.Errorf("connectd %s: %s", arg, r)
		}
	}
	for _, args := range [][]string{nil, {"frobnicate"}, {"projects"}, {"keys", "delete"}} {
		r := proctest.RunCLI(t, t.TempDir(), nil, args...)
		if r.Code != 2 || !strings.Contains(r.Stderr, "Usage:") {
			t.Errorf("connectd %q: want exit 2 and the usage, got %s", args, r)
		}
	}
}

// TestVersionNamesTheCommit: a binary built from a git checkout names its
// commit in `connectd version`, in /healthz and in the startup log line
// (issue 16.8: "connectd dev" told a bug report nothing).
func TestVersionNamesTheCommit(t *testing.T) {
	t.Parallel()
	proctest.RequireBinary(t)
	bi, err := buildinfo.ReadFile(proctest.Bin)
	if err != nil {
		t.Fatal(err)
	}
	var commit string
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			commit = s.Value[:12]
		}
	}
	if commit == "" {
		// The go command stamps nothing outside a git checkout, and in a git
		// worktree; CI builds from a clone, where it does.
		t.Skip("the go command stamped no commit into the test binary (not built from a git clone)")
	}
	r := proctest.RunCLI(t, t.TempDir(), nil, "version")
	if r.Code != 0 || !strings.Contains(r.Stdout, "commit "+commit) {
		t.Errorf("connectd version = %s; want it to name commit %s", r, commit)
	}
	srv := proctest.StartServe(t, t.TempDir(), nil, "--addr", "127.0.0.1:0")
	req, err := http.NewRequest("GET", srv.PublicURL+"/healthz", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := send(t, req)
	var health struct{ Status, Version, Commit string }
	if err := json.Unmarshal(body, &health); err != nil || resp.StatusCode != 200 || health.Status != "ok" ||
		!strings.HasPrefix(health.Commit, commit) || health.Version == "" {
		t.Errorf("/healthz = %d %s; want status ok, a version and commit %s…", resp.StatusCode, body, commit)
	}
	if !strings.Contains(srv.Output(), `"commit":"`+health.Commit) {
		t.Errorf("the startup log does not name commit %s:\n%s", health.Commit, srv.Output())
	}
	if code := srv.Stop(t); code != 0 {
		t.Errorf("serve exited %d after SIGTERM", code)
	}
}

// TestHelp: every command's --help (and -h) exits 0 and prints to stdout
// every flag the command has, each with its environment variable; the
// top-level usage names every flag of projects create (issue 16.3).
func TestHelp(t *testing.T) {
	t.Parallel()
	flagLine := regexp.MustCompile(`(?m)^  --([a-z-]+)`)
	for _, cmd := range [][]string{{"serve"}, {"migrate"}, {"projects", "create"}, {"keys", "create"}, {"seed"}} {
		for _, h := range []string{"--help", "-h"} {
			args := append(slices.Clone(cmd), h)
			r := proctest.RunCLI(t, t.TempDir(), nil, args...)
			if r.Code != 0 || r.Stderr != "" {
				t.Errorf("connectd %q: want exit 0 and nothing on stderr, got %s", args, r)
				continue
			}
			flags := flagLine.FindAllStringSubmatch(r.Stdout, -1)
			if len(flags) == 0 {
				t.Errorf("connectd %q listed %d flags:\n%s", args, len(flags), r.Stdout)
			}
			for _, f := range flags {
				env := "CONNECTD_" + strings.ToUpper(strings.ReplaceAll(f[1], "-", "_"))
				entry := r.Stdout[strings.Index(r.Stdout, f[0]):]
				if next := flagLine.FindStringIndex(entry[len(f[0]):]); next != nil {
					entry = entry[:len(f[0])+next[0]]
				}
				if !strings.Contains(entry, env) {
					t.Errorf("connectd %q: flag --%s does not name %s:\n%s", args, f[1], env, entry)
				}
			}
		}
	}
	r := proctest.RunCLI(t, t.TempDir(), nil, "--help")
	if r.Code != 0 {
		t.Fatalf("connectd --help: %s", r)
	}
	proj := proctest.RunCLI(t, t.TempDir(), nil, "projects", "create", "--help")
	for _, f := range flagLine.FindAllStringSubmatch(proj.Stdout, -1) {
		if !strings.Contains(r.Stdout, "--"+f[1]) {
			t.Errorf("the top-level usage leaves out projects create's --%s", f[1])
		}
	}
	if r := proctest.RunCLI(t, t.TempDir(), nil, "serve", "--no-such-flag"); r.Code != 2 || !strings.Contains(r.Stderr, "--addr") {
		t.Errorf("connectd serve --no-such-flag: want exit 2 and the flags on stderr, got %s", r)
	}
}

func TestServeDemoCurlLineWorks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv := proctest.StartServe(t, dir, nil, "--demo", "--addr", "127.0.0.1:0")

	if !fileExists(filepath.Join(dir, "connectd.db")) {
		t.Errorf("serve --demo did not make its database at ./connectd.db")
	}
	// stdout and stderr reach us through separate pipes: the curl line
	// may arrive after the "serving" log line.
	var line string
	proctest.WaitFor(t, "serve --demo to print a curl line", func() bool {
		for _, l := range strings.SplitAfter(srv.Stdout.String(), "\n") {
			if strings.HasPrefix(l, "curl ") && strings.HasSuffix(l, "\n") {
				line = strings.TrimSuffix(l, "\n")
			}
		}
		return line != ""
	}, srv)
	req := parseCurl(t, line)
	if !strings.HasPrefix(req.URL.String(), srv.PublicURL+"/") {
		t.Errorf("curl line's URL %s is not under the public URL %s", req.URL, srv.PublicURL)
	}
	if auth := req.Header.Get("Authorization"); !strings.Contains(srv.Stdout.String(), "API key: "+strings.TrimPrefix(auth, "Bearer ")+"\n") {
		t.Errorf("the curl line's key is not the printed API key:\n%s", srv.Stdout.String())
	}

	resp, body := send(t, req)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("curl line: %d %s", resp.StatusCode, body)
	}
	var sess struct {
		Object string  `json:"object"`
		URL    *string `json:"url"`
	}
	if err := json.Unmarshal(body, &sess); err != nil || sess.Object != "connectSession" || sess.URL == nil {
		t.Fatalf("curl line answered %s", body)
	}
	if !strings.HasPrefix(*sess.URL, srv.PublicURL+"/checkout/entry?") {
		t.Errorf("session url %s is not under the public URL %s", *sess.URL, srv.PublicURL)
	}
	walkDemoRoundTrip(t, srv.PublicURL, *sess.URL)
	if code := srv.Stop(t); code != 0 {
		t.Errorf("serve --demo exited %d after SIGTERM:\n%s", code, srv.Output())
	}
}

// walkDemoRoundTrip follows the demo's session url as a browser without
// JavaScript would (issue 16.1): entry, the name form, Continue, and back to
// the local callback page, which must show the session completed.
func walkDemoRoundTrip(t *testing.T, base, sessionURL string) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, Timeout: proctest.RequestTimeout}
	do := func(method, target string, form url.Values) (string, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequest(method, target, body)
		if err != nil {
			t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, target, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s ended at %s with %d:\n%s", method, target, resp.Request.URL, resp.StatusCode, b)
		}
		return resp.Request.URL.Path, string(b)
	}
	hidden := regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	_, page := do("GET", sessionURL, nil)
	form := url.Values{}
	for _, m := range hidden.FindAllStringSubmatch(page, -1) {
		form.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	path, _ := do("POST", base+"/checkout/entry", form)
	if path != "/portal/name" {
		t.Fatalf("entry led to %s, want the name page", path)
	}
	if path, _ = do("POST", base+"/portal/name", url.Values{"full_name": {"Jerry Round-Trip"}}); path != "/portal/done" {
		t.Fatalf("saving the name led to %s, want the done page", path)
	}
	path, page = do("POST", base+"/portal/continue", url.Values{})
	if path != "/demo/callback" {
		t.Fatalf("Continue led to %s, want the demo's local callback page", path)
	}
	for _, want := range []string{`data-testid="link-status">success<`, `data-testid="api-status">completed<`, `data-testid="intent">updateUserFullName<`} {
		if !strings.Contains(page, want) {
			t.Errorf("the callback page lacks %s:\n%s", want, page)
		}
	}
}

func TestSecondServeOnSameSQLiteRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "connectd.db")
	first := proctest.StartServe(t, dir, nil, "--db", "sqlite:"+path, "--addr", "127.0.0.1:0")

	second := proctest.RunCLI(t, dir, nil, "serve", "--db", "sqlite:"+path, "--addr", "127.0.0.1:0")
	if second.Code != 1 || !strings.Contains(second.Stderr, path) || !strings.Contains(second.Stderr, "another") {
		t.Errorf("second serve on %s: want exit 1 and a message naming the file and the other process, got %s", path, second)
	}
	if resp, body := get(t, first.PublicURL+"/healthz", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("first serve after the second one's attempt: /healthz %d %s", resp.StatusCode, body)
	}
	if code := first.Stop(t); code != 0 {
		t.Errorf("first serve exited %d after SIGTERM:\n%s", code, first.Output())
	}
	// The lock goes with the process that held it.
	third := proctest.StartServe(t, dir, nil, "--db", "sqlite:"+path, "--addr", "127.0.0.1:0")
	if code := third.Stop(t); code != 0 {
		t.Errorf("serve after the first one stopped exited %d:\n%s", code, third.Output())
	}
}

func TestMigrateIdempotent(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, dir, db string) {
		for i := 0; i < 2; i++ {
			if r := proctest.RunCLI(t, dir, nil, "migrate", "--db", db); r.Code != 0 || r.Stdout != "migrations applied\n" {
				t.Fatalf("migrate #%d: %s", i+1, r)
			}
		}
		// The schema works after the second run.
		if r := proctest.RunCLI(t, dir, nil, "projects", "create", "--db", db, "--id", "acme"); r.Code != 0 {
			t.Fatalf("projects create after migrating twice: %s", r)
		}
		if r := proctest.RunCLI(t, dir, nil, "migrate", "--db", db); r.Code != 0 {
			t.Fatalf("migrate on a database with data: %s", r)
		}
		if p := getProject(t, db, "acme"); p == nil {
			t.Fatal("project acme is gone after migrate")
		}
	})
}

func TestSeedCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "seed.db")
	file, err := filepath.Abs(filepath.Join("..", "..", "seed", "testdata", "full.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"seed", "--db", db}, {"seed", "--db", db, "--demo", "--file", file}} {
		if r := proctest.RunCLI(t, dir, nil, args...); r.Code != 2 || !strings.Contains(r.Stderr, "exactly one of --file F and --demo") {
			t.Errorf("connectd %q: want exit 2 and the choice explained, got %s", args, r)
		}
	}
	for _, args := range [][]string{{"seed", "--db", db, "--file", file}, {"seed", "--db", db, "--demo"}} {
		if r := proctest.RunCLI(t, dir, nil, args...); r.Code != 0 || !strings.HasPrefix(r.Stdout, "created ") {
			t.Fatalf("connectd %q: %s", args, r)
		}
		// Loading the same objects again writes nothing.
		if r := proctest.RunCLI(t, dir, nil, args...); r.Code != 0 || !strings.HasPrefix(r.Stdout, "nothing to do") {
			t.Fatalf("connectd %q again: %s", args, r)
		}
	}
}

func TestProjectsCreateFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "connectd.db")
	create := func(env []string, args ...string) proctest.Result {
		return proctest.RunCLI(t, dir, env, append([]string{"projects", "create"}, args...)...)
	}

	if r := create(nil, "--db", db, "--id", "acme", "--name", "Acme Mobile",
		"--billing-mode", "billing", "--intent-validation", "lenient",
		"--hosted-login=false", "--porting-retry=true", "--session-ttl", "45m",
		"--callback-allow", "https://app.example.com/connect/done", "--callback-allow", "myapp://connect-callback",
		"--display-name", "Acme", "--primary-color", "#112233", "--preferred-locale", "de-DE"); r.Code != 0 || r.Stdout != "created project acme\n" {
		t.Fatalf("projects create with every flag: %s", r)
	}
	p := getProject(t, db, "acme")
	checkSettings(t, p, "Acme Mobile", connectd.ProjectSettings{
		BillingMode: connectd.BillingModeBilling, IntentValidation: connectd.IntentValidationLenient,
		HostedLogin: false, PortingRetry: true, SessionTTL: connectd.Duration(45 * time.Minute),
		CallbackAllowList: []string{"https://app.example.com/connect/done", "myapp://connect-callback"},
		DisplayName:       "Acme", PrimaryColor: "#112233", PreferredLocale: "de-DE",
	})

	if r := create(nil, "--db", db, "--id", "plain"); r.Code != 0 {
		t.Fatalf("projects create --id plain: %s", r)
	}
	checkSettings(t, getProject(t, db, "plain"), "plain", connectd.DefaultProjectSettings())

	// Every flag reads CONNECTD_<FLAG>; a flag on the command line wins.
	env := []string{"CONNECTD_DB=" + db, "CONNECTD_BILLING_MODE=billing", "CONNECTD_SESSION_TTL=20m",
		"CONNECTD_HOSTED_LOGIN=false", "CONNECTD_CALLBACK_ALLOW=https://env.example.com/cb", "CONNECTD_INTENT_VALIDATION=lenient"}
	if r := create(env, "--id", "fromenv", "--intent-validation", "strict"); r.Code != 0 {
		t.Fatalf("projects create from the environment: %s", r)
	}
	want := connectd.DefaultProjectSettings()
	want.BillingMode, want.SessionTTL, want.HostedLogin = connectd.BillingModeBilling, connectd.Duration(20*time.Minute), false
	want.CallbackAllowList = []string{"https://env.example.com/cb"}
	checkSettings(t, getProject(t, db, "fromenv"), "fromenv", want)

	for _, c := range []struct {
		env  []string
		args []string
		code int
		want string
	}{
		{nil, []string{"--billing-mode", "x"}, 1, "--billing-mode: must be payments or billing"},
		{nil, []string{"--intent-validation", "x"}, 1, "--intent-validation: must be strict or lenient"},
		{nil, []string{"--session-ttl", "10s"}, 1, "--session-ttl: must be between"},
		{nil, []string{"--session-ttl", "48h"}, 1, "--session-ttl: must be between"},
		{nil, []string{"--callback-allow", "https://ok.example.com/cb", "--callback-allow", "javascript:x"}, 1, `--callback-allow "javascript:x": `},
		{nil, []string{"--primary-color", "red"}, 1, "--primary-color"},
		{nil, []string{"--preferred-locale", "not a tag"}, 1, "--preferred-locale"},
		{[]string{"CONNECTD_BILLING_MODE=x"}, nil, 1, "--billing-mode: must be payments or billing"},
		{nil, []string{"--session-ttl", "soon"}, 2, "-session-ttl"},
		{nil, []string{"--hosted-login=maybe"}, 2, "-hosted-login"},
		{[]string{"CONNECTD_SESSION_TTL=soon"}, nil, 2, "CONNECTD_SESSION_TTL"},
	} {
		r := create(c.env, append([]string{"--db", db, "--id", "bad"}, c.args...)...)
		if r.Code != c.code || !strings.Contains(r.Stderr, c.want) {
			t.Errorf("projects create %q (env %q): want exit %d and %q, got %s", c.args, c.env, c.code, c.want, r)
		}
	}
	if r := create(nil, "--db", db, "--id", "Not Valid"); r.Code != 1 || !strings.Contains(r.Stderr, "--id: ") {
		t.Errorf("projects create --id 'Not Valid': %s", r)
	}
	if r := create(nil, "--db", db, "--id", "acme"); r.Code != 1 || !strings.Contains(r.Stderr, "already exists") {
		t.Errorf("projects create of an existing ID: %s", r)
	}
	if r := create(nil, "--db", db); r.Code != 2 || !strings.Contains(r.Stderr, "--id is required") {
		t.Errorf("projects create without --id: %s", r)
	}
	st := openStore(t, db)
	if _, err := st.GetProject(context.Background(), "bad"); !errors.Is(err, connectd.ErrNotFound) {
		t.Errorf("a refused projects create left a project behind: %v", err)
	}
	if p := getProject(t, db, "acme"); p.Name != "Acme Mobile" {
		t.Errorf("a refused projects create of an existing ID changed it: %+v", p)
	}
}

func checkSettings(t *testing.T, p *connectd.Project, name string, want connectd.ProjectSettings) {
	t.Helper()
	got := p.Settings
	if p.Name != name {
		t.Errorf("project %s: name %q, want %q", p.ID, p.Name, name)
	}
	if got.BillingMode != want.BillingMode || got.IntentValidation != want.IntentValidation ||
		got.HostedLogin != want.HostedLogin || got.PortingRetry != want.PortingRetry || got.SessionTTL != want.SessionTTL ||
		!slices.Equal(got.CallbackAllowList, want.CallbackAllowList) ||
		got.DisplayName != want.DisplayName || got.PrimaryColor != want.PrimaryColor || got.PreferredLocale != want.PreferredLocale {
		t.Errorf("project %s: settings\n got %+v\nwant %+v", p.ID, got, want)
	}
}

// TestNoSecretsInOutput runs the admin commands and a full API flow against
// a real server, then checks that no key, token or session url it handed
// out shows up in anything the processes printed (keys create's key line
// aside), nor in /metrics.
func TestNoSecretsInOutput(t *testing.T) {
	t.Parallel()
	forEachDB(t, noSecretsFlow)
}

func noSecretsFlow(t *testing.T, dir, db string) {
	var printed strings.Builder // everything the processes printed that must hold no secret
	var secrets []string
	cli := func(args ...string) proctest.Result {
		t.Helper()
		r := proctest.RunCLI(t, dir, nil, args...)
		if r.Code != 0 {
			t.Fatalf("connectd %q: %s", args, r)
		}
		printed.WriteString(r.Stdout + r.Stderr)
		return r
	}
	newKey := func(project string) string {
		t.Helper()
		r := proctest.RunCLI(t, dir, nil, "keys", "create", "--db", db, "--project", project)
		lines := strings.Split(strings.TrimSuffix(r.Stdout, "\n"), "\n")
		key := lines[len(lines)-1]
		if r.Code != 0 || len(lines) < 2 || len(key) < 32 || strings.ContainsAny(key, " \t\r:") {
			t.Fatalf("keys create: want the key alone on the last line, got %s", r)
		}
		// Everything but the key line must be free of it.
		printed.WriteString(strings.Join(lines[:len(lines)-1], "\n") + r.Stderr)
		secrets = append(secrets, key)
		return key
	}

	cli("migrate", "--db", db)
	cli("projects", "create", "--db", db, "--id", "acme", "--name", "Acme")
	cli("projects", "create", "--db", db, "--id", "other")
	key := newKey("acme")
	otherKey := newKey("other")
	if key == otherKey {
		t.Fatal("two keys create runs printed the same key")
	}

	srv := proctest.StartServe(t, dir, nil, "--db", db, "--addr", "127.0.0.1:0")
	c := &apiClient{t: t, base: srv.PublicURL, key: key}
	sessionURL := func(r *apiResponse) string {
		t.Helper()
		u, _ := r.json["url"].(string)
		if !strings.HasPrefix(u, srv.PublicURL+"/checkout/entry?") {
			t.Fatalf("%s: url %q is not a session url of %s", r.what, u, srv.PublicURL)
		}
		token := proctest.MustParseURL(t, u).Query().Get("token")
		if len(token) < 32 {
			t.Fatalf("%s: url %q has no token", r.what, u)
		}
		if cc := r.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s: answer with a url has Cache-Control %q", r.what, cc)
		}
		secrets = append(secrets, u, token)
		return token
	}

	jerry := c.do("POST", "/projects/acme/users", `{"email":"jerry@example.com","fullName":"Jerry Seinfeld"}`, 201).id()
	elaine := c.do("POST", "/projects/acme/users", `{"email":"elaine@example.com"}`, 201).id()

	withUser := c.do("POST", "/projects/acme/connectSessions",
		`{"callbackUrl":"https://example.com/cb?order=1","intent":{"type":"updateUserFullName"},"user":"`+jerry+`"}`, 201)
	firstToken := sessionURL(withUser)
	withDetails := c.do("POST", "/projects/acme/connectSessions",
		`{"intent":{"type":"viewSubscriptions"},"userDetails":{"email":"newman@example.com","fullName":"Newman","metadata":{"crm":"42"}}}`, 201)
	sessionURL(withDetails)
	anonymous := c.do("POST", "/projects/acme/connectSessions",
		`{"callbackUrl":"myapp://connect-callback","intent":{"type":"updatePaymentMethod"},"appearance":{"theme":"dark"}}`, 201)
	anonToken := sessionURL(anonymous)

	// Associating a user mints a new url; other changes answer url null.
	patched := c.do("PATCH", "/projects/acme/connectSessions/"+anonymous.id(), `{"user":"`+elaine+`"}`, 200)
	if sessionURL(patched) == anonToken {
		t.Error("a PATCH that associates a user kept the old token")
	}
	if r := c.do("PATCH", "/projects/acme/connectSessions/"+withUser.id(), `{"callbackUrl":"https://example.com/other"}`, 200); r.json["url"] != nil {
		t.Errorf("PATCH of callbackUrl answered url %v", r.json["url"])
	}

	// An idempotent retry: the same session, a fresh url.
	body := `{"intent":{"type":"updateUserAddress"},"user":"` + elaine + `"}`
	idem := map[string]string{"Idempotency-Key": "order-1234"}
	first := c.doH("POST", "/projects/acme/connectSessions", body, idem, 201)
	retry := c.doH("POST", "/projects/acme/connectSessions", body, idem, 201)
	if first.id() != retry.id() {
		t.Errorf("idempotent retry made another session: %s then %s", first.id(), retry.id())
	}
	if sessionURL(first) == sessionURL(retry) {
		t.Error("idempotent retry answered the same token")
	}

	if r := c.do("GET", "/projects/acme/connectSessions/"+withUser.id(), "", 200); r.json["url"] != nil {
		t.Errorf("GET answered url %v", r.json["url"])
	}
	if r := c.do("GET", "/projects/acme/connectSessions?user="+jerry, "", 200); len(r.json["items"].([]any)) != 1 {
		t.Errorf("list ?user=%s: %s", jerry, r.body)
	}
	c.do("GET", "/projects/acme/connectSessions?status=open&limit=2", "", 200)
	if r := c.do("POST", "/projects/acme/connectSessions/"+withDetails.id()+"/expire", "", 200); r.json["status"] != "expired" {
		t.Errorf("expire: %s", r.body)
	}

	// Refusals.
	wrongKey := "cdk_" + proctest.RandomString(32)
	secrets = append(secrets, wrongKey)
	c.do("POST", "/projects/acme/connectSessions", `{"intent":{"type":"viewSubscriptions","viewSubscriptons":{}},"user":"`+jerry+`"}`, 422)
	c.do("POST", "/projects/acme/connectSessions", `{"intent":`, 400)
	c.doH("POST", "/projects/acme/connectSessions", body, idem, 201) // still a replay
	c.doH("POST", "/projects/acme/connectSessions", `{"intent":{"type":"viewSubscriptions"}}`, idem, 422)
	c.do("PATCH", "/projects/acme/connectSessions/"+withDetails.id(), `{"callbackUrl":"https://example.com"}`, 409)
	c.do("GET", "/projects/acme/connectSessions/csn_0000000000000000000000000000", "", 404)
	c.do("GET", "/projects/acme/connectSessions?user=", "", 422)
	c.doH("POST", "/projects/acme/connectSessions", body, map[string]string{"Content-Type": "text/plain"}, 415)
	(&apiClient{t: t, base: srv.PublicURL, key: otherKey}).do("GET", "/projects/acme/connectSessions", "", 403)
	(&apiClient{t: t, base: srv.PublicURL, key: wrongKey}).do("GET", "/projects/acme/connectSessions", "", 401)
	(&apiClient{t: t, base: srv.PublicURL}).do("GET", "/projects/acme/connectSessions", "", 401)

	// Secrets where they do not belong: in query strings and paths. The
	// answers do not matter here, only what gets printed.
	for _, s := range []string{firstToken, key, wrongKey} {
		q := url.QueryEscape(s)
		c.try("GET", "/checkout/entry?session="+withUser.id()+"&token="+q)
		c.try("GET", "/projects/acme/connectSessions?after="+q)
		c.try("GET", "/projects/acme/connectSessions?user="+q+"&token="+q)
		c.try("GET", "/projects/acme/connectSessions/"+url.PathEscape(s))
		c.try("GET", "/projects/"+url.PathEscape(s)+"/connectSessions")
		c.try("GET", "/"+url.PathEscape(s))
	}
	if resp, body := get(t, srv.PublicURL+"/metrics", ""); resp.StatusCode == http.StatusOK {
		printed.Write(body)
	}

	if code := srv.Stop(t); code != 0 {
		t.Errorf("serve exited %d after SIGTERM, want 0 (graceful):\n%s", code, srv.Output())
	}
	printed.WriteString(srv.Output())
	out := printed.String()

	// The log must be there, or the checks below prove nothing.
	logged := requestIDs(srv.Stderr.String())
	for _, id := range c.requestIDs {
		if !logged[id] {
			t.Errorf("request %s has no request log line with its request_id", id)
		}
	}
	if len(c.requestIDs) < 30 {
		t.Fatalf("only %d requests made", len(c.requestIDs))
	}
	for _, s := range secrets {
		if at := leak(out, s); at != "" {
			t.Errorf("the output holds a secret (%.12s…) in:\n%s", s, at)
		}
	}
}

// leak returns the line of out that holds secret s, or any 16-character
// piece of it when s is a key or token (not a url, whose host is printed).
func leak(out, s string) string {
	pieces := []string{s}
	if !strings.Contains(s, "://") {
		for i := 0; i+16 <= len(s); i++ {
			pieces = append(pieces, s[i:i+16])
		}
	}
	for _, line := range strings.Split(out, "\n") {
		for _, p := range pieces {
			if strings.Contains(line, p) {
				return line
			}
		}
	}
	return ""
}

// requestIDs returns the request_id of every "request" line of a JSON log.
func requestIDs(log string) map[string]bool {
	ids := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l struct {
			Msg       string `json:"msg"`
			RequestID string `json:"request_id"`
		}
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "request" && l.RequestID != "" {
			ids[l.RequestID] = true
		}
	}
	return ids
}

// forEachDB runs f as parallel subtests on a fresh SQLite file and on a
// fresh PostgreSQL schema (skipped, or failed under
// CONNECTD_TEST_REQUIRE_POSTGRES=1, when there is no test database).
func forEachDB(t *testing.T, f func(t *testing.T, dir, db string)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		f(t, dir, "sqlite:"+filepath.Join(dir, "connectd.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		f(t, t.TempDir(), pgtest.URL(t))
	})
}

func openStore(t *testing.T, db string) store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), proctest.RequestTimeout)
	defer cancel()
	st, err := store.Open(ctx, db, store.Options{})
	if err != nil {
		t.Fatalf("open %s: %v", db, err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func getProject(t *testing.T, db, id string) *connectd.Project {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), proctest.RequestTimeout)
	defer cancel()
	p, err := openStore(t, db).GetProject(ctx, id)
	if err != nil {
		t.Fatalf("get project %s: %v", id, err)
	}
	return p
}

// HTTP.

var httpClient = &http.Client{
	Timeout:       proctest.RequestTimeout,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func send(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Redacted(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read: %v", req.Method, req.URL.Redacted(), err)
	}
	return resp, body
}

func get(t *testing.T, u, key string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	return send(t, req)
}

// apiClient talks to one server with one key ("" for none) and remembers
// the request id of every answer.
type apiClient struct {
	t          *testing.T
	base, key  string
	requestIDs []string
}

type apiResponse struct {
	what   string
	header http.Header
	body   []byte
	json   map[string]any
}

func (r *apiResponse) id() string {
	id, _ := r.json["id"].(string)
	return id
}

func (c *apiClient) do(method, path, body string, want int) *apiResponse {
	c.t.Helper()
	return c.doH(method, path, body, nil, want)
}

// doH sends a request (a non-empty body as JSON) with extra headers and
// fails the test unless the status is want.
func (c *apiClient) doH(method, path, body string, header map[string]string, want int) *apiResponse {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	// The path may hold a secret on purpose: name requests by method alone.
	what := method + " request #" + fmt.Sprint(len(c.requestIDs)+1)
	resp, b := send(c.t, req)
	r := &apiResponse{what: what, header: resp.Header, body: b}
	if id := resp.Header.Get("X-Request-Id"); id != "" {
		c.requestIDs = append(c.requestIDs, id)
	} else {
		c.t.Errorf("%s: no X-Request-Id", what)
	}
	json.Unmarshal(b, &r.json)
	if want != 0 && resp.StatusCode != want {
		c.t.Fatalf("%s: %d, want %d: %s", what, resp.StatusCode, want, b)
	}
	if resp.StatusCode >= 500 {
		c.t.Errorf("%s: %d %s", what, resp.StatusCode, b)
	}
	return r
}

// try sends a request whose answer does not matter, as long as it is not a
// server error.
func (c *apiClient) try(method, path string) {
	c.t.Helper()
	c.doH(method, path, "", nil, 0)
}

// parseCurl turns the demo's curl line into a request: single-quoted words
// only, and only the options the line is expected to use.
func parseCurl(t *testing.T, line string) *http.Request {
	t.Helper()
	words, err := shellWords(line)
	if err != nil || len(words) == 0 || words[0] != "curl" {
		t.Fatalf("curl line %q: %v", line, err)
	}
	method, target, body := "GET", "", ""
	header := http.Header{}
	for i := 1; i < len(words); i++ {
		w := words[i]
		arg := func() string {
			if i+1 >= len(words) {
				t.Fatalf("curl line: %s without a value", w)
			}
			i++
			return words[i]
		}
		switch {
		case w == "-sS" || w == "-s" || w == "-S":
		case w == "-X":
			method = arg()
		case w == "-H":
			k, v, ok := strings.Cut(arg(), ":")
			if !ok {
				t.Fatalf("curl line: header %q", words[i])
			}
			header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		case w == "-d" || w == "--data":
			body = arg()
			if method == "GET" {
				method = "POST"
			}
		case !strings.HasPrefix(w, "-") && target == "":
			target = w
		default:
			t.Fatalf("curl line: unexpected word %q", w)
		}
	}
	if !json.Valid([]byte(body)) {
		t.Fatalf("curl line: body %q is not JSON", body)
	}
	req, err := http.NewRequest(method, target, bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatalf("curl line: %v", err)
	}
	req.Header = header
	return req
}

// shellWords splits a line the way a POSIX shell would, for lines made of
// plain and single-quoted words. Anything a shell would expand or treat
// specially is an error: the line must paste as it reads.
func shellWords(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	quoted, inWord := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quoted && c == '\'':
			quoted = false
		case quoted:
			cur.WriteByte(c)
		case c == '\'':
			quoted, inWord = true, true
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case strings.IndexByte("\"\\$`!&|;<>(){}*?[]#~", c) >= 0:
			return nil, fmt.Errorf("unquoted %q", c)
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quoted {
		return nil, errors.New("unterminated quote")
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// Small things.

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
