package hostile

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/apitest"
)

// The allow-list of the project the hostile callbacks are sent to. A
// hostile URL must be refused there; one marked anywhere must be refused
// in a project without an allow-list too.
var allowList = []string{"https://example.com/cb", "myapp://connect-callback", "http://localhost:3000/cb"}

// hostile is one hostile callbackUrl.
type hostile struct {
	class string
	url   string
	// anywhere: refused whatever the project's allow-list, because the URL
	// itself is not acceptable (scheme, syntax, user-info, control
	// characters, non-ASCII, http to a host that is not loopback, length).
	anywhere bool
}

// hostileCallbacks lists the hostile URLs: the spec's classes and known
// open-redirect bypass tricks. Decision on IP encodings: http is accepted
// only for the literal loopback forms (localhost, 127.x.x.x dotted quads,
// ::1); numeric, hex, octal and short encodings are not recognised as
// loopback, so http to them is refused as insecure.
func hostileCallbacks() []hostile {
	var hs []hostile
	add := func(class string, anywhere bool, urls ...string) {
		for _, u := range urls {
			hs = append(hs, hostile{class, u, anywhere})
		}
	}
	// Dangerous schemes, in every case and with encoded characters.
	for _, scheme := range []string{"javascript", "JavaScript", "JAVASCRIPT", "jAvAsCrIpT"} {
		add("scheme", true, scheme+":alert(1)", scheme+"://example.com/%0aalert(1)", scheme+":alert(document.cookie)//https://example.com/cb")
	}
	add("scheme", true,
		"javascript:%61lert(1)", "javascript:alert%281%29", "javascript:/*https://example.com/cb*/alert(1)",
		"javascript:https://example.com/cb", "javascript://%0d%0aalert(1)", "javascript:alert`1`",
		"javascript&colon;alert(1)", "%6aavascript:alert(1)", "java%0ascript:alert(1)", "java%09script:alert(1)",
		"&#106;avascript:alert(1)", "jav&#x09;ascript:alert(1)",
		"data:text/html,<script>alert(1)</script>", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
		"DATA:text/html,x", "data:,https://example.com/cb", "data://example.com/cb",
		"vbscript:msgbox(1)", "VBScript:MsgBox(1)", "vbscript://example.com/cb",
		"file:///etc/passwd", "file://evil.test/share", "FILE:///C:/Windows/win.ini", "file://example.com/cb",
		"blob:https://example.com/4f3c1d1e-0000-4000-8000-000000000000", "BLOB:https://example.com/cb",
		"about:blank", "filesystem:https://example.com/temporary/x", "view-source:https://example.com/cb",
		"ftp://example.com/cb", "ws://example.com/cb", "wss://example.com/cb", "mailto:a@example.com",
		"tel:+15555550100", "sms:+15555550100", "intent://scan/#Intent;scheme=zxing;end",
		"chrome://settings", "chrome-extension://abcdef/x.html", "content://com.android.contacts/x",
		"jar:https://example.com/x.jar!/", "resource://x", "ms-appx:///x", "ms-appx-web:///x",
	)
	// Whitespace and control characters around and inside the scheme.
	add("whitespace", true,
		" javascript:alert(1)", "\tjavascript:alert(1)", "\njavascript:alert(1)", "\x00javascript:alert(1)",
		"java\tscript:alert(1)", "java\nscript:alert(1)", "java\rscript:alert(1)", "javascript\t:alert(1)",
		" https://example.com/cb", "https://example.com/cb ", "\x0bhttps://example.com/cb", "https://example.com/cb\x00",
		"\u00a0https://example.com/cb", "\ufeffhttps://example.com/cb", "https ://example.com/cb", "https:/ /example.com/cb",
	)
	// CR, LF, TAB and their encodings.
	add("crlf", true,
		"https://example.com/cb\r\nLocation: https://evil.test", "https://example.com/cb\nSet-Cookie: a=b",
		"https://example.com/cb\r", "https://example.com/c\tb", "https://exam\nple.com/cb", "https://example.com\r\n.evil.test/cb",
		"https://example.com%0d%0a.evil.test/cb", "https://example.com%0d%0aSet-Cookie:a=b",
		"https://example.com/cb\u2028", "https://example.com/cb\u0085", "https://example.com/cb\x7f",
	)
	add("crlf", false,
		"https://example.com/cb%0d%0aLocation:%20https://evil.test", "https://example.com/%0d%0a/evil.test",
		"https://example.com/cb%09", "https://example.com/cb%00",
	)
	// Relative, scheme-relative and half-formed URLs.
	add("relative", true,
		"//evil.test", "//evil.test/cb", "///evil.test", "////evil.test/cb", "/\\evil.test", "\\/evil.test",
		`\\evil.test`, `\\evil.test\cb`, "/%2f%2fevil.test", "/%5cevil.test", "evil.test", "evil.test/cb", "/cb",
		"cb", "?x=1", "#x", "", " ", ".", "..", "./cb", "../cb",
		"https:evil.test", "https:/evil.test", `https:\\evil.test`, `https:/\evil.test`, "https:///evil.test",
		"https:////evil.test/cb", "http:evil.test", "https//evil.test", "://evil.test", "https:", "https://",
		"https:///", "https://:443/cb", "https://?x=1", "https://#x", "https://example.com//evil.test",
		"https://example.com//evil.test/cb", "myapp:connect-callback", "myapp:/connect-callback",
		"HTTPS:evil.test", "https:%2f%2fevil.test", "https:/%2fevil.test", "https://%2fevil.test",
	)
	// Backslashes, which browsers read as slashes.
	add("backslash", true,
		`https://evil.test\@example.com/cb`, `https://example.com\@evil.test`, `https://example.com\.evil.test/cb`,
		`https:\/\/evil.test`, `https://evil.test\example.com\cb`, `https://example.com/cb\..\..\evil`,
		`https://example.com\cb`, `myapp://connect-callback\@evil.test`,
	)
	// User-info and several @.
	add("userinfo", true,
		"https://example.com@evil.test", "https://example.com@evil.test/cb", "https://example.com:443@evil.test/cb",
		"https://user:pass@example.com/cb", "https://user@example.com/cb", "https://@example.com/cb", "https://:@example.com/cb",
		"https://a@b@evil.test", "https://example.com@evil.test@example.com/cb", "https://example.com%40evil.test@evil.test/cb",
		"https://example.com%2f@evil.test", "https://example.com%2f@evil.test/cb", "https://example.com%252f@evil.test",
		"https://example.com%23@evil.test", "https://example.com%3f@evil.test", "https://example.com&@evil.test#@example.com",
		"https://example.com;@evil.test", "https://example.com:@evil.test", "http://localhost@evil.test",
		"http://localhost:3000@evil.test/cb", "http://127.0.0.1:80@evil.test", "myapp://connect-callback@evil.test",
		"myapp://user@connect-callback", "https://evil.test%40example.com/cb",
	)
	// IDN homographs and other non-ASCII hosts, unicode dots.
	add("idn", true,
		"https://exаmple.com/cb", "https://ехаmple.com/cb", "https://example.cοm/cb", "https://ｅxample.com/cb",
		"https://example。com/cb", "https://example．com/cb", "https://example｡com/cb", "https://example.com。evil.test/cb",
		"https://exam\u200dple.com/cb", "https://example\u200b.com/cb", "https://\u202eexample.com/cb", "https://exa\u0301mple.com/cb",
		"https://example.com/cb\u200b", "https://ⓔxample.com/cb", "https://example.c\u00f6m/cb", "http://①②⑦.0.0.1/cb",
		"https://例え.テスト/cb", "myapp://cоnnect-callback",
	)
	// Punycode of homographs is ASCII: refused by the allow-list only.
	add("idn", false, "https://xn--exmple-cua.com/cb", "https://xn--80ak6aa92e.com/cb", "https://xn--e1awd7f.com/cb")
	// IP encodings with http: not loopback literals, so refused.
	add("ip", true,
		"http://2130706433/cb", "http://0x7f000001/cb", "http://0x7f.1/cb", "http://0x7f.0.0.1/cb", "http://017700000001/cb",
		"http://0177.0.0.1/cb", "http://0177.1/cb", "http://127.1/cb", "http://127.0.1/cb", "http://0/cb", "http://0.0.0.0/cb",
		"http://[::]/cb", "http://10.0.0.1/cb", "http://169.254.169.254/latest/meta-data/", "http://192.168.0.1/cb",
		"http://localhost.evil.test/cb", "http://127.0.0.1.nip.io/cb", "http://localtest.me/cb", "http://evil.test/cb",
		"http://example.com/cb", "HTTP://EXAMPLE.COM/cb", "http://127.0.0.1%2eevil.test/cb", "http://localhost%00.evil.test/cb",
		"http://evil.test#@localhost/cb", "http://evil.test?@localhost/cb", "http://[::1%25eth0]/cb", "http://[::1]evil.test/cb",
		"http://127.0.0.1:0/cb", "http://localhost:65536/cb", "http://localhost:99999/cb", "http://localhost:-1/cb",
		"http://localhost:3000x/cb", "https://example.com:0/cb", "https://example.com:65536/cb", "https://example.com:443443/cb",
	)
	// IP encodings with https: valid URLs to other hosts, refused by the
	// allow-list.
	add("ip", false, "https://2130706433/cb", "https://0x7f.1/cb", "https://127.0.0.1/cb", "https://[::1]/cb",
		"https://localhost/cb", "https://93.184.216.34/cb")
	// Overlong URLs.
	for _, n := range []int{2049, 2100, 4096, 8192, 60000} {
		add("overlong", true, "https://example.com/cb?"+strings.Repeat("a", n-len("https://example.com/cb?")))
	}
	add("overlong", true, "https://"+strings.Repeat("a", 254)+".com/cb", "https://"+strings.Repeat("a.", 130)+"com/cb")
	// Fragment and query tricks that go elsewhere.
	add("fragment", false,
		"https://evil.test#https://example.com/cb", "https://evil.test/#/example.com/cb", "https://evil.test?https://example.com/cb",
		"https://evil.test?next=https://example.com/cb", "https://evil.test/example.com/cb#", "https://evil.test#@example.com/cb",
		"https://evil.test?@example.com/cb", "https://evil.test/?.example.com/cb",
	)
	add("fragment", true, "javascript:alert(1)#https://example.com/cb", "javascript:alert(1)//?https://example.com/cb")
	// Allow-list bypasses: valid URLs that are not exactly an entry.
	add("allowlist", false,
		"https://example.com.evil.test/cb", "https://example.com.evil.test", "https://evil.test/example.com",
		"https://evil.test/example.com/cb", "https://evil.test/https://example.com/cb", "https://sub.example.com/cb",
		"https://www.example.com/cb", "https://evilexample.com/cb", "https://example.com-evil.test/cb", "https://example.co/cb",
		"https://examp1e.com/cb", "https://example.com.cn/cb", "https://example.comevil.test/cb", "https://example.com:444/cb",
		"https://example.com:80/cb", "https://example.com:8443/cb", "https://example.com:443.evil.test/cb",
		"https://example.com./cb", "https://EXAMPLE.COM./cb", "https://example.com/cb/", "https://example.com/cbx",
		"https://example.com/cb/evil", "https://example.com/cb/../admin", "https://example.com/cb/%2e%2e/admin",
		"https://example.com/cb%2f..%2fadmin", "https://example.com/CB", "https://example.com/Cb", "https://example.com/cb;x",
		"https://example.com/cb.", "https://example.com/./cb", "https://example.com/%63b", "https://example.com/c%62",
		"https://example.com", "https://example.com/", "https://example.com/cb2", "https://example.com/c",
		"https://evil.test/cb", "https://evil.test", "http://localhost:3001/cb", "http://localhost:3000/cb2",
		"http://localhost:3000/", "http://localhost/cb", "http://localhost:80/cb", "http://127.0.0.1:3000/cb",
		"http://[::1]:3000/cb", "http://localhost:03000/cb", "https://localhost:3000/cb", "myapp://connect-callback.evil.test",
		"myapp://evil.test", "myapp://connect-callback/evil", "myapp://connect-callback:1/", "myapp2://connect-callback",
		"myap://connect-callback", "evilapp://connect-callback", "myapp:///connect-callback",
		"myapp://connect-callback/../x", "myapp://Connect-Callback/x", "https://example.com:443/cb/", "https://example.com/cb/.",
	)
	return hs
}

// TestHostileCallbacks sends every hostile callbackUrl to the API (create
// and PATCH) of a project with an allow-list, and the ones that are
// unacceptable anywhere to a project without one. None may be accepted;
// each gets a 422 naming callbackUrl.
func TestHostileCallbacks(t *testing.T) {
	e := apitest.New(t, apitest.Options{})
	settings := connectd.DefaultProjectSettings()
	settings.CallbackAllowList = allowList
	allowProject, allowKey := e.NewProject("allow", &settings)

	hs := hostileCallbacks()
	seen := map[string]bool{}
	anywhere := 0
	for _, h := range hs {
		if seen[h.url] {
			t.Errorf("hostile URL listed twice: %q", h.url)
		}
		seen[h.url] = true
		if h.anywhere {
			anywhere++
		}
	}
	if len(seen) < 200 {
		t.Errorf("%d hostile URLs, want at least 200", len(seen))
	}

	session := func(key, project string) string {
		r := e.Do(apitest.Request{Method: "POST", Path: "/projects/" + project + "/connectSessions", Key: key,
			Body: `{"intent":{"type":"viewSubscriptions"}}`})
		if r.Status != http.StatusCreated {
			t.Fatalf("create session: %d %s", r.Status, r.Body)
		}
		return r.JSON(t)["id"].(string)
	}
	allowSession := session(allowKey, allowProject)
	openSession := session(e.Key, e.Project)

	accepted, requests := 0, 0
	try := func(what, key, method, path string, h hostile) {
		t.Helper()
		b, _ := json.Marshal(h.url)
		body := `{"callbackUrl":` + string(b) + `}`
		if method == http.MethodPost {
			body = `{"intent":{"type":"viewSubscriptions"},"callbackUrl":` + string(b) + `}`
		}
		r := e.Do(apitest.Request{Method: method, Path: path, Key: key, Body: body})
		requests++
		if r.Status < 300 {
			accepted++
		}
		if r.Status != http.StatusUnprocessableEntity {
			t.Errorf("%s %s %.80q: %d, want 422: %.200s", what, h.class, h.url, r.Status, r.Body)
			return
		}
		checkErrorBody(t, fmt.Sprintf("%s %s %.80q", what, h.class, h.url), r, 422, "validationFailed", "callbackUrl", "")
	}
	for _, h := range hs {
		try("allow-list create", allowKey, http.MethodPost, "/projects/"+allowProject+"/connectSessions", h)
		try("allow-list patch", allowKey, http.MethodPatch, "/projects/"+allowProject+"/connectSessions/"+allowSession, h)
		if h.anywhere {
			try("create", e.Key, http.MethodPost, "/projects/"+e.Project+"/connectSessions", h)
			try("patch", e.Key, http.MethodPatch, "/projects/"+e.Project+"/connectSessions/"+openSession, h)
		}
	}
	t.Logf("hostile callbacks: %d URLs (%d refused in any project), %d requests, %d accepted", len(seen), anywhere, requests, accepted)
	if accepted != 0 {
		t.Errorf("%d hostile callbacks accepted, want 0", accepted)
	}

	// Controls: the allow-list does accept its entries, with the free
	// query, an explicit default port, a host in upper case (hosts compare
	// without case), and an empty path read as "/" (browsers send both the
	// same).
	for _, u := range []string{"https://example.com/cb", "https://EXAMPLE.COM/cb", "https://Example.Com:443/cb", "https://example.com/cb?x=1#f",
		"myapp://connect-callback", "myapp://connect-callback/", "myapp://connect-callback?a=b", "http://localhost:3000/cb", "http://LOCALHOST:3000/cb?x=1"} {
		b, _ := json.Marshal(u)
		r := e.Do(apitest.Request{Method: "POST", Path: "/projects/" + allowProject + "/connectSessions", Key: allowKey,
			Body: `{"intent":{"type":"viewSubscriptions"},"callbackUrl":` + string(b) + `}`})
		if r.Status != http.StatusCreated {
			t.Errorf("allow-listed %q: %d %s", u, r.Status, r.Body)
		}
	}
	// And http to the loopback literals is fine without an allow-list.
	for _, u := range []string{"http://localhost/cb", "http://127.0.0.1:8080/cb", "http://[::1]/cb", "http://127.10.20.30/cb"} {
		b, _ := json.Marshal(u)
		if r := e.Post("/connectSessions", `{"intent":{"type":"viewSubscriptions"},"callbackUrl":`+string(b)+`}`); r.Status != http.StatusCreated {
			t.Errorf("loopback %q: %d %s", u, r.Status, r.Body)
		}
	}
}

// Issue 11.9: a callbackUrl may not carry the parameters the portal adds
// when it links back (session_id, status), in any spelling a parser would
// read as them. Create and PATCH refuse it with 422 naming callbackUrl,
// field code reservedParameter; a name that only contains them is fine.
func TestReservedCallbackParameters(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, be apitest.Backend) {
		e := apitest.New(t, apitest.Options{Backend: be})
		open := e.Post("/connectSessions", obj{"intent": obj{"type": "viewSubscriptions"}})
		if open.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", open.Status, open.Body)
		}
		id := open.JSON(t)["id"].(string)
		for _, c := range []struct {
			url  string
			want int
		}{
			{"https://example.com/cb?status=success", 422},
			{"https://example.com/cb?session_id=csn_0000000000000000000000000000", 422},
			{"https://example.com/cb?from=app&status=", 422},
			{"https://example.com/cb?from=app;status=success", 422},
			{"https://example.com/cb?st%61tus=success", 422},
			{"https://example.com/cb?Status=success", 422},
			{"https://example.com/cb?session%5fid=x", 422},
			{"myapp://connect-callback?status=success", 422},
			{"https://example.com/cb?statusPage=1&my_session_id=2", 200},
			{"https://example.com/cb#status=success", 200},
		} {
			b, _ := json.Marshal(c.url)
			for _, req := range []struct{ method, path, body string }{
				{http.MethodPost, "/connectSessions", `{"intent":{"type":"viewSubscriptions"},"callbackUrl":` + string(b) + `}`},
				{http.MethodPatch, "/connectSessions/" + id, `{"callbackUrl":` + string(b) + `}`},
			} {
				r := e.Do(apitest.Request{Method: req.method, Path: "/projects/" + e.Project + req.path, Body: req.body})
				name := req.method + " " + c.url
				if c.want == 200 {
					if r.Status >= 300 {
						t.Errorf("%s: %d %s, want it accepted", name, r.Status, r.Body)
					}
					continue
				}
				if r.Status != http.StatusUnprocessableEntity {
					t.Errorf("%s: %d %s, want 422", name, r.Status, r.Body)
					continue
				}
				checkErrorBody(t, name, r, 422, "validationFailed", "callbackUrl", "reservedParameter")
			}
		}
		// Nothing refused was stored.
		if got := e.Get("/connectSessions/" + id).JSON(t)["callbackUrl"]; got != "https://example.com/cb#status=success" {
			t.Fatalf("callbackUrl %v, want the last accepted one", got)
		}
	})
}
