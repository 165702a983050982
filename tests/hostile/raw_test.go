package hostile

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// rawCatalogue sends what Go's HTTP client refuses to send: chunked
// oversize bodies, lying lengths, CR/LF and NUL in headers, smuggling
// forms. Each case gets its status; none may go unanswered or get a 5xx.
// It returns the number of cases and of 5xx answers.
func (w *world) rawCatalogue(t *testing.T) (total, fiveXX int) {
	auth := "Authorization: Bearer " + w.e.Key
	jsonCT := "Content-Type: application/json"
	type rawCase struct {
		name   string
		req    []byte
		rest   io.Reader // more bytes, written after req
		status int
		code   string // "" = Go's own plain-text answer, not checked
	}
	var cases []rawCase

	// Chunked bodies over 64 KiB: the length is learnt only while
	// reading. 413 on every endpoint, on a raw connection.
	big := []byte(`{"a":"` + strings.Repeat("x", 80<<10) + `"}`)
	for _, ep := range w.bodyEndpoints() {
		cases = append(cases, rawCase{name: ep.name + "/chunked_oversize",
			req:  rawRequest(ep.method, ep.path, []string{auth, jsonCT, "Transfer-Encoding: chunked"}, ""),
			rest: bytes.NewReader(chunked(big, 4096)), status: 413, code: "payloadTooLarge"})
		// A length that says more than 64 KiB is refused before the body.
		cases = append(cases, rawCase{name: ep.name + "/content_length_lies_huge",
			req:    rawRequest(ep.method, ep.path, []string{auth, jsonCT, "Content-Length: 99999999999"}, "{}"),
			status: 413, code: "payloadTooLarge"})
	}
	// Exactly 64 KiB + 1 with its length.
	over := `{"a":"` + strings.Repeat("x", 64<<10-7) + `"}`
	cases = append(cases,
		rawCase{name: "content_length_64KiB+1", req: rawRequest("POST", w.p("/connectSessions"),
			[]string{auth, jsonCT, fmt.Sprintf("Content-Length: %d", len(over))}, over), status: 413, code: "payloadTooLarge"},
		// Small chunks, many of them: still 413 once past the limit.
		rawCase{name: "chunked_1_byte_chunks", req: rawRequest("POST", w.p("/users"), []string{auth, jsonCT, "Transfer-Encoding: chunked"}, ""),
			rest: bytes.NewReader(chunked(big[:70<<10], 1)), status: 413, code: "payloadTooLarge"},
		// A broken chunk size: the body cannot be read.
		rawCase{name: "chunked_bad_size", req: rawRequest("POST", w.p("/connectSessions"), []string{auth, jsonCT, "Transfer-Encoding: chunked"},
			"zz\r\n{}\r\n0\r\n\r\n"), status: 400, code: "unreadableBody"},
		// Content-Length and Transfer-Encoding together (a smuggling form):
		// Go reads the chunked body; it is judged on what it holds.
		rawCase{name: "cl_and_te", req: rawRequest("POST", w.p("/connectSessions"), []string{auth, jsonCT, "Content-Length: 4", "Transfer-Encoding: chunked"},
			"2\r\n{}\r\n0\r\n\r\n"), status: 422, code: "validationFailed"},
	)
	// Malformed header sections: Go's server answers 400 itself (plain
	// text) before any handler runs.
	for _, h := range []struct{ name, req string }{
		{"cr_in_header_value", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n"},
		{"lf_only_with_cr_in_value", "GET /healthz HTTP/1.1\nHost: x\nX-A: a\rb\n\n"},
		{"nul_in_header_value", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n"},
		{"space_in_header_name", "GET /healthz HTTP/1.1\r\nHost: x\r\nX A: b\r\n\r\n"},
		{"empty_header_name", "GET /healthz HTTP/1.1\r\nHost: x\r\n: b\r\n\r\n"},
		{"colon_less_header", "GET /healthz HTTP/1.1\r\nHost: x\r\nnocolon\r\n\r\n"},
		{"cr_in_request_id", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: a\rb\r\n\r\n"},
		{"cr_in_authorization", "GET " + w.p("/connectSessions") + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + w.e.Key + "\rX-Evil: 1\r\n\r\n"},
		{"cr_in_idempotency_key", "POST " + w.p("/connectSessions") + " HTTP/1.1\r\nHost: x\r\n" + auth + "\r\nIdempotency-Key: a\rb\r\nContent-Length: 2\r\n\r\n{}"},
		{"cr_in_path", "GET /he\rlthz HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"crlf_in_path", "GET " + w.p("/connectSessions/csn_x") + "\r\nSet-Cookie: a=b HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"space_in_path", "GET /projects/proj/connect Sessions HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"no_host", "GET /healthz HTTP/1.1\r\n\r\n"},
		{"two_hosts", "GET /healthz HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n"},
		{"two_content_lengths", "POST " + w.p("/connectSessions") + " HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"},
		{"negative_content_length", "POST " + w.p("/connectSessions") + " HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"},
		{"content_length_not_a_number", "POST " + w.p("/connectSessions") + " HTTP/1.1\r\nHost: x\r\nContent-Length: 1e3\r\n\r\n"},
		{"empty_request_target", "GET  HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"garbage_request_line", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"},
		{"absolute_target_bad", "GET http://[::1 HTTP/1.1\r\nHost: x\r\n\r\n"},
	} {
		cases = append(cases, rawCase{name: "header/" + h.name, req: []byte(h.req), status: 400})
	}
	// A header section over the server's limit (1 MiB, plus Go's 4 KiB
	// of slack): 431.
	cases = append(cases, rawCase{name: "header/over_1MiB", status: 431,
		req: []byte("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 2<<20) + "\r\n\r\n")})

	for _, c := range cases {
		total++
		r := w.rawExchange(t, c.req, c.rest)
		if r == nil {
			t.Errorf("raw %s: the connection closed without an answer", c.name)
			continue
		}
		if r.Status >= 500 {
			fiveXX++
		}
		if r.Status != c.status {
			t.Errorf("raw %s: status %d, want %d: %.200s", c.name, r.Status, c.status, r.Body)
			continue
		}
		if c.code != "" {
			checkErrorBody(t, "raw "+c.name, r, c.status, c.code, "", "")
		}
	}
	// The server still answers after all that.
	if r := w.send(t, tc{method: http.MethodGet, path: "/healthz"}); r.Status != http.StatusOK {
		t.Errorf("healthz after the raw catalogue: %d", r.Status)
	}
	return total, fiveXX
}
