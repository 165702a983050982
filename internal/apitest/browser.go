package apitest

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Browser is an HTTP client with its own cookie jar, standing in for one
// user's browser in portal handler tests. It does not follow redirects, so
// tests see each 303.
type Browser struct {
	e      *Env
	Client *http.Client
}

// NewBrowser returns a browser with an empty cookie jar.
func (e *Env) NewBrowser() *Browser {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &Browser{e: e, Client: c}
}

func (b *Browser) do(t testing.TB, req *http.Request) *Response {
	t.Helper()
	resp, err := b.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// Get fetches a path (or a full URL) of the server.
func (b *Browser) Get(pathOrURL string) *Response {
	b.e.T.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, b.abs(pathOrURL), nil)
	if err != nil {
		b.e.T.Fatal(err)
	}
	return b.do(b.e.T, req)
}

// Post submits a form, as a page's form would.
func (b *Browser) Post(pathOrURL string, form url.Values) *Response {
	b.e.T.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, b.abs(pathOrURL), strings.NewReader(form.Encode()))
	if err != nil {
		b.e.T.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(b.e.T, req)
}

func (b *Browser) abs(p string) string {
	if strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://") {
		return p
	}
	return b.e.URL + p
}

// Enter opens a session url and presses its confirm button, as a user
// would. It returns the answer to the confirming POST (a 303 to the
// intent's page, or a link back); the test fails when the confirmation
// page itself is not shown.
func (b *Browser) Enter(sessionURL string) *Response {
	b.e.T.Helper()
	page := b.Get(sessionURL)
	if page.Status != http.StatusOK || !strings.Contains(string(page.Body), `data-testid="confirm"`) {
		b.e.T.Fatalf("entry page: %d\n%s", page.Status, page.Body)
	}
	u, err := url.Parse(sessionURL)
	if err != nil {
		b.e.T.Fatal(err)
	}
	q := u.Query()
	return b.Post("/checkout/entry", url.Values{"session": {q.Get("session")}, "token": {q.Get("token")}})
}

// Follow fetches the Location of a redirect answer.
func (b *Browser) Follow(r *Response) *Response {
	b.e.T.Helper()
	loc := r.Header.Get("Location")
	if loc == "" {
		b.e.T.Fatalf("no Location in a %d answer", r.Status)
	}
	return b.Get(loc)
}

// CreateSession creates a session through the API and returns its url.
func (e *Env) CreateSession(body any) (id, sessionURL string) {
	e.T.Helper()
	r := e.Post("/connectSessions", body)
	if r.Status != http.StatusCreated {
		e.T.Fatalf("create session: %d %s", r.Status, r.Body)
	}
	m := r.JSON(e.T)
	return m["id"].(string), m["url"].(string)
}
