package api_test

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/connectd/connectd/internal/apitest"
)

// unknownLength hides the length of a reader, so that the client sends it
// chunked.
type unknownLength struct{ r io.Reader }

func (u unknownLength) Read(p []byte) (int, error) { return u.r.Read(p) }

func TestInput(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apitest.Env) {
		user := e.CreateUser("jerry@example.com")
		sess := createSession(t, e, obj{"intent": plainIntent()})["id"].(string)
		valid := `{"intent":{"type":"viewSubscriptions"}}`
		posts := []struct{ method, path, body string }{
			{"POST", "/connectSessions", valid},
			{"PATCH", "/connectSessions/" + sess, `{}`},
			{"POST", "/users", `{"email":"x@example.com"}`},
			{"PATCH", "/users/" + user, `{}`},
		}

		t.Run("content_type", func(t *testing.T) {
			for _, ct := range []string{"text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
				"application/json; charset=latin1", "application/jsonx", "json", "application/json-patch+json", ";;;"} {
				for _, p := range posts {
					r := rawDo(t, e, p.method, projectPath(e.Project, p.path), strings.NewReader(p.body), http.Header{"Content-Type": {ct}})
					wantError(t, r, http.StatusUnsupportedMediaType, "unsupportedMediaType", "unsupportedMediaType")
				}
			}
			t.Run("missing_is_415", func(t *testing.T) {
				for _, p := range posts {
					r := e.Do(apitest.Request{Method: p.method, Path: projectPath(e.Project, p.path), Body: p.body, NoCType: true})
					wantError(t, r, http.StatusUnsupportedMediaType, "unsupportedMediaType", "unsupportedMediaType")
				}
			})
			t.Run("charset_utf8_and_case_are_fine", func(t *testing.T) {
				for _, ct := range []string{"application/json; charset=utf-8", "application/json;charset=UTF-8", "Application/JSON"} {
					r := rawDo(t, e, "POST", projectPath(e.Project, "/connectSessions"), strings.NewReader(valid), http.Header{"Content-Type": {ct}})
					wantStatus(t, r, http.StatusCreated)
				}
			})
		})

		t.Run("body_over_64KiB_is_413", func(t *testing.T) {
			big := `{"intent":{"type":"viewSubscriptions"},"pad":"` + strings.Repeat("a", 64<<10) + `"}`
			for _, p := range posts {
				// With Content-Length.
				r := e.Do(apitest.Request{Method: p.method, Path: projectPath(e.Project, p.path), Body: big})
				wantError(t, r, http.StatusRequestEntityTooLarge, "payloadTooLarge", "payloadTooLarge")
				// Chunked: the length is learnt only while reading.
				r = rawDo(t, e, p.method, projectPath(e.Project, p.path), unknownLength{strings.NewReader(big)},
					http.Header{"Content-Type": {"application/json"}})
				wantError(t, r, http.StatusRequestEntityTooLarge, "payloadTooLarge", "payloadTooLarge")
			}
			// Exactly 64 KiB is read (and judged on its content).
			exact := `{"intent":{"type":"viewSubscriptions"},"pad":"`
			exact += strings.Repeat("a", 64<<10-len(exact)-2) + `"}`
			if len(exact) != 64<<10 {
				t.Fatalf("len = %d", len(exact))
			}
			want422(t, e.Post("/connectSessions", exact), detail{"pad", "unknownField"})
			r := rawDo(t, e, "POST", projectPath(e.Project, "/connectSessions"), unknownLength{strings.NewReader(exact)}, http.Header{"Content-Type": {"application/json"}})
			want422(t, r, detail{"pad", "unknownField"})
			// And a chunked body of an acceptable size works.
			r = rawDo(t, e, "POST", projectPath(e.Project, "/connectSessions"), unknownLength{strings.NewReader(valid)}, http.Header{"Content-Type": {"application/json"}})
			wantStatus(t, r, http.StatusCreated)
		})

		t.Run("malformed_json_is_400", func(t *testing.T) {
			deep := func(n int) string { return strings.Repeat(`{"a":`, n) + "{}" + strings.Repeat("}", n) }
			cases := map[string]string{
				"empty":                "",
				"whitespace":           "  \n ",
				"not_json":             "intent=viewSubscriptions",
				"truncated":            `{"intent":{"type":"viewSubscriptions"}`,
				"truncated_string":     `{"intent":"vie`,
				"trailing_garbage":     valid + "x",
				"two_values":           valid + valid,
				"trailing_comma":       `{"intent":{"type":"viewSubscriptions"},}`,
				"single_quotes":        `{'intent':{}}`,
				"comment":              `{"intent":{"type":"viewSubscriptions"}} // hi`,
				"duplicate_key":        `{"intent":{"type":"viewSubscriptions"},"intent":{"type":"updateUserAddress"}}`,
				"nested_duplicate_key": `{"intent":{"type":"viewSubscriptions","type":"updateUserAddress"}}`,
				"invalid_utf8":         "{\"callbackUrl\":\"https://example.com/\xff\",\"intent\":{\"type\":\"viewSubscriptions\"}}",
				"invalid_utf8_key":     "{\"\xc3\x28\":1}",
				"overlong_utf8":        "{\"callbackUrl\":\"\xc0\xaf\"}",
				"nesting_33_deep":      deep(32),
				"nesting_very_deep":    strings.Repeat("[", 1000),
				"top_level_array":      `[` + valid + `]`,
				"top_level_string":     `"viewSubscriptions"`,
				"top_level_number":     `42`,
				"top_level_null":       `null`,
				"top_level_true":       `true`,
				"bad_escape":           `{"callbackUrl":"\x"}`,
				"control_in_string":    "{\"callbackUrl\":\"a\nb\"}",
				"nan":                  `{"limit":NaN}`,
				"leading_bom":          "\xef\xbb\xbf" + valid,
			}
			for name, body := range cases {
				t.Run(name, func(t *testing.T) {
					for _, p := range posts {
						r := e.Do(apitest.Request{Method: p.method, Path: projectPath(e.Project, p.path), Body: body})
						wantError(t, r, http.StatusBadRequest, "badRequest", "invalidJson")
					}
				})
			}
			// 32 levels are fine (the unknown field is the only problem).
			want422(t, e.Post("/connectSessions", deep(31)), detail{"a", "unknownField"})
		})

		t.Run("wrong_types_are_422_with_path", func(t *testing.T) {
			cases := []struct {
				body  string
				field string
			}{
				{`{"callbackUrl":5,"intent":{"type":"viewSubscriptions"}}`, "callbackUrl"},
				{`{"callbackUrl":true,"intent":{"type":"viewSubscriptions"}}`, "callbackUrl"},
				{`{"intent":[]}`, "intent"},
				{`{"intent":{"type":["viewSubscriptions"]}}`, "intent.type"},
				{`{"intent":{"type":"viewSubscription","viewSubscription":{"subscription":1e3}}}`, "intent.viewSubscription.subscription"},
				{`{"intent":{"type":"checkoutAddon","checkoutAddon":{"subscription":"` + subID + `","addons":{"0":"` + addID + `"}}}}`, "intent.checkoutAddon.addons"},
				{`{"intent":{"type":"viewSubscriptions"},"user":{"id":"` + user + `"}}`, "user"},
				{`{"intent":{"type":"viewSubscriptions"},"userDetails":{"email":"a@example.com","birthday":19900101}}`, "userDetails.birthday"},
				{`{"intent":{"type":"viewSubscriptions"},"appearance":{"theme":false}}`, "appearance.theme"},
			}
			for _, c := range cases {
				want422(t, e.Post("/connectSessions", c.body), detail{c.field, "invalidType"})
			}
		})

		t.Run("null_fields_count_as_absent", func(t *testing.T) {
			s := wantStatus(t, e.Post("/connectSessions", `{"intent":{"type":"viewSubscriptions"},"callbackUrl":null,"user":null,"userDetails":null,"appearance":null,"unknown":null}`), http.StatusCreated)
			if s["callbackUrl"] != nil || s["user"] != nil || !reflect.DeepEqual(s["appearance"], map[string]any{}) { // appearance: issue 10.2
				t.Errorf("session = %v", s)
			}
			wantStatus(t, e.Patch("/users/"+user, `{"email":null,"fullName":null,"address":null,"metadata":null}`), http.StatusOK)
		})

		t.Run("unknown_fields_are_named_by_path", func(t *testing.T) {
			cases := []struct{ body, field string }{
				{`{"intent":{"type":"viewSubscriptions"},"callback_url":"https://example.com"}`, "callback_url"},
				{`{"intent":{"type":"viewSubscription","viewSubscription":{"subscription":"` + subID + `","subscriptio":"x"}}}`, "intent.viewSubscription.subscriptio"},
				{`{"intent":{"type":"viewSubscriptions","flags":[]}}`, "intent.flags"},
				{`{"intent":{"type":"viewSubscriptions"},"appearance":{"theme":"dark","logo":"x"}}`, "appearance.logo"},
				{`{"intent":{"type":"viewSubscriptions"},"userDetails":{"email":"a@example.com","address":{}}}`, "userDetails.address"},
				{`{"intent":{"type":"viewSubscriptions"},"":1}`, ""},
			}
			for _, c := range cases {
				want422(t, e.Post("/connectSessions", c.body), detail{c.field, "unknownField"})
			}
			want422(t, e.Post("/users", `{"email":"u@example.com","nickname":"x"}`), detail{"nickname", "unknownField"})
			want422(t, e.Post("/users", `{"email":"u@example.com","address":{"line1":"1 Main St","city":"X","postalCode":"1","country":"US","zip":"1"}}`),
				detail{"address.zip", "unknownField"})
		})

		t.Run("every_problem_is_reported_at_once", func(t *testing.T) {
			body := `{"callbackUrl":"javascript:alert(1)","intent":{"type":"checkoutNewSubscription","checkoutNewSubscription":{"plan":"nope","imei":"123"}},"appearance":{"theme":"blue"}}`
			r := e.Post("/connectSessions", body)
			m := wantError(t, r, http.StatusUnprocessableEntity, "unprocessableEntity", "validationFailed",
				detail{"callbackUrl", "forbiddenScheme"}, detail{"intent.checkoutNewSubscription.plan", "invalidId"},
				detail{"intent.checkoutNewSubscription.imei", "invalidImei"}, detail{"appearance.theme", "invalid"})
			if d := detailsOf(t, m); len(d) != 4 {
				t.Errorf("%d details, want 4: %v", len(d), d)
			}
			// More at once, of every kind.
			body = `{"callbackUrl":1,"intent":{"type":"checkoutAddon","checkoutAddon":{"subscription":"x","addons":[1,"add_1","add_1"],"extra":1}},
				"user":"usr_1","userDetails":{"email":"bad"},"appearance":{"x":1},"y":2}`
			m = want422(t, e.Post("/connectSessions", body),
				detail{"callbackUrl", "invalidType"}, detail{"intent.checkoutAddon.subscription", "invalidId"},
				detail{"intent.checkoutAddon.addons[0]", "invalidType"}, detail{"intent.checkoutAddon.extra", "unknownField"},
				detail{"userDetails.email", "invalidEmail"},
				detail{"appearance.x", "unknownField"}, detail{"y", "unknownField"})
			// user with userDetails is no problem any more (issue 10.1).
			if d := detailsOf(t, m); len(d) < 7 {
				t.Errorf("%d details, want at least 7: %v", len(d), d)
			}
		})

		t.Run("unknown_query_parameters_are_refused", func(t *testing.T) {
			want422(t, e.Post("/connectSessions?x=1", valid), detail{"x", "unknownParameter"})
			want422(t, e.Patch("/connectSessions/"+sess+"?x=1", `{}`), detail{"x", "unknownParameter"})
			want422(t, e.Post("/users?x=1", `{"email":"q@example.com"}`), detail{"x", "unknownParameter"})
			want422(t, e.Get("/users/"+user+"?expand=1"), detail{"expand", "unknownParameter"})
			want422(t, e.Get("/connectSessions/"+sess+"?expand=1"), detail{"expand", "unknownParameter"})
		})

		t.Run("no_input_yields_5xx", func(t *testing.T) {
			seeds := []string{
				`{"callbackUrl":"https://example.com","intent":{"type":"checkoutNewSubscription","checkoutNewSubscription":{"plan":"` + plnID + `","sim":"` + simID + `","imei":"` + validIMEI + `","addons":["` + addID + `"]}},"user":"` + user + `","appearance":{"theme":"dark"}}`,
				`{"intent":{"type":"cancelSubscription","cancelSubscription":{"subscription":"` + subID + `"}},"userDetails":{"email":"z@example.com","birthday":"1990-01-01","metadata":{"a":"b"}}}`,
			}
			rng := rand.New(rand.NewPCG(1, 2))
			alphabet := []byte(`{}[]":,\ntrue0123456789-_.aAzZ` + "\x00\xff\xc3")
			paths := []struct{ method, path string }{{"POST", "/connectSessions"}, {"PATCH", "/connectSessions/" + sess}, {"POST", "/users"}, {"PATCH", "/users/" + user}}
			n := 300
			if testing.Short() {
				n = 60
			}
			for i := 0; i < n; i++ {
				body := []byte(seeds[i%len(seeds)])
				for k := rng.IntN(4) + 1; k > 0; k-- {
					pos := rng.IntN(len(body))
					switch rng.IntN(3) {
					case 0:
						body[pos] = alphabet[rng.IntN(len(alphabet))]
					case 1:
						body = append(body[:pos], body[pos+1:]...)
					default:
						body = append(body[:pos], append([]byte{alphabet[rng.IntN(len(alphabet))]}, body[pos:]...)...)
					}
				}
				p := paths[i%len(paths)]
				r := e.Do(apitest.Request{Method: p.method, Path: projectPath(e.Project, p.path), Body: bytes.Clone(body)})
				if r.Status >= 500 {
					t.Fatalf("%s %s with %q: %d %s", p.method, p.path, body, r.Status, r.Body)
				}
				if r.Status >= 400 {
					m := r.JSON(t)
					if m["object"] != "error" {
						t.Fatalf("%d answer is not an error object: %s", r.Status, r.Body)
					}
				}
			}
		})
	})
}
