package browser

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's Chromium: the suite never downloads a browser.
const chromiumPath = "/usr/bin/chromium"

// testTimeout bounds each test's browser work.
const testTimeout = 90 * time.Second

var (
	// browserCtx is the one browser of the package; each test opens its
	// own tab in a new browser context (its own cookie jar) under it.
	browserCtx context.Context
	// browserErr says why there is no browser.
	browserErr error
	// browserMissing is true when chromiumPath does not exist.
	browserMissing bool
	// shortMode: go test -short, which skips the browser suite.
	shortMode bool
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		// The fast path (go test -short ./...) starts no browser.
		shortMode = true
		return m.Run()
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		browserMissing = true
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "connectd-e2e-chromium-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(dir), // fresh profile
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-client-side-phishing-detection", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter,AutofillServerCommunication"),
		chromedp.Flag("safebrowsing-disable-auto-update", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		// Loopback only: no proxy, and no name resolves (the tests use
		// 127.0.0.1 literals, which need no resolver).
		chromedp.Flag("no-proxy-server", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.WindowSize(375, 812),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	if err := chromedp.Do(bctx); err != nil { // starts the browser, without a timeout
		browserErr = err
	}
	browserCtx = bctx
	return m.Run()
}

// requireBrowser skips the test when there is no Chromium, or fails it
// under CONNECTD_TEST_REQUIRE_BROWSER=1 (CI).
func requireBrowser(t *testing.T) {
	t.Helper()
	if shortMode {
		t.Skip("-short: the browser suite runs in go test ./...")
	}
	if browserMissing {
		msg := chromiumPath + " is missing: install Debian's Chromium with `apt-get install chromium` to run the end-to-end tests"
		if os.Getenv("CONNECTD_TEST_REQUIRE_BROWSER") == "1" {
			t.Fatal(msg + " (CONNECTD_TEST_REQUIRE_BROWSER=1)")
		}
		t.Skip(msg)
	}
	if browserErr != nil {
		t.Fatalf("start %s: %v", chromiumPath, browserErr)
	}
}

// tab is one browser tab in a browser context of its own: a separate
// cookie jar, as a separate browser would have.
type tab struct {
	t   *testing.T
	ctx context.Context
}

// newTab opens a tab in a new browser context, 375 pixels wide, whose
// actions end at the test's timeout.
func newTab(t *testing.T) *tab {
	t.Helper()
	requireBrowser(t)
	tctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(tctx); err != nil { // opens the tab, without a timeout
		t.Fatalf("open a tab: %v", err)
	}
	ctx, cancelTimeout := context.WithTimeout(tctx, testTimeout)
	t.Cleanup(cancelTimeout)
	b := &tab{t: t, ctx: ctx}
	b.do(chromedp.EmulateViewport(375, 812, chromedp.EmulatePortrait))
	return b
}

func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v (at %s)", err, b.location())
	}
}

// testid selects the element with a data-testid.
func testid(id string) chromedp.CSS {
	return chromedp.CSS(`[data-testid="` + id + `"]`)
}

// open loads a URL and waits for its document.
func (b *tab) open(u string) int64 {
	b.t.Helper()
	resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(u))
	if err != nil {
		b.t.Fatalf("open %s: %v", u, err)
	}
	return resp.Status
}

// reload loads the current page again.
func (b *tab) reload() int64 {
	b.t.Helper()
	return b.open(b.location())
}

// click presses the element with data-testid id, which submits a form,
// and waits for the page it leads to (after any redirects). It returns
// that page's HTTP status.
func (b *tab) click(id string) int64 {
	b.t.Helper()
	b.do(chromedp.WaitVisible(testid(id)))
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Click(testid(id), chromedp.NodeVisible))
	if err != nil {
		b.t.Fatalf("click %s on %s: %v", id, b.location(), err)
	}
	return resp.Status
}

// check clicks a radio button or checkbox by element id.
func (b *tab) check(id string) {
	b.t.Helper()
	b.do(chromedp.Click(chromedp.ID(id), chromedp.NodeVisible))
}

// fill types value into the input with element id, replacing what it held.
func (b *tab) fill(id, value string) {
	b.t.Helper()
	b.do(chromedp.WaitVisible(chromedp.ID(id)), chromedp.Clear(chromedp.ID(id)), chromedp.SendKeys(chromedp.ID(id), value))
}

// fields fills several inputs, by element id.
func (b *tab) fields(kv ...string) {
	b.t.Helper()
	for i := 0; i+1 < len(kv); i += 2 {
		b.fill(kv[i], kv[i+1])
	}
}

// location is the tab's URL ("" when it cannot be read).
func (b *tab) location() string {
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		return ""
	}
	return loc
}

// url is the tab's parsed URL.
func (b *tab) url() *url.URL {
	b.t.Helper()
	u, err := url.Parse(b.location())
	if err != nil {
		b.t.Fatal(err)
	}
	return u
}

// at checks that the tab shows path on the portal, with no token in the URL.
func (b *tab) at(path string) {
	b.t.Helper()
	u := b.url()
	if u.Path != path {
		b.t.Fatalf("browser at %s, want path %s\n%s", u, path, b.text())
	}
	if strings.Contains(strings.ToLower(u.RawQuery), "token") {
		b.t.Fatalf("the URL %s carries the token", u)
	}
}

// has says whether the page has an element matching the CSS selector.
func (b *tab) has(css string) bool {
	b.t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+jsString(css)+`).length`))
	if err != nil {
		b.t.Fatalf("query %s: %v", css, err)
	}
	return n > 0
}

// text is the page's visible text.
func (b *tab) text() string {
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if err != nil {
		return ""
	}
	return s
}

// shows checks that the page's text holds every want.
func (b *tab) shows(want ...string) {
	b.t.Helper()
	text := b.text()
	for _, w := range want {
		if !strings.Contains(text, w) {
			b.t.Fatalf("page %s does not show %q\n%s", b.location(), w, text)
		}
	}
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// screenshot saves the page at 375 pixels wide to
// docs/screenshots/<name>.png, only with CONNECTD_SCREENSHOTS=1.
func (b *tab) screenshot(name string) {
	b.t.Helper()
	if os.Getenv("CONNECTD_SCREENSHOTS") != "1" {
		return
	}
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := filepath.Join("..", "..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}
