package connectd

import (
	"net"
	"net/url"
	"strings"
)

// MaxCallbackURLLength bounds callbackUrl, in bytes.
const MaxCallbackURLLength = 2048

// Callback URL problems, as FieldError codes.
const (
	CodeCallbackInvalid      = "invalidUrl"
	CodeCallbackScheme       = "forbiddenScheme"
	CodeCallbackNotAllowed   = "notInAllowList"
	CodeCallbackTooLong      = "tooLong"
	CodeCallbackUserInfo     = "userInfoNotAllowed"
	CodeCallbackInsecureHTTP = "insecureScheme"
	CodeCallbackReserved     = "reservedParameter"
)

// ReservedCallbackParams are the query parameters the portal adds to the
// callbackUrl when it links back. A callbackUrl that already carries one is
// refused: the link back would carry it twice, and common parsers read the
// first value, the application's own.
var ReservedCallbackParams = []string{"session_id", "status"}

// forbiddenSchemes can run code or read local data in a browser or webview,
// or are not destinations an app can receive.
var forbiddenSchemes = map[string]bool{
	"javascript": true, "data": true, "file": true, "vbscript": true, "blob": true,
	"about": true, "filesystem": true, "view-source": true, "ftp": true,
	"ws": true, "wss": true, "mailto": true, "tel": true, "sms": true,
	"intent": true, "chrome": true, "chrome-extension": true, "content": true,
	"jar": true, "resource": true, "ms-appx": true, "ms-appx-web": true,
}

// CheckCallbackURL checks raw against the callbackUrl rules and, when
// allowList is not empty, against the allow-list. It returns the FieldError
// for field, or nil when raw is acceptable.
//
// Accepted: absolute https URLs; http only for loopback hosts; native-app
// schemes in hierarchical form (myapp://connect-callback). Refused: the
// schemes above, relative URLs, user-info, control characters, backslashes,
// "//" paths and non-ASCII hosts, which are how redirect checks are usually
// bypassed.
func CheckCallbackURL(field, raw string, allowList []string) *FieldError {
	fail := func(code, msg string) *FieldError {
		return &FieldError{Field: field, Code: code, Message: msg}
	}
	if len(raw) > MaxCallbackURLLength {
		return fail(CodeCallbackTooLong, "must be at most 2048 bytes")
	}
	u, err := parseCallbackURL(raw)
	if err != nil {
		return fail(CodeCallbackInvalid, err.Error())
	}
	scheme := u.Scheme
	if forbiddenSchemes[scheme] {
		return fail(CodeCallbackScheme, "the "+scheme+": scheme is not allowed")
	}
	if u.User != nil {
		return fail(CodeCallbackUserInfo, "must not contain user information (user:password@)")
	}
	switch scheme {
	case "https":
		if u.Hostname() == "" {
			return fail(CodeCallbackInvalid, "must name a host")
		}
	case "http":
		if !isLoopbackHost(u.Hostname()) {
			return fail(CodeCallbackInsecureHTTP, "http is allowed only for loopback hosts (localhost, 127.0.0.1, ::1); use https")
		}
	}
	if name := reservedParam(u.RawQuery); name != "" {
		return fail(CodeCallbackReserved, "must not carry the query parameter "+name+": the portal adds session_id and status when it links back")
	}
	if len(allowList) > 0 && !callbackAllowed(u, allowList) {
		return fail(CodeCallbackNotAllowed, "is not in the project's callback allow-list (scheme, host, port and path must match an entry exactly)")
	}
	return nil
}

// reservedParam returns the reserved parameter rawQuery names, or "". Keys
// are compared unescaped and case-insensitively, and ';' separates pairs as
// well as '&', as some parsers take it to.
func reservedParam(rawQuery string) string {
	for _, pair := range strings.FieldsFunc(rawQuery, func(r rune) bool { return r == '&' || r == ';' }) {
		key, _, _ := strings.Cut(pair, "=")
		if k, err := url.QueryUnescape(key); err == nil {
			key = k
		}
		key = strings.ToLower(strings.TrimSpace(key))
		for _, r := range ReservedCallbackParams {
			if key == r {
				return r
			}
		}
	}
	return ""
}

type callbackError string

func (e callbackError) Error() string { return string(e) }

// parseCallbackURL parses raw strictly; its errors are written for clients.
func parseCallbackURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, callbackError("must not be empty")
	}
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c < 0x20 || c == 0x7f:
			return nil, callbackError("must not contain control characters (such as CR or LF)")
		case c == ' ':
			return nil, callbackError("must not contain spaces")
		case c == '\\':
			return nil, callbackError("must not contain backslashes")
		case c >= 0x80:
			return nil, callbackError("must be ASCII: percent-encode the path and query, and use the punycode form of the host")
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, callbackError("is not a valid URL")
	}
	if u.Scheme == "" {
		return nil, callbackError("must be an absolute URL with a scheme, such as https://example.com/done")
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if forbiddenSchemes[u.Scheme] {
		return u, nil // the caller names the scheme
	}
	if u.Opaque != "" || !strings.HasPrefix(raw[len(u.Scheme)+1:], "//") {
		return nil, callbackError("must have the form scheme://host/path")
	}
	beforeQuery, _, _ := strings.Cut(raw, "?")
	beforeQuery, _, _ = strings.Cut(beforeQuery, "#")
	if strings.Count(beforeQuery, "@") > 1 {
		return nil, callbackError("must not contain several '@' before the query")
	}
	if u.User != nil {
		return u, nil // the caller explains
	}
	if strings.HasPrefix(u.Path, "//") {
		return nil, callbackError("the path must not start with //")
	}
	host := u.Hostname()
	if host != "" && !validHost(host) {
		return nil, callbackError("has an invalid host")
	}
	if p := u.Port(); p != "" {
		if n := atoiPort(p); n < 1 || n > 65535 {
			return nil, callbackError("has an invalid port")
		}
	}
	return u, nil
}

// validHost accepts DNS names of letters, digits, '-' and '.', and IP literals.
func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	if len(h) > 253 || strings.HasPrefix(h, ".") || strings.Contains(h, "..") {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func atoiPort(p string) int {
	if len(p) > 5 {
		return -1
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return -1
		}
		n = n*10 + int(p[i]-'0')
	}
	return n
}

func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// callbackAllowed reports whether u's scheme, host, port and path equal those
// of one allow-list entry. The query is free; nothing else is matched loosely.
func callbackAllowed(u *url.URL, allowList []string) bool {
	for _, entry := range allowList {
		a, err := url.Parse(entry)
		if err != nil {
			continue
		}
		if strings.EqualFold(a.Scheme, u.Scheme) &&
			strings.EqualFold(a.Hostname(), u.Hostname()) &&
			effectivePort(a) == effectivePort(u) &&
			normalPath(a.EscapedPath()) == normalPath(u.EscapedPath()) {
			return true
		}
	}
	return false
}

func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}

// normalPath treats an empty path as "/", since browsers send both the same.
func normalPath(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// CheckAllowListEntry checks one entry of a project's callback allow-list: it
// must itself be an acceptable callback URL, without a query or fragment.
func CheckAllowListEntry(raw string) *FieldError {
	if fe := CheckCallbackURL("callbackAllowList", raw, nil); fe != nil {
		return fe
	}
	// Look at the raw string: url.URL cannot tell "cb#" from "cb".
	if strings.ContainsAny(raw, "?#") {
		return &FieldError{Field: "callbackAllowList", Code: CodeCallbackInvalid, Message: "an allow-list entry must not have a query or fragment"}
	}
	return nil
}

// AppendCallbackParams returns callbackURL with session_id and status added
// to its query, keeping the query it already had. It works for https and
// app-scheme URLs alike.
//
// Everything but the added parameters comes back byte for byte: re-encoding
// the URL through url.URL.String would lower-case the scheme, re-escape the
// path and turn "myapp://?a=1" into "myapp:?a=1", which is no longer the
// hierarchical form CheckCallbackURL accepted and which an app may not
// recognise.
func AppendCallbackParams(callbackURL, sessionID, status string) (string, error) {
	if _, err := url.Parse(callbackURL); err != nil {
		return "", err
	}
	add := "session_id=" + url.QueryEscape(sessionID) + "&status=" + url.QueryEscape(status)
	// As in url.Parse: the fragment starts at the first '#', the query at
	// the first '?' before it.
	base, fragment, hasFragment := strings.Cut(callbackURL, "#")
	switch {
	case !strings.Contains(base, "?"):
		base += "?" + add
	case strings.HasSuffix(base, "?"):
		base += add
	default:
		base += "&" + add
	}
	if hasFragment {
		base += "#" + fragment
	}
	return base, nil
}
