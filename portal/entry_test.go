package portal_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/apitest"
)

const entryCallback = "https://app.example.com/back?from=connect"

func nameSession(t *testing.T, e *apitest.Env, extra map[string]any) (id, sessionURL string) {
	t.Helper()
	body := map[string]any{"intent": map[string]any{"type": "updateUserFullName"}, "callbackUrl": entryCallback}
	for k, v := range extra {
		body[k] = v
	}
	return e.CreateSession(body)
}

func apiStatus(t *testing.T, e *apitest.Env, id string) string {
	t.Helper()
	r := e.Get("/connectSessions/" + id)
	if r.Status != http.StatusOK {
		t.Fatalf("get session: %d %s", r.Status, r.Body)
	}
	return r.JSON(t)["status"].(string)
}

// wantLinkBack checks a 303 to the callback with session_id and status
// appended to the query it already had.
func wantLinkBack(t *testing.T, r *apitest.Response, id, status string) {
	t.Helper()
	if r.Status != http.StatusSeeOther {
		t.Fatalf("status %d, want 303 to the callback\n%s", r.Status, r.Body)
	}
	want := entryCallback + "&session_id=" + id + "&status=" + status
	if got := r.Header.Get("Location"); got != want {
		t.Fatalf("Location = %q, want %q", got, want)
	}
}

func TestEntryPageConsumesNothingAndShowsWhoseAccount(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, apitest.Options{})
	user := e.CreateUser("jerry@example.com")
	id, u := nameSession(t, e, map[string]any{"user": user})
	b := e.NewBrowser()
	for range 2 { // a link unfurler or mail scanner fetching it changes nothing
		page := b.Get(u)
		if page.Status != http.StatusOK || !strings.Contains(string(page.Body), "Continue as j•••@example.com") ||
			!strings.Contains(string(page.Body), `data-testid="confirm"`) {
			t.Fatalf("entry page: %d\n%s", page.Status, page.Body)
		}
		if cc := page.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control = %q", cc)
		}
		if !strings.Contains(page.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") || page.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("framing headers missing: %v", page.Header)
		}
	}
	if st := apiStatus(t, e, id); st != "open" {
		t.Fatalf("after GETs the session is %s, want open", st)
	}
	r := b.Enter(u)
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/portal/name" {
		t.Fatalf("confirm: %d to %q, want 303 to /portal/name", r.Status, r.Header.Get("Location"))
	}
	if st := apiStatus(t, e, id); st != "active" {
		t.Fatalf("after entering the session is %s, want active", st)
	}
	if page := b.Follow(r); page.Status != http.StatusOK || !strings.Contains(string(page.Body), `data-testid="exit"`) {
		t.Fatalf("destination: %d\n%s", page.Status, page.Body)
	}
}

func TestEntryReloadInSameBrowserKeepsWorking(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, apitest.Options{})
	_, u, b := enterName(t, e, map[string]any{"user": e.CreateUser("jerry@example.com")})
	for _, r := range []*apitest.Response{b.Get(u), b.Post("/checkout/entry", entryForm(u))} {
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/portal/name" {
			t.Fatalf("reload: %d to %q, want 303 to /portal/name", r.Status, r.Header.Get("Location"))
		}
	}
}

// enterName creates a name session (with extra) and enters it in a new
// browser.
func enterName(t *testing.T, e *apitest.Env, extra map[string]any) (id, sessionURL string, b *apitest.Browser) {
	t.Helper()
	id, sessionURL = nameSession(t, e, extra)
	b = e.NewBrowser()
	b.Enter(sessionURL)
	return id, sessionURL, b
}

func entryForm(sessionURL string) url.Values {
	q, _ := url.Parse(sessionURL)
	return url.Values{"session": {q.Query().Get("session")}, "token": {q.Query().Get("token")}}
}

// A consuming POST of a used url from another browser is a replay: it is
// refused, revokes the first browser's portal session, and the session
// reads expired from then on (issue 11.6).
func TestEntryReplayElsewhereIsRefusedAndRevokes(t *testing.T) {
	t.Parallel()
	apitest.ForEachBackend(t, func(t *testing.T, be apitest.Backend) {
		e := apitest.New(t, apitest.Options{Backend: be})
		id, u, first := enterName(t, e, map[string]any{"user": e.CreateUser("jerry@example.com")})
		wantLinkBack(t, e.NewBrowser().Post("/checkout/entry", entryForm(u)), id, "auth_expired")
		if page := first.Get("/portal/name"); page.Status != http.StatusUnauthorized || !strings.Contains(string(page.Body), "expired") {
			t.Fatalf("the first browser after a replay: %d, want its portal session revoked\n%s", page.Status, page.Body)
		}
		if st := apiStatus(t, e, id); st != "expired" {
			t.Fatalf("after a replay the session is %s, want expired", st)
		}
	})
}

func TestEntryExpiredUsedAndUnknownGetTheSameAnswer(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, apitest.Options{})
	user := e.CreateUser("jerry@example.com")

	used, usedURL := nameSession(t, e, map[string]any{"user": user})
	e.NewBrowser().Enter(usedURL)
	expired, expiredURL := nameSession(t, e, map[string]any{"user": user})
	if r := e.Post("/connectSessions/"+expired+"/expire", nil); r.Status != http.StatusOK {
		t.Fatalf("expire: %d %s", r.Status, r.Body)
	}
	wrong, wrongURL := nameSession(t, e, map[string]any{"user": user})
	wrongURL = wrongURL[:len(wrongURL)-43] + strings.Repeat("A", 43)

	for name, tc := range map[string]struct{ id, url string }{"expired": {expired, expiredURL}, "wrong token": {wrong, wrongURL}} {
		t.Run(name, func(t *testing.T) {
			b := e.NewBrowser()
			wantLinkBack(t, b.Get(tc.url), tc.id, "auth_expired")
			wantLinkBack(t, b.Post("/checkout/entry", entryForm(tc.url)), tc.id, "auth_expired")
		})
	}
	// A used link's GET only says so (issue 11.8); its POST links back.
	b := e.NewBrowser()
	if r := b.Get(usedURL); r.Status != http.StatusGone || !strings.Contains(string(r.Body), "already used") {
		t.Fatalf("used link: %d\n%s", r.Status, r.Body)
	}
	wantLinkBack(t, b.Post("/checkout/entry", entryForm(usedURL)), used, "auth_expired")
	// An unknown session has no callback to go back to: a plain page.
	unknown := e.URL + "/checkout/entry?session=" + connectd.NewID(connectd.PrefixSession) + "&token=" + strings.Repeat("A", 43)
	if r := e.NewBrowser().Get(unknown); r.Status != http.StatusUnauthorized || !strings.Contains(string(r.Body), "This link has expired") {
		t.Fatalf("unknown link: %d\n%s", r.Status, r.Body)
	}
	if st := apiStatus(t, e, wrong); st != "open" {
		t.Fatalf("a wrong token changed the session to %s", st)
	}
}

func TestEntryTwoClocks(t *testing.T) {
	t.Parallel()
	s := connectd.DefaultProjectSettings()
	s.SessionTTL = connectd.Duration(2 * time.Minute)
	e := apitest.New(t, apitest.Options{Settings: &s})
	c := e.Clock
	user := e.CreateUser("jerry@example.com")

	id, u := nameSession(t, e, map[string]any{"user": user})
	_, u2 := nameSession(t, e, map[string]any{"user": user})
	b := e.NewBrowser()
	b.Enter(u2)

	// The url must be opened within the project's sessionTTL...
	c.Advance(3 * time.Minute)
	wantLinkBack(t, e.NewBrowser().Get(u), id, "auth_expired")

	// ...and once opened, the browser session lasts up to 60 minutes.
	if page := b.Get("/portal/name"); page.Status != http.StatusOK {
		t.Fatalf("after 3 minutes: %d", page.Status)
	}
	c.Advance(55 * time.Minute)
	if page := b.Get("/portal/name"); page.Status != http.StatusOK {
		t.Fatalf("after 58 minutes: %d", page.Status)
	}
	c.Advance(3 * time.Minute)
	if page := b.Get("/portal/name"); page.Status != http.StatusUnauthorized {
		t.Fatalf("after 61 minutes: %d, want the expired page", page.Status)
	}
}

func TestEntryCreatesTheUserOfUserDetails(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, apitest.Options{})
	id, u := nameSession(t, e, map[string]any{"userDetails": map[string]any{"email": "newman@example.com", "fullName": "Newman"}})
	if page := e.NewBrowser().Get(u); !strings.Contains(string(page.Body), "Continue as n•••@example.com") {
		t.Fatalf("entry page does not name the account:\n%s", page.Body)
	}
	r := e.NewBrowser().Enter(u)
	if r.Header.Get("Location") != "/portal/name" {
		t.Fatalf("confirm: %d to %q", r.Status, r.Header.Get("Location"))
	}
	if u := sessionUser(t, e, id); u["email"] != "newman@example.com" || u["fullName"] != "Newman" {
		t.Fatalf("created user: %v", u)
	}
}

// sessionUser returns the user the session names, as the API shows it.
func sessionUser(t *testing.T, e *apitest.Env, id string) map[string]any {
	t.Helper()
	got := e.Get("/connectSessions/" + id).JSON(t)
	userID, _ := got["user"].(string)
	if userID == "" {
		t.Fatalf("session has no user: %v", got)
	}
	return e.Get("/users/" + userID).JSON(t)
}

func TestHostedLogin(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, apitest.Options{})
	id, u := nameSession(t, e, nil)
	b := e.NewBrowser()
	if r := b.Enter(u); r.Header.Get("Location") != "/portal/login" {
		t.Fatalf("an unauthenticated session goes to %q, want /portal/login", r.Header.Get("Location"))
	}
	bad := b.Post("/portal/login", url.Values{"email": {"not-an-email"}})
	if bad.Status != http.StatusUnprocessableEntity || !strings.Contains(string(bad.Body), `id="email-error"`) || !strings.Contains(string(bad.Body), `value="not-an-email"`) {
		t.Fatalf("bad email: %d\n%s", bad.Status, bad.Body)
	}
	if r := b.Post("/portal/login", url.Values{"email": {"kramer@example.com"}}); r.Status != http.StatusOK {
		t.Fatalf("send code: %d\n%s", r.Status, r.Body)
	}
	code := e.Mail.Code("kramer@example.com")
	if len(code) != 6 {
		t.Fatalf("code %q", code)
	}
	tryWrongCode(t, b, code, "4 attempts left")
	r := b.Post("/portal/login/code", url.Values{"code": {code}})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/portal/name" {
		t.Fatalf("right code: %d to %q\n%s", r.Status, r.Header.Get("Location"), r.Body)
	}
	if got := sessionUser(t, e, id)["email"]; got != "kramer@example.com" {
		t.Fatalf("session user after login has email %v", got)
	}
}

// TestHostedLoginUnreadableForm: a login form that cannot be read answers
// the 400 page, like every other form, and costs no code attempt.
func TestHostedLoginUnreadableForm(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, apitest.Options{})
	id, _, b := enterName(t, e, nil)
	postRaw := func(path, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := b.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		page, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(page)
	}
	if status, page := postRaw("/portal/login", "email=%zz"); status != http.StatusBadRequest || !strings.Contains(page, "could not be read") {
		t.Fatalf("unreadable email form: %d\n%s", status, page)
	}
	if r := b.Post("/portal/login", url.Values{"email": {"kramer@example.com"}}); r.Status != http.StatusOK {
		t.Fatalf("send code: %d\n%s", r.Status, r.Body)
	}
	if status, page := postRaw("/portal/login/code", "code=%zz"); status != http.StatusBadRequest || !strings.Contains(page, "could not be read") {
		t.Fatalf("unreadable code form: %d\n%s", status, page)
	}
	// The first wrong code after the unreadable forms leaves 4 attempts.
	tryWrongCode(t, b, e.Mail.Code("kramer@example.com"), "4 attempts left")
	if st := apiStatus(t, e, id); st != "active" {
		t.Fatalf("session %s after unreadable forms, want active", st)
	}
}

// tryWrongCode types a code other than code at hosted login and checks
// the 422 page says what is left.
func tryWrongCode(t *testing.T, b *apitest.Browser, code, left string) {
	t.Helper()
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	if r := b.Post("/portal/login/code", url.Values{"code": {wrong}}); r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), left) {
		t.Fatalf("wrong code: %d, want 422 saying %q\n%s", r.Status, left, r.Body)
	}
}

func TestHostedLoginAttemptsAreLimited(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, apitest.Options{})
	_, _, b := enterName(t, e, nil)
	b.Post("/portal/login", url.Values{"email": {"kramer@example.com"}})
	code := e.Mail.Code("kramer@example.com")
	for _, left := range []string{"4 attempts left", "3 attempts left", "2 attempts left", "1 attempts left", "Send code"} { // the last one asks for the email again
		tryWrongCode(t, b, code, left)
	}
	// Even the right code no longer works: a new one must be asked for.
	if r := b.Post("/portal/login/code", url.Values{"code": {code}}); r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "get a new one") {
		t.Fatalf("after 5 wrong codes: %d\n%s", r.Status, r.Body)
	}
}

func TestHostedLoginOffIsBadConfiguration(t *testing.T) {
	t.Parallel()
	s := connectd.DefaultProjectSettings()
	s.HostedLogin = false
	e := apitest.New(t, apitest.Options{Settings: &s})
	id, u := nameSession(t, e, nil)
	wantLinkBack(t, e.NewBrowser().Enter(u), id, "bad_configuration")
	if st := apiStatus(t, e, id); st != "failed" {
		t.Fatalf("status %s, want failed", st)
	}
}

func TestHostedLoginChecksOwnershipForTheSignedInUser(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, apitest.Options{})
	owner := e.CreateUser("jerry@example.com")
	e.CreateUser("elaine@example.com")
	ctx := t.Context()
	pf := e.Service.Platform
	plan := &connectd.Plan{Name: "Basic", Status: connectd.PlanActive, Price: connectd.Price{Amount: 1000, Currency: "USD"}, Validity: connectd.Validity{Type: connectd.ValidityRecurring}}
	if err := pf.Plans().Create(ctx, e.Project, plan); err != nil {
		t.Fatal(err)
	}
	sub := &connectd.Subscription{User: owner, Plan: plan.ID, Status: connectd.SubscriptionActive, Recurring: true}
	if err := pf.Subscriptions().Create(ctx, e.Project, sub); err != nil {
		t.Fatal(err)
	}
	id, u := e.CreateSession(map[string]any{"callbackUrl": entryCallback,
		"intent": map[string]any{"type": "viewSubscription", "viewSubscription": map[string]any{"subscription": sub.ID}}})
	b := e.NewBrowser()
	b.Enter(u)
	b.Post("/portal/login", url.Values{"email": {"elaine@example.com"}})
	r := b.Post("/portal/login/code", url.Values{"code": {e.Mail.Code("elaine@example.com")}})
	wantLinkBack(t, r, id, "bad_configuration")
}

func TestExitLinksBackAndWithoutCallbackShowsAPage(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, apitest.Options{})
	user := e.CreateUser("jerry@example.com")

	id, u := e.CreateSession(map[string]any{"intent": map[string]any{"type": "updateUserFullName"}, "user": user,
		"callbackUrl": "myapp://deep-link?x=1"})
	b := e.NewBrowser()
	b.Enter(u)
	r := b.Post("/portal/exit", nil)
	if want := "myapp://deep-link?x=1&session_id=" + id + "&status=user_aborted"; r.Status != http.StatusSeeOther || r.Header.Get("Location") != want {
		t.Fatalf("exit: %d to %q, want %q", r.Status, r.Header.Get("Location"), want)
	}
	if st := apiStatus(t, e, id); st != "aborted" {
		t.Fatalf("status %s, want aborted", st)
	}

	id2, u2 := e.CreateSession(map[string]any{"intent": map[string]any{"type": "updateUserFullName"}, "user": user})
	b2 := e.NewBrowser()
	b2.Enter(u2)
	if r := b2.Post("/portal/exit", nil); r.Status != http.StatusOK || !strings.Contains(string(r.Body), "close this window") {
		t.Fatalf("exit without callback: %d\n%s", r.Status, r.Body)
	}
	if st := apiStatus(t, e, id2); st != "aborted" {
		t.Fatalf("status %s, want aborted", st)
	}
}

func TestCrossOriginPostsAreRefused(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, apitest.Options{})
	id, _, b := enterName(t, e, map[string]any{"user": e.CreateUser("jerry@example.com")})
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.URL+"/portal/exit", strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := b.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(body), "another website") || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("cross-origin exit: %d %q, want the 403 page\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if st := apiStatus(t, e, id); st != "active" {
		t.Fatalf("a cross-origin POST changed the session to %s", st)
	}
}
