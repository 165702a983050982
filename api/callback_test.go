package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/apitest"
)

// callbackCase is one callbackUrl and the answer it gets: code "" means
// accepted, else a 422 whose detail names callbackUrl with that code.
type callbackCase struct {
	name, url, code string
}

func runCallbackCases(t *testing.T, e *apitest.Env, cases []callbackCase) {
	t.Helper()
	// One session to PATCH: the same rules hold there.
	patched := createSession(t, e, obj{"intent": plainIntent()})["id"].(string)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.Post("/connectSessions", obj{"callbackUrl": c.url, "intent": plainIntent()})
			p := e.Patch("/connectSessions/"+patched, obj{"callbackUrl": c.url})
			if c.code == "" {
				s := wantStatus(t, r, http.StatusCreated)
				if s["callbackUrl"] != c.url {
					t.Errorf("callbackUrl = %v, want %q unchanged", s["callbackUrl"], c.url)
				}
				s = wantStatus(t, p, http.StatusOK)
				if s["callbackUrl"] != c.url {
					t.Errorf("PATCH callbackUrl = %v, want %q", s["callbackUrl"], c.url)
				}
				return
			}
			want422(t, r, detail{"callbackUrl", c.code})
			want422(t, p, detail{"callbackUrl", c.code})
		})
	}
}

func TestCallbackURL(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apitest.Env) {
		long := "https://example.com/" + strings.Repeat("a", connectd.MaxCallbackURLLength-len("https://example.com/"))
		cases := []callbackCase{
			{"https_ok", "https://example.com", ""},
			{"https_with_path_query_fragment_ok", "https://example.com/done?order=1&x=y#top", ""},
			{"https_with_port_ok", "https://example.com:8443/cb", ""},
			{"http_localhost_ok", "http://localhost:3000/cb", ""},
			{"http_localhost_no_port_ok", "http://localhost/cb", ""},
			{"http_127.0.0.1_ok", "http://127.0.0.1:8080/cb", ""},
			{"http_[::1]_ok", "http://[::1]:8080/cb", ""},
			{"app_scheme_ok", "myapp://connect-callback", ""},
			{"app_scheme_with_path_and_query_ok", "com.example.app://connect/callback?x=1", ""},
			{"exactly_2048_bytes_ok", long, ""},

			{"http_other_host_refused", "http://example.com/cb", connectd.CodeCallbackInsecureHTTP},
			{"http_localhost_lookalike_refused", "http://localhost.evil.test/cb", connectd.CodeCallbackInsecureHTTP},
			{"http_127_lookalike_refused", "http://127.0.0.1.evil.test/cb", connectd.CodeCallbackInsecureHTTP},
			{"javascript_refused", "javascript:alert(1)", connectd.CodeCallbackScheme},
			{"javascript_uppercase_refused", "JavaScript:alert(document.cookie)", connectd.CodeCallbackScheme},
			{"javascript_with_slashes_refused", "javascript://example.com/%0aalert(1)", connectd.CodeCallbackScheme},
			{"data_refused", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", connectd.CodeCallbackScheme},
			{"file_refused", "file:///etc/passwd", connectd.CodeCallbackScheme},
			{"vbscript_refused", "vbscript:msgbox(1)", connectd.CodeCallbackScheme},
			{"blob_refused", "blob:https://example.com/0b6f3f54-7c39-4bd4-9e04-5b1c1c8b2b36", connectd.CodeCallbackScheme},
			{"relative_path_refused", "/callback", connectd.CodeCallbackInvalid},
			{"relative_name_refused", "callback.html", connectd.CodeCallbackInvalid},
			{"protocol_relative_refused", "//evil.test/cb", connectd.CodeCallbackInvalid},
			{"slash_backslash_refused", `/\evil.test`, connectd.CodeCallbackInvalid},
			{"backslash_in_authority_refused", `https://example.com\@evil.test/`, connectd.CodeCallbackInvalid},
			{"backslash_in_path_refused", `https://example.com/\evil.test`, connectd.CodeCallbackInvalid},
			{"double_slash_path_refused", "https://example.com//evil.test", connectd.CodeCallbackInvalid},
			{"user_info_refused", "https://user:pass@example.com/cb", connectd.CodeCallbackUserInfo},
			{"user_only_refused", "https://example.com@evil.test/cb", connectd.CodeCallbackUserInfo},
			{"several_at_refused", "https://a@example.com@evil.test/cb", connectd.CodeCallbackInvalid},
			{"over_2048_bytes_refused", long + "a", connectd.CodeCallbackTooLong},
			{"cr_lf_refused", "https://example.com/cb\r\nSet-Cookie: a=b", connectd.CodeCallbackInvalid},
			{"lf_refused", "https://example.com/\nevil", connectd.CodeCallbackInvalid},
			{"tab_refused", "https://exam\tple.com/", connectd.CodeCallbackInvalid},
			{"nul_refused", "https://example.com/\x00", connectd.CodeCallbackInvalid},
			{"space_refused", " https://example.com", connectd.CodeCallbackInvalid},
			{"non_ascii_host_refused", "https://exämple.com/", connectd.CodeCallbackInvalid},
			{"empty_refused", "", connectd.CodeCallbackInvalid},
			{"no_host_refused", "https:///cb", connectd.CodeCallbackInvalid},
			{"opaque_https_refused", "https:example.com", connectd.CodeCallbackInvalid},
			{"bad_port_refused", "https://example.com:99999/", connectd.CodeCallbackInvalid},
			{"scheme_only_refused", "myapp:", connectd.CodeCallbackInvalid},
		}
		runCallbackCases(t, e, cases)

		t.Run("null_is_absent", func(t *testing.T) {
			s := createSession(t, e, obj{"callbackUrl": nil, "intent": plainIntent()})
			if s["callbackUrl"] != nil {
				t.Errorf("callbackUrl = %v", s["callbackUrl"])
			}
			// A PATCH with null leaves the callbackUrl as it is.
			s = createSession(t, e, obj{"callbackUrl": "https://example.com", "intent": plainIntent()})
			p := wantStatus(t, e.Patch("/connectSessions/"+s["id"].(string), obj{"callbackUrl": nil}), http.StatusOK)
			if p["callbackUrl"] != "https://example.com" {
				t.Errorf("PATCH null changed callbackUrl to %v", p["callbackUrl"])
			}
		})

		t.Run("wrong_type_refused", func(t *testing.T) {
			want422(t, e.Post("/connectSessions", obj{"callbackUrl": 5, "intent": plainIntent()}), detail{"callbackUrl", "invalidType"})
			want422(t, e.Post("/connectSessions", obj{"callbackUrl": obj{"url": "https://example.com"}, "intent": plainIntent()}), detail{"callbackUrl", "invalidType"})
		})
	})
}

func TestCallbackAllowList(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		s := connectd.DefaultProjectSettings()
		s.CallbackAllowList = []string{"https://example.com/callback", "myapp://connect-callback", "http://localhost:3000/cb"}
		e := apitest.New(t, apitest.Options{Backend: b, Settings: &s})
		na := connectd.CodeCallbackNotAllowed
		cases := []callbackCase{
			{"exact_match_ok", "https://example.com/callback", ""},
			{"query_is_free", "https://example.com/callback?order=42&next=%2Fhome", ""},
			{"host_case_insensitive", "https://EXAMPLE.com/callback", ""},
			{"default_port_spelled_out", "https://example.com:443/callback", ""},
			{"app_scheme_entry", "myapp://connect-callback", ""},
			{"app_scheme_entry_with_query", "myapp://connect-callback?x=1", ""},
			{"loopback_entry", "http://localhost:3000/cb", ""},

			{"suffix_domain_refused", "https://example.com.evil.test/callback", na},
			{"user_info_bypass_refused", "https://example.com@evil.test/callback", connectd.CodeCallbackUserInfo},
			{"allowed_url_in_path_refused", "https://evil.test/https://example.com/callback", na},
			{"wrong_port_refused", "https://example.com:8443/callback", na},
			{"path_prefix_refused", "https://example.com/callback/extra", na},
			{"path_extension_refused", "https://example.com/callbackx", na},
			{"trailing_slash_refused", "https://example.com/callback/", na},
			{"dot_segment_refused", "https://example.com/./callback", na},
			{"encoded_path_refused", "https://example.com/%63allback", na},
			{"path_case_refused", "https://example.com/Callback", na},
			{"root_refused", "https://example.com/", na},
			{"bare_host_refused", "https://example.com", na},
			{"other_host_refused", "https://evil.test/callback", na},
			{"subdomain_refused", "https://www.example.com/callback", na},
			{"http_instead_of_https_refused", "http://example.com/callback", connectd.CodeCallbackInsecureHTTP},
			{"https_instead_of_http_refused", "https://localhost:3000/cb", na},
			{"loopback_other_port_refused", "http://localhost:3001/cb", na},
			{"loopback_other_host_refused", "http://127.0.0.1:3000/cb", na},
			{"other_app_scheme_refused", "otherapp://connect-callback", na},
			{"app_other_host_refused", "myapp://connect-callback.evil", na},
			{"app_with_path_refused", "myapp://connect-callback/x", na},
			{"protocol_relative_refused", "//example.com/callback", connectd.CodeCallbackInvalid},
			{"backslash_refused", `https://example.com\callback`, connectd.CodeCallbackInvalid},
		}
		runCallbackCases(t, e, cases)

		t.Run("no_callbackUrl_is_fine", func(t *testing.T) {
			createSession(t, e, obj{"intent": plainIntent()})
		})
	})
}
