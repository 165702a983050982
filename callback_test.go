package connectd

import (
	"net"
	"net/url"
	"strings"
	"testing"
)

const (
	ok        = ""
	cInvalid  = CodeCallbackInvalid
	cScheme   = CodeCallbackScheme
	cUserInfo = CodeCallbackUserInfo
	cHTTP     = CodeCallbackInsecureHTTP
	cTooLong  = CodeCallbackTooLong
	cNotAllow = CodeCallbackNotAllowed
)

type callbackCase struct {
	url  string
	code string // "" when accepted
}

var callbackCases = []callbackCase{
	// Refused: the parameters the portal adds when it links back (issue 11.9).
	{"https://example.com/cb?status=success", CodeCallbackReserved},
	{"https://example.com/cb?session_id=csn_x", CodeCallbackReserved},
	{"https://example.com/cb?a=1&status", CodeCallbackReserved},
	{"https://example.com/cb?a=1;status=success", CodeCallbackReserved},
	{"https://example.com/cb?st%61tus=success", CodeCallbackReserved},
	{"https://example.com/cb?STATUS=success", CodeCallbackReserved},
	{"https://example.com/cb?session%5Fid=x", CodeCallbackReserved},
	{"myapp://connect-callback?status=success", CodeCallbackReserved},
	// Accepted: names that only contain them, and the fragment.
	{"https://example.com/cb?statuses=1&my_session_id=2", ok},
	{"https://example.com/cb#status=success", ok},
	// Accepted: https.
	{"https://example.com", ok},
	{"https://example.com/", ok},
	{"https://example.com/cb", ok},
	{"https://example.com/connect/callback/", ok},
	{"https://Example.COM/cb", ok},
	{"HTTPS://example.com/cb", ok},
	{"hTTpS://example.com/cb", ok},
	{"https://sub.example.co.uk/cb", ok},
	{"https://my-host.example/cb", ok},
	{"https://example.com.", ok}, // fully qualified
	{"https://example.com:443/cb", ok},
	{"https://example.com:8443/cb", ok},
	{"https://example.com:1/cb", ok},
	{"https://example.com:65535/cb", ok},
	{"https://example.com/cb?x=1", ok},
	{"https://example.com/cb?x=1&y=%20z&z=a+b", ok},
	{"https://example.com/cb?next=https%3A%2F%2Fother.test%2F", ok},
	{"https://example.com/cb?next=https://other.test/", ok},
	{"https://example.com/cb?", ok},
	{"https://example.com?x=1", ok},
	{"https://example.com/cb#frag", ok},
	{"https://example.com/cb?x=1#frag", ok},
	{"https://example.com/cb#/route?x=1", ok},
	{"https://example.com/cb?x=a@b@c", ok}, // '@' in the query is data
	{"https://example.com/@user", ok},      // one '@' in the path
	{"https://example.com/a%2Fb", ok},
	{"https://example.com/%0D%0A", ok}, // encoded CR/LF stay encoded: harmless in a path
	{"https://example.com/a;b=c/d,e", ok},
	{"https://93.184.216.34/cb", ok},
	{"https://[2001:db8::1]/cb", ok},
	{"https://[2001:db8::1]:8443/cb", ok},
	{"https://xn--80ak6aa92e.com/cb", ok}, // punycode is how IDNs are given
	{"https://localhost/cb", ok},
	// Accepted: http on loopback only.
	{"http://localhost", ok},
	{"http://localhost/cb", ok},
	{"http://LOCALHOST:8080/cb", ok},
	{"http://localhost:3000/cb?x=1", ok},
	{"http://127.0.0.1/cb", ok},
	{"http://127.0.0.1:3000/cb", ok},
	{"http://127.1.2.3/cb", ok},
	{"http://[::1]/cb", ok},
	{"http://[::1]:8080/cb", ok},
	{"HTTP://127.0.0.1/cb", ok},
	// Accepted: native-app schemes in hierarchical form.
	{"myapp://connect-callback", ok},
	{"myapp://deep-link?x=1", ok},
	{"myapp://connect-callback/done", ok},
	{"myapp://connect-callback#x", ok},
	{"MyApp://connect-callback", ok},
	{"com.example.app://callback", ok},
	{"my-app+v2://cb", ok},
	{"myapp:///path", ok},
	{"myapp://", ok},

	// Refused: dangerous schemes, whatever their case.
	{"javascript:alert(1)", cScheme},
	{"JaVaScRiPt:alert(1)", cScheme},
	{"JAVASCRIPT:alert(1)", cScheme},
	{"javascript://example.com/%0Aalert(1)", cScheme},
	{"javascript://localhost/cb", cScheme},
	{"data:text/html,<script>alert(1)</script>", cScheme},
	{"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", cScheme},
	{"DATA:text/plain,hi", cScheme},
	{"file:///etc/passwd", cScheme},
	{"FILE://localhost/etc/passwd", cScheme},
	{"vbscript:msgbox(1)", cScheme},
	{"VBScript:msgbox(1)", cScheme},
	{"blob:https://example.com/0b3c3c1e-1d1f-4a8e-9c3b-2c8a8f6f0a1b", cScheme},
	{"about:blank", cScheme},
	{"view-source:https://example.com", cScheme},
	{"filesystem:https://example.com/temporary/x", cScheme},
	{"ftp://example.com/", cScheme},
	{"ws://localhost/", cScheme},
	{"wss://example.com/", cScheme},
	{"mailto:a@example.com", cScheme},
	{"tel:+15555550100", cScheme},
	{"intent://scan/#Intent;scheme=zxing;end", cScheme},

	// Refused: empty, relative, scheme-relative and malformed.
	{"", cInvalid},
	{"/path", cInvalid},
	{"path/cb", cInvalid},
	{"example.com/cb", cInvalid},
	{"//evil.com", cInvalid},
	{"//evil.com/cb", cInvalid},
	{"///evil.com", cInvalid},
	{"?x=1", cInvalid},
	{"#frag", cInvalid},
	{"https:evil.com", cInvalid},
	{"https:/evil.com", cInvalid},
	{"https:", cInvalid},
	{"https://", cInvalid},
	{"https:///evil.com", cInvalid},
	{"https://example.com//evil.com", cInvalid},
	{"https://?x=1", cInvalid},
	{"myapp:connect", cInvalid},
	{"myapp:/connect", cInvalid},
	{"myapp:", cInvalid},
	{"myapp:////evil.com", cInvalid},
	{"1app://cb", cInvalid}, // a scheme starts with a letter
	{"://example.com", cInvalid},
	{"https://exa_mple.com/", cInvalid},
	{"https://.example.com/", cInvalid},
	{"https://example..com/", cInvalid},
	{"https://[example.com]/", cInvalid},
	{"http://[127.0.0.1]/", cInvalid},
	{"https://[::1%25eth0]/", cInvalid},
	{"https://%65xample.com/", cInvalid},
	{"https://example.com%0d%0a.evil.test/", cInvalid},
	{"https://example.com%2F@evil.test/", cUserInfo},
	{"https://example.com/%zz", cInvalid},

	// Refused: http except on loopback.
	{"http://example.com", cHTTP},
	{"http://example.com/cb", cHTTP},
	{"HTTP://example.com/cb", cHTTP},
	{"http://127.0.0.1.evil.test/cb", cHTTP},
	{"http://localhost.evil.test/cb", cHTTP},
	{"http://evil.test/http://localhost/", cHTTP},
	{"http://localhost./cb", cHTTP},
	{"http://127.1/", cHTTP},
	{"http://0x7f000001/", cHTTP},
	{"http://2130706433/", cHTTP},
	{"http://10.0.0.1/", cHTTP},
	{"http://192.168.1.1:3000/cb", cHTTP},
	{"http://[::ffff:8.8.8.8]/", cHTTP},
	{"http://[fe80::1]/", cHTTP},
	{"http://0.0.0.0/", cHTTP},
	{"http:///cb", cHTTP},

	// Refused: user-info, and several '@'.
	{"https://user:pw@example.com", cUserInfo},
	{"https://user@example.com/cb", cUserInfo},
	{"https://example.com@evil.test", cUserInfo},
	{"https://example.com:443@evil.test/cb", cUserInfo},
	{"https://:@evil.test", cUserInfo},
	{"https://@evil.test", cUserInfo},
	{"http://localhost@evil.test", cUserInfo},
	{"http://localhost:3000@evil.test/cb", cUserInfo},
	{"myapp://user@host", cUserInfo},
	{"https://a@b@evil.test", cInvalid},
	{"https://example.com@@evil.test", cInvalid},
	{"https://user:p@ss@evil.test", cInvalid},
	{"https://example.com/a@b/c@d", cInvalid},
	{"https://example.com@evil.test#@example.com", cUserInfo},

	// Refused: control characters, raw.
	{"https://example.com/\r\nSet-Cookie:x=1", cInvalid},
	{"https://example.com/cb\n", cInvalid},
	{"https://example.com/cb\r", cInvalid},
	{"https://example.com/\tcb", cInvalid},
	{"https://example.com/cb\x00", cInvalid},
	{"https://example.com/cb\x7f", cInvalid},
	{"https://exa\nmple.com/", cInvalid},
	{"\x00javascript:alert(1)", cInvalid},
	{"java\tscript:alert(1)", cInvalid},
	{"java\nscript:alert(1)", cInvalid},
	{"\x01https://example.com", cInvalid},
	{"https://example.com/?x=\x1b", cInvalid},
	{"https://example.com/#\x00", cInvalid},

	// Refused: backslashes, which browsers read as '/'.
	{`https://example.com\@evil.test`, cInvalid},
	{`https://example.com\evil.test`, cInvalid},
	{`https:\\evil.com`, cInvalid},
	{`/\\evil`, cInvalid},
	{`/\evil.com`, cInvalid},
	{`\\evil.com`, cInvalid},
	{`https://example.com/cb?x=\`, cInvalid},

	// Refused: non-ASCII, such as IDN homographs.
	{"https://exаmple.com/cb", cInvalid}, // Cyrillic а
	{"https://еxample.com/cb", cInvalid}, // Cyrillic е
	{"https://例え.jp/", cInvalid},
	{"https://example.com/café", cInvalid},
	{"https://example.com/?q=é", cInvalid},
	{"https://ex%C3%A4mple.com/", cInvalid},
	{"https://example.com\u2044evil.test", cInvalid}, // fraction slash
	{"https://example.com\uff0fevil.test", cInvalid}, // full-width solidus
	{"https://example.com\u200b/", cInvalid},         // zero-width space

	// Refused: spaces.
	{" https://example.com", cInvalid},
	{"https://example.com ", cInvalid},
	{"https://example.com/a b", cInvalid},
	{"https ://example.com", cInvalid},
	{"javascript :alert(1)", cInvalid},

	// Refused: bad ports.
	{"https://example.com:0/", cInvalid},
	{"https://example.com:65536/", cInvalid},
	{"https://example.com:99999/", cInvalid},
	{"https://example.com:123456/", cInvalid},
	{"https://example.com:abc/", cInvalid},
	{"https://example.com:-1/", cInvalid},
	{"https://example.com:+443/", cInvalid},
	{"http://[::1]:0/", cInvalid},
	{"myapp://host:99999", cInvalid},

	// Length: 2048 bytes is the limit.
	{"https://example.com/" + strings.Repeat("a", 2048-len("https://example.com/")), ok},
	{"https://example.com/" + strings.Repeat("a", 2049-len("https://example.com/")), cTooLong},
	{"https://example.com/?x=" + strings.Repeat("a", 10000), cTooLong},
	{"javascript:" + strings.Repeat("a", 3000), cTooLong},
}

func TestCheckCallbackURL(t *testing.T) {
	if len(callbackCases) < 80 {
		t.Fatalf("only %d cases", len(callbackCases))
	}
	seen := map[string]bool{}
	for _, tc := range callbackCases {
		if seen[tc.url] {
			t.Errorf("case %q listed twice", tc.url)
		}
		seen[tc.url] = true
		fe := CheckCallbackURL("callbackUrl", tc.url, nil)
		switch {
		case tc.code == ok && fe != nil:
			t.Errorf("%q refused: %s (%s)", tc.url, fe.Code, fe.Message)
		case tc.code != ok && fe == nil:
			t.Errorf("%q accepted, want %s", tc.url, tc.code)
		case fe != nil && fe.Code != tc.code:
			t.Errorf("%q: code %s (%s), want %s", tc.url, fe.Code, fe.Message, tc.code)
		case fe != nil && (fe.Field != "callbackUrl" || fe.Message == ""):
			t.Errorf("%q: field %q, message %q", tc.url, fe.Field, fe.Message)
		}
		if fe == nil {
			assertCallbackInvariants(t, tc.url, nil)
		}
	}
}

func TestCheckCallbackURLMessages(t *testing.T) {
	// Messages tell the client what to do, and never echo the URL (which
	// could carry control characters into logs).
	tests := []struct{ url, contains string }{
		{"javascript:alert(1)", "javascript:"},
		{"JaVaScRiPt:alert(1)", "javascript:"},
		{"http://example.com", "https"},
		{"https://user:pw@example.com", "user"},
		{"https://example.com/\r\n", "control"},
		{`https://example.com\@evil.test`, "backslash"},
		{"https://exаmple.com", "ASCII"},
		{"/cb", "absolute"},
		{"https://example.com:0", "port"},
	}
	for _, tc := range tests {
		fe := CheckCallbackURL("callbackUrl", tc.url, nil)
		if fe == nil {
			t.Fatalf("%q accepted", tc.url)
		}
		if !strings.Contains(fe.Message, tc.contains) {
			t.Errorf("%q: message %q does not mention %q", tc.url, fe.Message, tc.contains)
		}
		if strings.ContainsAny(fe.Message, "\r\n\x00") {
			t.Errorf("%q: message %q has control characters", tc.url, fe.Message)
		}
	}
}

func TestCheckCallbackURLAllowList(t *testing.T) {
	tests := []struct {
		allow []string
		url   string
		code  string
	}{
		// Exact scheme, host (any case), port and path; the query is free.
		{[]string{"https://example.com/cb"}, "https://example.com/cb", ok},
		{[]string{"https://example.com/cb"}, "https://EXAMPLE.com/cb", ok},
		{[]string{"https://Example.COM/cb"}, "https://example.com/cb", ok},
		{[]string{"https://example.com/cb"}, "HTTPS://example.com/cb", ok},
		{[]string{"https://example.com/cb"}, "https://example.com:443/cb", ok},
		{[]string{"https://example.com:443/cb"}, "https://example.com/cb", ok},
		{[]string{"https://example.com/cb"}, "https://example.com/cb?x=1&y=2", ok},
		{[]string{"https://example.com/cb"}, "https://example.com/cb?", ok},
		{[]string{"https://example.com/cb"}, "https://example.com/cb#frag", ok},
		{[]string{"https://example.com"}, "https://example.com/", ok},
		{[]string{"https://example.com/"}, "https://example.com", ok},
		{[]string{"https://example.com"}, "https://example.com?x=1", ok},
		{[]string{"https://a.test/x", "https://example.com/cb", "myapp://cb"}, "https://example.com/cb", ok},
		{[]string{"myapp://connect-callback"}, "myapp://connect-callback", ok},
		{[]string{"myapp://connect-callback"}, "myapp://connect-callback?x=1", ok},
		{[]string{"myapp://connect-callback"}, "MYAPP://connect-callback", ok},
		{[]string{"http://localhost:3000/cb"}, "http://localhost:3000/cb?a=b", ok},
		{[]string{"http://localhost:3000/cb"}, "http://LocalHost:3000/cb", ok},
		{[]string{"http://localhost/cb"}, "http://localhost:80/cb", ok},
		{[]string{"http://[::1]:8080/cb"}, "http://[::1]:8080/cb", ok},

		// Bypass forms and near misses.
		{[]string{"https://example.com/cb"}, "https://example.com.evil.test/cb", cNotAllow},
		{[]string{"https://example.com/cb"}, "https://evil.test/https://example.com/cb", cNotAllow},
		{[]string{"https://example.com/cb"}, "https://evil.test/cb?https://example.com/cb", cNotAllow},
		{[]string{"https://example.com/cb"}, "https://evil.test/cb#https://example.com/cb", cNotAllow},
		{[]string{"https://example.com/cb"}, "https://evilexample.com/cb", cNotAllow},
		{[]string{"https://example.com/cb"}, "https://sub.example.com/cb", cNotAllow},
		{[]string{"https://example.com/cb"}, "https://example.com/cb/extra", cNotAllow},
		{[]string{"https://example.com/cb"}, "https://example.com/cbx", cNotAllow},
		{[]string{"https://example.com/cb"}, "https://example.com/cb/", cNotAllow},
		{[]string{"https://example.com/cb"}, "https://example.com/c", cNotAllow},
		{[]string{"https://example.com/cb"}, "https://example.com/", cNotAllow},
		{[]string{"https://example.com/cb"}, "https://example.com", cNotAllow},
		{[]string{"https://example.com/cb"}, "https://example.com/CB", cNotAllow},
		{[]string{"https://example.com/cb"}, "https://example.com/%63b", cNotAllow},
		{[]string{"https://example.com/cb"}, "https://example.com/cb/../cb", cNotAllow},
		{[]string{"https://example.com/cb"}, "https://example.com/./cb", cNotAllow},
		{[]string{"https://example.com/cb"}, "https://example.com:8443/cb", cNotAllow},
		{[]string{"https://example.com/cb"}, "https://example.com:444/cb", cNotAllow},
		{[]string{"https://example.com/cb"}, "myapp://example.com/cb", cNotAllow},
		{[]string{"https://example.com:8443/cb"}, "https://example.com/cb", cNotAllow},
		{[]string{"https://example.com/"}, "https://example.com/x", cNotAllow},
		{[]string{"https://localhost/cb"}, "http://localhost/cb", cNotAllow},
		{[]string{"http://localhost:3000/cb"}, "https://localhost:3000/cb", cNotAllow},
		{[]string{"http://localhost:3000/cb"}, "http://localhost:3001/cb", cNotAllow},
		{[]string{"http://localhost:3000/cb"}, "http://localhost/cb", cNotAllow},
		{[]string{"http://localhost:3000/cb"}, "http://127.0.0.1:3000/cb", cNotAllow},
		{[]string{"myapp://connect-callback"}, "myapp://connect-callback/x", cNotAllow},
		{[]string{"myapp://connect-callback"}, "otherapp://connect-callback", cNotAllow},
		{[]string{"myapp://connect-callback"}, "myapp://connect-callback:1", cNotAllow},
		{[]string{"myapp://connect-callback"}, "myapp://other", cNotAllow},

		// The base rules apply first, with their own codes.
		{[]string{"https://example.com/cb"}, "javascript:alert(1)", cScheme},
		{[]string{"https://example.com/cb"}, "https://user@example.com/cb", cUserInfo},
		{[]string{"https://example.com/cb"}, "https://example.com@evil.test/cb", cUserInfo},
		{[]string{"https://example.com/cb"}, "http://example.com/cb", cHTTP},
		{[]string{"https://example.com/cb"}, "https://example.com/cb\r\n", cInvalid},
		{[]string{"https://example.com/cb"}, `https://example.com/cb\`, cInvalid},
		{[]string{"https://example.com/cb"}, "//example.com/cb", cInvalid},
	}
	for _, tc := range tests {
		fe := CheckCallbackURL("callbackUrl", tc.url, tc.allow)
		got := ok
		if fe != nil {
			got = fe.Code
		}
		if got != tc.code {
			t.Errorf("%q with %q: %q, want %q", tc.url, tc.allow, got, tc.code)
		}
		if fe == nil {
			assertCallbackInvariants(t, tc.url, tc.allow)
		}
	}
}

func TestCheckAllowListEntry(t *testing.T) {
	tests := []struct{ entry, code string }{
		{"https://example.com/cb", ok},
		{"https://example.com", ok},
		{"https://example.com:8443/cb", ok},
		{"myapp://connect-callback", ok},
		{"http://localhost:3000/cb", ok},
		{"http://[::1]/cb", ok},
		{"https://example.com/cb?x=1", cInvalid},
		{"https://example.com/cb?", cInvalid},
		{"https://example.com/cb#frag", cInvalid},
		{"https://example.com/cb#", cInvalid},
		{"https://example.com/cb?#", cInvalid},
		{"myapp://connect-callback?x=1", cInvalid},
		{"javascript:alert(1)", cScheme},
		{"http://example.com/cb", cHTTP},
		{"https://user@example.com/cb", cUserInfo},
		{"/cb", cInvalid},
		{"", cInvalid},
		{"https://example.com/" + strings.Repeat("a", 2100), cTooLong},
	}
	for _, tc := range tests {
		fe := CheckAllowListEntry(tc.entry)
		got := ok
		if fe != nil {
			got = fe.Code
			if fe.Field != "callbackAllowList" {
				t.Errorf("%q: field %q", tc.entry, fe.Field)
			}
		}
		if got != tc.code {
			t.Errorf("CheckAllowListEntry(%q) = %q, want %q", tc.entry, got, tc.code)
		}
	}
}

func TestAppendCallbackParams(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://example.com", "https://example.com?session_id=csn_x&status=success"},
		{"https://example.com/", "https://example.com/?session_id=csn_x&status=success"},
		{"https://example.com/cb", "https://example.com/cb?session_id=csn_x&status=success"},
		{"https://example.com/cb?", "https://example.com/cb?session_id=csn_x&status=success"},
		{"https://example.com/cb?a=1", "https://example.com/cb?a=1&session_id=csn_x&status=success"},
		// The app's own query comes back byte for byte, in its order.
		{"https://example.com/cb?b=2&a=1", "https://example.com/cb?b=2&a=1&session_id=csn_x&status=success"},
		{"https://example.com/cb?x=%20%2B+y&z=%7e&e=", "https://example.com/cb?x=%20%2B+y&z=%7e&e=&session_id=csn_x&status=success"},
		{"https://example.com/cb?flag", "https://example.com/cb?flag&session_id=csn_x&status=success"},
		{"https://example.com/cb?a=1&", "https://example.com/cb?a=1&&session_id=csn_x&status=success"},
		{"https://example.com/cb?next=https://other.test/?a=b", "https://example.com/cb?next=https://other.test/?a=b&session_id=csn_x&status=success"},
		{"https://example.com/cb?x=a@b@c", "https://example.com/cb?x=a@b@c&session_id=csn_x&status=success"},
		// The query goes before the fragment.
		{"https://example.com/cb#frag", "https://example.com/cb?session_id=csn_x&status=success#frag"},
		{"https://example.com/cb?x=1#frag", "https://example.com/cb?x=1&session_id=csn_x&status=success#frag"},
		{"https://example.com/cb#/route?y=2", "https://example.com/cb?session_id=csn_x&status=success#/route?y=2"},
		// Everything but the query is kept as given.
		{"https://Example.COM:8443/A%2fb/c;d", "https://Example.COM:8443/A%2fb/c;d?session_id=csn_x&status=success"},
		{"https://example.com/a{b}|c", "https://example.com/a{b}|c?session_id=csn_x&status=success"},
		{"HTTPS://example.com/cb", "HTTPS://example.com/cb?session_id=csn_x&status=success"},
		{"http://127.0.0.1:3000/cb", "http://127.0.0.1:3000/cb?session_id=csn_x&status=success"},
		{"http://[::1]/cb", "http://[::1]/cb?session_id=csn_x&status=success"},
		// App schemes.
		{"myapp://deep-link?a=1", "myapp://deep-link?a=1&session_id=csn_x&status=success"},
		{"myapp://connect-callback", "myapp://connect-callback?session_id=csn_x&status=success"},
		{"myapp://connect-callback/done", "myapp://connect-callback/done?session_id=csn_x&status=success"},
		{"myapp:///path", "myapp:///path?session_id=csn_x&status=success"},
		{"myapp://", "myapp://?session_id=csn_x&status=success"},
		{"myapp://?a=1", "myapp://?a=1&session_id=csn_x&status=success"},
		{"com.example.app://callback#x", "com.example.app://callback?session_id=csn_x&status=success#x"},
	}
	for _, tc := range tests {
		if fe := CheckCallbackURL("callbackUrl", tc.in, nil); fe != nil {
			t.Fatalf("%q is not an acceptable callback: %v", tc.in, fe)
		}
		got, err := AppendCallbackParams(tc.in, "csn_x", "success")
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("AppendCallbackParams(%q):\n got %q\nwant %q", tc.in, got, tc.want)
		}
		// The result is still an acceptable callback to the same place,
		// apart from the parameters the portal adds.
		if fe := CheckCallbackURL("callbackUrl", got, nil); fe != nil && fe.Code != CodeCallbackReserved {
			t.Errorf("%q: result %q refused: %v", tc.in, got, fe)
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("%q: %v", got, err)
		}
		q := u.Query()
		if q.Get("session_id") != "csn_x" || q.Get("status") != "success" {
			t.Errorf("%q: query %v", got, q)
		}
	}

	// Values are query-escaped.
	got, err := AppendCallbackParams("https://example.com/cb", "csn_a&b=c", "bad configuration#")
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://example.com/cb?session_id=csn_a%26b%3Dc&status=bad+configuration%23"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, status := range []SessionStatus{StatusCompleted, StatusAborted, StatusFailed} {
		got, _ := AppendCallbackParams("myapp://cb", "csn_1", string(status))
		if want := "myapp://cb?session_id=csn_1&status=" + string(status); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}

	// Unparseable input is an error, not a guess.
	for _, bad := range []string{"https://example.com:abc/", "https://[::1/", "%zz://x"} {
		if got, err := AppendCallbackParams(bad, "csn_x", "success"); err == nil {
			t.Errorf("AppendCallbackParams(%q) = %q, want an error", bad, got)
		}
	}
}

var forbiddenForSure = []string{"javascript", "data", "file", "vbscript", "blob"}

// assertCallbackInvariants checks what must hold of every callback URL that
// CheckCallbackURL accepted with allowList, by means independent of it where
// possible.
func assertCallbackInvariants(t *testing.T, raw string, allowList []string) {
	t.Helper()
	if len(raw) > MaxCallbackURLLength {
		t.Fatalf("accepted %d bytes", len(raw))
	}
	scheme, _, found := strings.Cut(raw, ":")
	if !found {
		t.Fatalf("accepted %q without a scheme", raw)
	}
	for _, bad := range forbiddenForSure {
		if strings.ToLower(scheme) == bad {
			t.Fatalf("accepted %q", raw)
		}
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c < 0x20 || c == 0x7f || c == '\\' || c == ' ' || c >= 0x80 {
			t.Fatalf("accepted %q with byte %#x", raw, c)
		}
	}
	rest := raw[len(scheme)+1:]
	if !strings.HasPrefix(rest, "//") {
		t.Fatalf("accepted %q without an authority", raw)
	}
	authority := rest[2:]
	if i := strings.IndexAny(authority, "/?#"); i >= 0 {
		authority = authority[:i]
	}
	if strings.Contains(authority, "@") {
		t.Fatalf("accepted %q with user-info %q", raw, authority)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("accepted %q that url.Parse refuses: %v", raw, err)
	}
	if u.User != nil || u.Opaque != "" {
		t.Fatalf("accepted %q: user %v, opaque %q", raw, u.User, u.Opaque)
	}
	if strings.HasPrefix(u.Path, "//") {
		t.Fatalf("accepted %q whose path starts with //", raw)
	}
	switch strings.ToLower(scheme) {
	case "https":
		if u.Hostname() == "" {
			t.Fatalf("accepted %q without a host", raw)
		}
	case "http":
		h := u.Hostname()
		ip := net.ParseIP(h)
		if !strings.EqualFold(h, "localhost") && (ip == nil || !ip.IsLoopback()) {
			t.Fatalf("accepted http to %q", h)
		}
	}
	if len(allowList) > 0 {
		matched := false
		for _, entry := range allowList {
			if sameDestination(t, entry, u) {
				matched = true
				break
			}
		}
		if !matched {
			t.Fatalf("accepted %q, which matches no entry of %q", raw, allowList)
		}
	}
	// The redirect built from it stays acceptable, to the same place.
	redirect, err := AppendCallbackParams(raw, "csn_x", "success")
	if err != nil {
		t.Fatalf("AppendCallbackParams(%q): %v", raw, err)
	}
	// (Apart from the parameters the portal adds, which a callbackUrl may
	// not carry itself.)
	if fe := CheckCallbackURL("callbackUrl", redirect, allowList); fe != nil && fe.Code != CodeCallbackTooLong && fe.Code != CodeCallbackReserved {
		t.Fatalf("redirect %q built from accepted %q is refused: %v", redirect, raw, fe)
	}
	if !strings.HasPrefix(redirect, strings.SplitN(strings.SplitN(raw, "#", 2)[0], "?", 2)[0]) {
		t.Fatalf("redirect %q does not start with the path of %q", redirect, raw)
	}
}

// sameDestination reports whether u has the scheme, host, port and path of
// entry, with default ports made explicit and an empty path read as "/".
func sameDestination(t *testing.T, entry string, u *url.URL) bool {
	e, err := url.Parse(entry)
	if err != nil {
		t.Fatalf("allow-list entry %q: %v", entry, err)
	}
	norm := func(u *url.URL) [4]string {
		s := strings.ToLower(u.Scheme)
		port := u.Port()
		if port == "" {
			port = map[string]string{"https": "443", "http": "80"}[s]
		}
		p := u.EscapedPath()
		if p == "" {
			p = "/"
		}
		return [4]string{s, strings.ToLower(u.Hostname()), port, p}
	}
	return norm(e) == norm(u)
}

// FuzzCheckCallbackURL: whatever CheckCallbackURL accepts is never a
// dangerous scheme, never has control characters, backslashes or user-info,
// and, with an allow-list, goes where one of its entries says.
func FuzzCheckCallbackURL(f *testing.F) {
	for _, tc := range callbackCases {
		if len(tc.url) <= 300 {
			f.Add(tc.url, "https://example.com/cb")
		}
	}
	f.Add("https://example.com/cb?x=1", "https://example.com/cb")
	f.Add("https://example.com:443/cb", "https://example.com/cb")
	f.Add("myapp://connect-callback?x=1", "myapp://connect-callback")
	f.Add("http://localhost:3000/cb", "http://localhost:3000/cb")
	f.Add("https://example.com.evil.test/cb", "https://example.com/cb")
	f.Fuzz(func(t *testing.T, raw, entry string) {
		if fe := CheckCallbackURL("callbackUrl", raw, nil); fe == nil {
			assertCallbackInvariants(t, raw, nil)
		} else if fe.Code == "" || fe.Message == "" || fe.Field != "callbackUrl" {
			t.Fatalf("%q: incomplete error %+v", raw, fe)
		}
		if CheckAllowListEntry(entry) != nil {
			return
		}
		// An acceptable entry is itself an acceptable callback that matches
		// itself.
		if fe := CheckCallbackURL("callbackUrl", entry, []string{entry}); fe != nil {
			t.Fatalf("entry %q does not match itself: %v", entry, fe)
		}
		allow := []string{entry}
		if fe := CheckCallbackURL("callbackUrl", raw, allow); fe == nil {
			assertCallbackInvariants(t, raw, allow)
		}
	})
}
