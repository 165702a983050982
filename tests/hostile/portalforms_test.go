package hostile

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/connectd/connectd/internal/apitest"
)

// portalCase is one request to a portal page or form.
type portalCase struct {
	name    string
	method  string
	path    string // with the query
	body    string // sent as is
	ctype   string // "" = application/x-www-form-urlencoded
	header  map[string]string
	browser *apitest.Browser // nil = no cookies
	status  int
	html    bool // the answer must be an HTML page
}

func (w *world) sendPortal(t *testing.T, c portalCase) *apitest.Response {
	t.Helper()
	var body io.Reader
	if c.method == http.MethodPost {
		body = strings.NewReader(c.body)
	}
	req, err := http.NewRequest(c.method, w.e.URL+c.path, body)
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	if c.method == http.MethodPost {
		ct := c.ctype
		if ct == "" {
			ct = "application/x-www-form-urlencoded"
		}
		req.Header.Set("Content-Type", ct)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	client := w.e.Client
	if c.browser != nil {
		client = c.browser.Client
	}
	return apitest.Send(t, client, req)
}

// sessionLink creates a session and returns its ID and token.
func (w *world) sessionLink(t *testing.T, body obj) (id, token, link string) {
	t.Helper()
	id, link = w.e.CreateSession(body)
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return id, u.Query().Get("token"), link
}

// portalFormCatalogue sends bad input to the portal's entry and forms:
// every answer is a 4xx HTML page, never a 5xx. It returns the number of
// cases and of 5xx answers.
func (w *world) portalFormCatalogue(t *testing.T) (total, fiveXX int) {
	e := w.e
	// A session without a user (hosted login), one to enter with a wrong
	// token, and one of a user for the name form.
	loginID, loginToken, loginLink := w.sessionLink(t, obj{"intent": obj{"type": "viewSubscriptions"}})
	openID, openToken, _ := w.sessionLink(t, obj{"intent": obj{"type": "viewSubscriptions"}})
	_, _, nameLink := w.sessionLink(t, obj{"intent": obj{"type": "updateUserFullName"}, "user": w.user})
	_ = loginToken

	loginBrowser := e.NewBrowser()
	if r := loginBrowser.Enter(loginLink); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/portal/login" {
		t.Fatalf("enter the login session: %d %s", r.Status, r.Header.Get("Location"))
	}
	nameBrowser := e.NewBrowser()
	if r := nameBrowser.Enter(nameLink); r.Status != http.StatusSeeOther {
		t.Fatalf("enter the name session: %d", r.Status)
	}

	wrongToken := strings.Repeat("A", 43)
	form := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	entry := func(name, body string, status int) portalCase {
		return portalCase{name: "entry.post/" + name, method: "POST", path: "/checkout/entry", body: body, status: status, html: true}
	}
	entryGet := func(name, query string, status int) portalCase {
		return portalCase{name: "entry.get/" + name, method: "GET", path: "/checkout/entry?" + query, status: status, html: true}
	}
	cases := []portalCase{
		entry("empty", "", 401),
		entry("garbage", form("session", "x", "token", "y"), 401),
		entry("wrong_token", form("session", openID, "token", wrongToken), 401),
		entry("token_42", form("session", openID, "token", openToken[:42]), 401),
		entry("token_44", form("session", openID, "token", openToken+"A"), 401),
		entry("token_upper", form("session", openID, "token", strings.ToUpper(openToken)), 401),
		entry("token_crlf", form("session", openID, "token", openToken[:41]+"\r\n"), 401),
		entry("token_nul", form("session", openID, "token", openToken[:42]+"\x00"), 401),
		entry("session_sql", form("session", "csn_' OR '1'='1", "token", openToken), 401),
		entry("session_traversal", form("session", "../../etc/passwd", "token", openToken), 401),
		entry("session_65", form("session", "csn_"+strings.Repeat("A", 61), "token", openToken), 401),
		entry("session_non_ascii", form("session", "csn_ÄÖÜ", "token", openToken), 401),
		entry("session_lower", form("session", strings.ToLower(openID), "token", openToken), 401),
		entry("session_of_user_id", form("session", w.user, "token", openToken), 401),
		entry("session_missing", form("token", openToken), 401),
		entry("token_missing", form("session", openID), 401),
		entry("invalid_utf8", "session=%ff%fe&token=%c0%af", 401),
		entry("repeated_session", form("session", openID, "session", loginID, "token", wrongToken), 401),
		entry("malformed_percent", "session=%zz&token=1", 400),
		entry("oversize", form("session", openID, "token", openToken, "pad", strings.Repeat("p", 8<<10)), 400),
		{name: "entry.post/json_body", method: "POST", path: "/checkout/entry", ctype: "application/json",
			body: `{"session":"` + openID + `","token":"` + openToken + `"}`, status: 401, html: true},
		{name: "entry.post/multipart_body", method: "POST", path: "/checkout/entry", ctype: "multipart/form-data; boundary=b",
			body: "--b\r\nContent-Disposition: form-data; name=\"session\"\r\n\r\n" + openID + "\r\n--b--\r\n", status: 401, html: true},
		{name: "entry.post/text_body", method: "POST", path: "/checkout/entry", ctype: "text/plain", body: "session=" + openID, status: 401, html: true},
		{name: "entry.post/token_in_query_only", method: "POST", path: "/checkout/entry?session=" + openID + "&token=" + wrongToken,
			body: "", status: 401, html: true},
		entryGet("none", "", 401),
		entryGet("garbage", "session=x&token=y", 401),
		entryGet("wrong_token", "session="+openID+"&token="+wrongToken, 401),
		entryGet("token_crlf", "session="+openID+"&token=%0d%0aSet-Cookie:%20a=b", 401),
		entryGet("session_traversal", "session=..%2f..%2fetc&token="+wrongToken, 401),
		entryGet("session_sql", "session="+url.QueryEscape("' OR 1=1 --")+"&token="+wrongToken, 401),
		entryGet("huge_token", "session="+openID+"&token="+strings.Repeat("t", 8000), 401),
		entryGet("malformed_query", "session=%zz", 401),
		entryGet("semicolons", "session="+openID+";token="+openToken, 401),
		entryGet("nul", "session=csn_%00&token=%00", 401),
		// Hosted login with bad emails: 422 and the form again.
		{name: "login/empty", method: "POST", path: "/portal/login", body: form("email", ""), browser: loginBrowser, status: 422, html: true},
		{name: "login/no_at", method: "POST", path: "/portal/login", body: form("email", "jerry"), browser: loginBrowser, status: 422, html: true},
		{name: "login/crlf", method: "POST", path: "/portal/login", body: form("email", "a@example.com\r\nBcc: x@evil.test"), browser: loginBrowser, status: 422, html: true},
		{name: "login/huge", method: "POST", path: "/portal/login", body: form("email", strings.Repeat("a", 12<<10)+"@example.com"), browser: loginBrowser, status: 422, html: true},
		// A form too large to read is the 400 page, as on every page (c3cc4de).
		{name: "login/oversize_form", method: "POST", path: "/portal/login", body: form("email", "a@example.com", "pad", strings.Repeat("p", 20<<10)), browser: loginBrowser, status: 400, html: true},
		{name: "login/code_never_sent", method: "POST", path: "/portal/login/code", body: form("code", "123456"), browser: loginBrowser, status: 422, html: true},
		{name: "login/no_cookie", method: "POST", path: "/portal/login", body: form("email", "a@example.com"), status: 401, html: true},
		{name: "login/forged_cookie", method: "POST", path: "/portal/login", body: form("email", "a@example.com"),
			header: map[string]string{"Cookie": "connectd=" + strings.Repeat("x", 43)}, status: 401, html: true},
		{name: "login/huge_cookie", method: "POST", path: "/portal/login", body: form("email", "a@example.com"),
			header: map[string]string{"Cookie": "connectd=" + strings.Repeat("x", 4000)}, status: 401, html: true},
		// The name form of a signed-in user.
		{name: "name/empty", method: "POST", path: "/portal/name", body: form("full_name", " "), browser: nameBrowser, status: 422, html: true},
		{name: "name/too_long", method: "POST", path: "/portal/name", body: form("full_name", strings.Repeat("n", 201)), browser: nameBrowser, status: 422, html: true},
		{name: "name/newline", method: "POST", path: "/portal/name", body: form("full_name", "a\nb"), browser: nameBrowser, status: 422, html: true},
		{name: "name/nul", method: "POST", path: "/portal/name", body: form("full_name", "a\x00b"), browser: nameBrowser, status: 422, html: true},
		{name: "name/invalid_utf8", method: "POST", path: "/portal/name", body: "full_name=%ff%fe", browser: nameBrowser, status: 422, html: true},
		{name: "name/oversize_form", method: "POST", path: "/portal/name", body: form("full_name", strings.Repeat("n", 20<<10)), browser: nameBrowser, status: 400, html: true},
		{name: "name/malformed_percent", method: "POST", path: "/portal/name", body: "full_name=%zz", browser: nameBrowser, status: 400, html: true},
		{name: "name/no_cookie", method: "POST", path: "/portal/name", body: form("full_name", "X"), status: 401, html: true},
		{name: "exit/no_cookie", method: "POST", path: "/portal/exit", status: 401, html: true},
		{name: "continue/no_cookie", method: "POST", path: "/portal/continue", status: 401, html: true},
		{name: "page/no_cookie", method: "GET", path: "/portal/subscriptions", status: 401, html: true},
	}
	// Confusable emails in the hosted login form.
	for _, em := range []string{"jerry@exаmple.com", "jerry＠example.com", "jer\u200dry@example.com", "jerry@example。com", "ｊerry@example.com"} {
		cases = append(cases, portalCase{name: "login/confusable/" + em, method: "POST", path: "/portal/login", body: form("email", em),
			browser: loginBrowser, status: 422, html: true})
	}
	for _, c := range cases {
		total++
		r := w.sendPortal(t, c)
		if r.Status >= 500 {
			fiveXX++
		}
		if r.Status != c.status {
			t.Errorf("portal %s: status %d, want %d: %.300s", c.name, r.Status, c.status, r.Body)
			continue
		}
		if ct := r.Header.Get("Content-Type"); c.html && !strings.HasPrefix(ct, "text/html") {
			t.Errorf("portal %s: Content-Type %q, want an HTML page: %.200s", c.name, ct, r.Body)
		}
	}
	// No code was sent for a confusable address.
	for _, em := range []string{"jerry@exаmple.com", "jerry＠example.com"} {
		if e.Mail.Code(em) != "" {
			t.Errorf("a login code was sent to %q", em)
		}
	}
	return total, fiveXX
}
