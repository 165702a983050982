package portal_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd/internal/apitest"
)

// Issue 11, items 5 to 8, over real HTTP on both backends.

// rawBrowser sends portal requests with exactly the cookies it is given:
// a browser whose answers have not been stored yet.
type rawBrowser struct {
	t *testing.T
	e *apitest.Env
}

func (b rawBrowser) do(method, path string, form url.Values, cookies ...*http.Cookie) *apitest.Response {
	b.t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequestWithContext(b.t.Context(), method, b.e.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	return apitest.Send(b.t, b.e.Client, req)
}

// setCookies returns the cookies an answer sets with a value.
func setCookies(r *apitest.Response) []*http.Cookie {
	var out []*http.Cookie
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Value != "" && c.MaxAge >= 0 {
			out = append(out, c)
		}
	}
	return out
}

// signedIn checks that the browser session cookies open the name page.
func signedIn(t *testing.T, b rawBrowser, what string, want int, cookies ...*http.Cookie) {
	t.Helper()
	if r := b.do(http.MethodGet, "/portal/name", nil, cookies...); r.Status != want {
		t.Fatalf("%s: /portal/name answers %d, want %d\n%s", what, r.Status, want, r.Body)
	}
}

// Issue 11.7: a double tap on "Continue". Both POSTs leave the browser
// that loaded the entry page before the first answer's cookie is stored,
// so both carry only the pre-consumption cookie. Both land on the intent's
// page, signed in; another browser's POST is still a replay and revokes
// both.
func TestEntryDoubleTapLandsSignedIn(t *testing.T) {
	t.Parallel()
	apitest.ForEachBackend(t, func(t *testing.T, be apitest.Backend) {
		e := apitest.New(t, apitest.Options{Backend: be})
		user := e.CreateUser("jerry@example.com")
		b := rawBrowser{t, e}
		for _, concurrent := range []bool{false, true} {
			id, u := nameSession(t, e, map[string]any{"user": user})
			page := b.do(http.MethodGet, strings.TrimPrefix(u, e.URL), nil)
			entry := setCookies(page)
			if page.Status != http.StatusOK || len(entry) != 1 || !entry[0].HttpOnly || entry[0].SameSite != http.SameSiteLaxMode {
				t.Fatalf("entry page: %d, cookies %v: want one HttpOnly SameSite=Lax pre-consumption cookie", page.Status, entry)
			}
			post := func(int) *apitest.Response { return b.do(http.MethodPost, "/checkout/entry", entryForm(u), entry...) }
			var taps []*apitest.Response
			if concurrent {
				taps = apitest.AtOnce(2, post)
			} else {
				taps = []*apitest.Response{post(0), post(1)}
			}
			var sessions [][]*http.Cookie
			for i, r := range taps {
				if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/portal/name" {
					t.Fatalf("concurrent=%v tap %d: %d to %q, want 303 to /portal/name", concurrent, i, r.Status, r.Header.Get("Location"))
				}
				sessions = append(sessions, setCookies(r))
				signedIn(t, b, "after the double tap", http.StatusOK, sessions[i]...)
			}
			if st := apiStatus(t, e, id); st != "active" {
				t.Fatalf("after a double tap the session is %s, want active", st)
			}
			// Another browser (no cookie, or another one's) is refused and revokes.
			other := b.do(http.MethodPost, "/checkout/entry", entryForm(u), &http.Cookie{Name: entry[0].Name, Value: strings.Repeat("x", 43)})
			wantLinkBack(t, other, id, "auth_expired")
			for _, c := range sessions {
				signedIn(t, b, "after another browser's POST", http.StatusUnauthorized, c...)
			}
		}
	})
}

// Issue 11.8: a late GET of a used link (a link scanner) shows the
// "already used" page and revokes nothing.
func TestEntryScannerGetRevokesNothing(t *testing.T) {
	t.Parallel()
	apitest.ForEachBackend(t, func(t *testing.T, be apitest.Backend) {
		e := apitest.New(t, apitest.Options{Backend: be})
		id, u, first := enterName(t, e, map[string]any{"user": e.CreateUser("jerry@example.com")})
		for range 3 {
			r := e.NewBrowser().Get(u)
			if r.Status != http.StatusGone || r.Header.Get("Location") != "" || !strings.Contains(string(r.Body), "already used") {
				t.Fatalf("scanner GET of a used link: %d to %q, want 410 and the already-used page\n%s", r.Status, r.Header.Get("Location"), r.Body)
			}
		}
		if page := first.Get("/portal/name"); page.Status != http.StatusOK {
			t.Fatalf("the user's browser after the scanner: %d, want 200\n%s", page.Status, page.Body)
		}
		if st := apiStatus(t, e, id); st != "active" {
			t.Fatalf("after the scanner the session is %s, want active", st)
		}
		if r := first.Post("/portal/name", url.Values{"full_name": {"Jerry S"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("save name after the scanner: %d %s", r.Status, r.Body)
		}
		if st := apiStatus(t, e, id); st != "completed" {
			t.Fatalf("the session is %s, want completed", st)
		}
	})
}

// listed reports whether the session list filtered by status holds id.
func listed(t *testing.T, e *apitest.Env, status, id string) bool {
	t.Helper()
	r := e.Get("/connectSessions?limit=200&status=" + status)
	if r.Status != http.StatusOK {
		t.Fatalf("list %s: %d %s", status, r.Status, r.Body)
	}
	items, _ := r.JSON(t)["items"].([]any)
	var ids []string
	for _, it := range items {
		ids = append(ids, it.(map[string]any)["id"].(string))
	}
	return slices.Contains(ids, id)
}

// Issue 11.6: an entered session whose browser session times out reads
// expired, in GET and in the list filters, without anyone writing it.
func TestEntrySessionExpiresWithItsPortal(t *testing.T) {
	t.Parallel()
	apitest.ForEachBackend(t, func(t *testing.T, be apitest.Backend) {
		e := apitest.New(t, apitest.Options{Backend: be})
		id, _, b := enterName(t, e, map[string]any{"user": e.CreateUser("jerry@example.com")})
		check := func(want string) {
			t.Helper()
			if st := apiStatus(t, e, id); st != want {
				t.Fatalf("status %s, want %s", st, want)
			}
			if !listed(t, e, want, id) {
				t.Fatalf("not listed under status=%s", want)
			}
			for _, other := range []string{"open", "active", "expired", "completed"} {
				if other != want && listed(t, e, other, id) {
					t.Fatalf("listed under status=%s, want only %s", other, want)
				}
			}
		}
		check("active")
		e.Clock.Advance(59 * time.Minute)
		check("active")
		e.Clock.Advance(2 * time.Minute)
		check("expired")
		if page := b.Get("/portal/name"); page.Status != http.StatusUnauthorized {
			t.Fatalf("the browser after its session timed out: %d", page.Status)
		}
		// Expiring it through the API agrees: 200, expired.
		if r := e.Post("/connectSessions/"+id+"/expire", nil); r.Status != http.StatusOK || r.JSON(t)["status"] != "expired" {
			t.Fatalf("expire: %d %s", r.Status, r.Body)
		}
	})
}

// Issue 11.5: expiring a session that ended with an outcome is refused
// with 409 naming its status, which it keeps; an open or active session is
// expired (200), and an expired one answers 200 again.
func TestExpireEndedSessionIsRefused(t *testing.T) {
	t.Parallel()
	apitest.ForEachBackend(t, func(t *testing.T, be apitest.Backend) {
		e := apitest.New(t, apitest.Options{Backend: be})
		user := e.CreateUser("jerry@example.com")
		completed, _, b := enterName(t, e, map[string]any{"user": user})
		if r := b.Post("/portal/name", url.Values{"full_name": {"Jerry S"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("save name: %d %s", r.Status, r.Body)
		}
		aborted, _, b2 := enterName(t, e, map[string]any{"user": user})
		if r := b2.Post("/portal/exit", nil); r.Status != http.StatusSeeOther {
			t.Fatalf("exit: %d %s", r.Status, r.Body)
		}
		open, _ := nameSession(t, e, map[string]any{"user": user})
		active, _, _ := enterName(t, e, map[string]any{"user": user})

		for _, c := range []struct {
			name, id, status string
		}{{"completed", completed, "completed"}, {"aborted", aborted, "aborted"}} {
			for range 2 {
				r := e.Post("/connectSessions/"+c.id+"/expire", nil)
				if r.Status != http.StatusConflict {
					t.Fatalf("expire %s: %d %s, want 409", c.name, r.Status, r.Body)
				}
				body := r.JSON(t)
				if body["code"] != "connectSessionNotOpen" || !strings.Contains(body["message"].(string), " is "+c.status+";") {
					t.Fatalf("expire %s: %s, want code connectSessionNotOpen naming the status", c.name, r.Body)
				}
				if st := apiStatus(t, e, c.id); st != c.status {
					t.Fatalf("after the refused expire the session is %s, want %s", st, c.status)
				}
			}
		}
		for _, id := range []string{open, active} {
			for i := range 2 { // the second time it is already expired: 200 again
				r := e.Post("/connectSessions/"+id+"/expire", nil)
				if r.Status != http.StatusOK || r.JSON(t)["status"] != "expired" {
					t.Fatalf("expire %s (time %d): %d %s, want 200 expired", id, i+1, r.Status, r.Body)
				}
			}
		}
	})
}
