package hostile

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// endpoint is an API endpoint that takes a JSON body.
type endpoint struct {
	name, method, path string
	valid              string // a body it accepts
}

func (w *world) bodyEndpoints() []endpoint {
	return []endpoint{
		{"session.create", "POST", w.p("/connectSessions"), `{"intent":{"type":"viewSubscriptions"}}`},
		{"session.patch", "PATCH", w.p("/connectSessions/" + w.sess), `{}`},
		{"session.expire", "POST", w.p("/connectSessions/" + w.sess + "/expire"), `{}`},
		{"user.create", "POST", w.p("/users"), `{"email":"new@example.com"}`},
		{"user.patch", "PATCH", w.p("/users/" + w.user), `{}`},
		{"plan.create", "POST", w.p("/plans"), `{"name":"P","price":{"amount":1,"currency":"USD"}}`},
		{"plan.patch", "PATCH", w.p("/plans/" + w.plan), `{}`},
		{"addon.create", "POST", w.p("/addons"), `{}`},
		{"addon.patch", "PATCH", w.p("/addons/" + w.addon), `{}`},
		{"sim.create", "POST", w.p("/sims"), `{}`},
		{"sim.patch", "PATCH", w.p("/sims/" + w.sim), `{}`},
		{"device.create", "POST", w.p("/devices"), `{}`},
		{"device.patch", "PATCH", w.p("/devices/" + w.device), `{}`},
		{"subscription.create", "POST", w.p("/subscriptions"), `{}`},
		{"subscription.patch", "PATCH", w.p("/subscriptions/" + w.sub), `{}`},
		{"paymentMethod.create", "POST", w.p("/paymentMethods"), `{}`},
		{"paymentMethod.patch", "PATCH", w.p("/paymentMethods/" + w.pm), `{}`},
		{"payment.create", "POST", w.p("/payments"), `{}`},
		{"payment.patch", "PATCH", w.p("/payments/" + w.payment), `{}`},
		{"porting.create", "POST", w.p("/portings"), `{}`},
		{"porting.patch", "PATCH", w.p("/portings/" + w.porting), `{}`},
	}
}

// nest returns a value nested n levels deep in open/close.
func nest(n int, open, inner, close string) string {
	return strings.Repeat(open, n) + inner + strings.Repeat(close, n)
}

// invalidJSON bodies: every one is a 400 invalidJson on every endpoint.
var invalidJSON = []struct{ name, body string }{
	{"empty", ""},
	{"whitespace", " \r\n\t "},
	{"open_brace", "{"},
	{"close_brace", "}"},
	{"truncated_key", `{"intent`},
	{"truncated_after_colon", `{"intent":`},
	{"truncated_object", `{"intent":{"type":"viewSubscriptions"}`},
	{"truncated_string", `{"callbackUrl":"https://exa`},
	{"truncated_escape", `{"a":"\u00`},
	{"missing_value", `{"intent":}`},
	{"missing_colon", `{"intent" {}}`},
	{"trailing_comma", `{"a":null,}`},
	{"leading_comma", `{,"a":null}`},
	{"single_quotes", `{'intent':{}}`},
	{"bare_key", `{intent:{}}`},
	{"number_key", `{1:2}`},
	{"two_objects", `{}{}`},
	{"trailing_garbage", `{} x`},
	{"trailing_nul", "{}\x00"},
	{"line_comment", "{} // c"},
	{"block_comment", "/* c */ {}"},
	{"leading_bom", "\xef\xbb\xbf{}"},
	{"leading_zero", `{"a":01}`},
	{"nan", `{"a":NaN}`},
	{"infinity", `{"a":Infinity}`},
	{"minus_only", `{"a":-}`},
	{"trailing_dot", `{"a":1.}`},
	{"leading_dot", `{"a":.5}`},
	{"hex_number", `{"a":0x10}`},
	{"plus_number", `{"a":+1}`},
	{"bad_escape", `{"a":"\x41"}`},
	{"short_unicode_escape", `{"a":"\u12"}`},
	{"raw_newline_in_string", "{\"a\":\"x\ny\"}"},
	{"raw_tab_in_string", "{\"a\":\"x\ty\"}"},
	{"raw_nul_in_string", "{\"a\":\"x\x00y\"}"},
	{"unclosed_array", `{"a":[1,2}`},
	{"truncated_true", `{"a":tru}`},
	{"truncated_null", `{"a":nul}`},
	{"capital_true", `{"a":True}`},
	{"extra_close", `{"a":{}}}`},
	{"top_array", `[]`},
	{"top_string", `"intent"`},
	{"top_number", `42`},
	{"top_null", `null`},
	{"top_true", `true`},
	{"form_encoded", `intent=viewSubscriptions`},
	{"xml", `<intent/>`},
	{"duplicate_key", `{"a":1,"a":1}`},
	{"duplicate_key_null_first", `{"callbackUrl":null,"callbackUrl":"https://example.com"}`},
	{"duplicate_key_escaped", `{"intent":null,"int\u0065nt":null}`},
	{"duplicate_key_nested", `{"x":{"type":"a","type":"b"}}`},
	{"duplicate_key_deep", `{"a":[{"b":{"c":1,"c":2}}]}`},
	{"duplicate_empty_key", `{"":1,"":2}`},
	{"invalid_utf8_ff", "{\"a\":\"\xff\"}"},
	{"invalid_utf8_lone_continuation", "{\"a\":\"\x80\"}"},
	{"invalid_utf8_truncated", "{\"a\":\"\xe2\x82\"}"},
	{"invalid_utf8_overlong_slash", "{\"a\":\"\xc0\xaf\"}"},
	{"invalid_utf8_surrogate", "{\"a\":\"\xed\xa0\x80\"}"},
	{"invalid_utf8_above_max", "{\"a\":\"\xf4\x90\x80\x80\"}"},
	{"invalid_utf8_in_key", "{\"\xc3\x28\":1}"},
	{"invalid_utf8_outside_string", "{}\xfe"},
	{"latin1_body", "{\"fullName\":\"Jos\xe9\"}"},
	{"utf16_body", "\xff\xfe{\x00}\x00"},
	{"deep_33_objects", nest(33, `{"a":`, "1", "}")},
	{"deep_33_arrays", `{"a":` + nest(32, "[", "1", "]") + `}`},
	{"deep_1000_arrays", `{"a":` + nest(1000, "[", "", "]") + `}`},
	{"deep_20000_unclosed", strings.Repeat("[", 20000)},
	{"deep_5000_objects", nest(5000, `{"a":`, "{}", "}")},
}

// TestMalformedCatalogue sends every malformed request of the catalogue
// over real HTTP and checks each answer: its 4xx status and the error
// object with its code and the field it names. No answer may be a 5xx.
func TestMalformedCatalogue(t *testing.T) {
	w := newWorld(t)
	var cases []tc
	add := func(c ...tc) { cases = append(cases, c...) }

	eps := w.bodyEndpoints()
	// Broken JSON, duplicate keys, invalid UTF-8, deep nesting: 400 on
	// every endpoint that takes a body.
	for _, ep := range eps {
		for _, b := range invalidJSON {
			if ep.name == "session.expire" && strings.TrimSpace(b.body) == "" {
				continue // expire takes an empty body
			}
			add(tc{name: ep.name + "/" + b.name, method: ep.method, path: ep.path, body: b.body, ctype: "application/json",
				status: 400, code: "invalidJson"})
		}
	}
	// Wrong or missing content types: 415 on every endpoint.
	for _, ep := range eps {
		for _, ct := range []string{"-", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
			"application/json; charset=latin1", "application/jsonx", "application/json, text/plain", "text/json", "application/*",
			"*/*", "application/xml", "application/json\x00"} {
			if strings.Contains(ct, "\x00") {
				continue // the client refuses it: the raw tests cover control characters in headers
			}
			add(tc{name: ep.name + "/ctype=" + ct, method: ep.method, path: ep.path, body: ep.valid, ctype: ct,
				status: 415, code: "unsupportedMediaType"})
		}
	}
	// Oversize bodies with Content-Length: 413 on every endpoint.
	big := `{"a":"` + strings.Repeat("x", 64<<10) + `"}`
	for _, ep := range eps {
		add(tc{name: ep.name + "/oversize", method: ep.method, path: ep.path, body: big, status: 413, code: "payloadTooLarge"})
	}
	for _, c := range w.wrongTypeCases() {
		add(c)
	}
	for _, c := range w.valueCases() {
		add(c)
	}
	for _, c := range w.pathCases() {
		add(c)
	}
	for _, c := range w.headerAndQueryCases() {
		add(c)
	}
	for _, c := range w.confusableEmailCases() {
		add(c)
	}

	var n tally
	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c.name] {
			t.Fatalf("duplicate case name %s", c.name)
		}
		seen[c.name] = true
		r := w.send(t, c)
		n.add(r.Status)
		if c.redirect {
			// Go's router cleans ../ out of paths with a redirect to the
			// cleaned path on the same server; follow it.
			loc := r.Header.Get("Location")
			if r.Status != http.StatusTemporaryRedirect || !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") {
				t.Errorf("%s: %d Location %q, want 307 to a path of this server", c.name, r.Status, loc)
				continue
			}
			c.path = loc
			r = w.send(t, c)
			n.add(r.Status)
		}
		check(t, c, r)
	}
	rawTotal, raw5xx := w.rawCatalogue(t)
	portalTotal, portal5xx := w.portalFormCatalogue(t)
	total := int(n.total.Load()) + rawTotal + portalTotal
	five := int(n.fiveXX.Load()) + raw5xx + portal5xx
	t.Logf("malformed catalogue: %d API cases, %d raw-connection cases, %d portal cases: %d requests, %d answers of 5xx",
		len(cases), rawTotal, portalTotal, total, five)
	if len(cases)+rawTotal+portalTotal < 300 {
		t.Errorf("only %d cases, want at least 300", len(cases)+rawTotal+portalTotal)
	}
	if five != 0 {
		t.Errorf("%d answers of 5xx, want 0", five)
	}
}

// field is one member of a body and the JSON type it takes.
type field struct {
	path string // dotted path in the body
	kind string // string, object, array, number, bool
}

// bodyFields lists, per endpoint, a valid body and every field in it.
func (w *world) bodyFields() []struct {
	ep     endpoint
	base   string
	fields []field
} {
	str := func(paths ...string) []field {
		var fs []field
		for _, p := range paths {
			fs = append(fs, field{p, "string"})
		}
		return fs
	}
	of := func(kind string, paths ...string) []field {
		var fs []field
		for _, p := range paths {
			fs = append(fs, field{p, kind})
		}
		return fs
	}
	cat := func(lists ...[]field) []field {
		var fs []field
		for _, l := range lists {
			fs = append(fs, l...)
		}
		return fs
	}
	details := `{"email":"x@example.com","fullName":"X Y","birthday":"1990-01-01","preferredLocale":"en-US","metadata":{"k":"v"}}`
	detailFields := func(prefix string) []field {
		return cat(str(prefix+".email", prefix+".fullName", prefix+".birthday", prefix+".preferredLocale", prefix+".metadata.k"),
			of("object", prefix, prefix+".metadata"))
	}
	address := `{"line1":"1 Main St","line2":"Apt 2","city":"Springfield","postalCode":"12345","state":"IL","country":"US"}`
	addressFields := func(prefix string) []field {
		return cat(of("object", prefix), str(prefix+".line1", prefix+".line2", prefix+".city", prefix+".postalCode", prefix+".state", prefix+".country"))
	}
	eps := map[string]endpoint{}
	for _, ep := range w.bodyEndpoints() {
		eps[ep.name] = ep
	}
	type entry = struct {
		ep     endpoint
		base   string
		fields []field
	}
	newSub := `{"type":"checkoutNewSubscription","checkoutNewSubscription":{"plan":"` + w.plan + `","sim":"` + w.sim + `","device":"` + w.device +
		`","imei":"` + validIMEI + `","addons":["` + w.addon + `"]}}`
	return []entry{
		{eps["session.create"], `{"callbackUrl":"https://example.com/cb","intent":` + newSub + `,"appearance":{"theme":"dark"},"userDetails":` + details + `}`,
			cat(str("callbackUrl", "intent.type", "intent.checkoutNewSubscription.plan", "intent.checkoutNewSubscription.sim",
				"intent.checkoutNewSubscription.device", "intent.checkoutNewSubscription.imei", "intent.checkoutNewSubscription.addons.0",
				"appearance.theme"),
				of("object", "intent", "intent.checkoutNewSubscription", "appearance"), of("array", "intent.checkoutNewSubscription.addons"),
				detailFields("userDetails"))},
		{eps["session.create"], `{"intent":{"type":"cancelSubscription","cancelSubscription":{"subscription":"` + w.sub + `"}},"user":"` + w.user + `"}`,
			cat(str("user", "intent.cancelSubscription.subscription"), of("object", "intent.cancelSubscription"))},
		{eps["session.create"], `{"intent":{"type":"checkoutAddon","checkoutAddon":{"subscription":"` + w.sub + `","addons":["` + w.addon + `"]}}}`,
			cat(str("intent.checkoutAddon.subscription", "intent.checkoutAddon.addons.0"), of("array", "intent.checkoutAddon.addons"))},
		{eps["session.patch"], `{"callbackUrl":"https://example.com/cb","userDetails":` + details + `}`,
			cat(str("callbackUrl"), detailFields("userDetails"))},
		{eps["session.patch"], `{"user":"` + w.user + `"}`, str("user")},
		{eps["user.create"], `{"email":"y@example.com","fullName":"Y","birthday":"1990-01-01","preferredLocale":"en","metadata":{"k":"v"},"address":` + address + `}`,
			cat(str("email", "fullName", "birthday", "preferredLocale", "metadata.k"), of("object", "metadata"), addressFields("address"))},
		{eps["user.patch"], `{"email":"a@example.com","fullName":"Y","birthday":"1990-01-01","preferredLocale":"en","metadata":{"k":"v"},"address":` + address + `}`,
			cat(str("email", "fullName", "birthday", "preferredLocale", "metadata.k"), of("object", "metadata"), addressFields("address"))},
		{eps["plan.create"], `{"name":"P","description":"D","status":"active","price":{"amount":1,"currency":"USD"},"validity":{"type":"oneTime"},` +
			`"allowances":{"dataBytes":1,"voiceSeconds":1,"smsMessages":1},"requirements":{"fullName":true,"address":false}}`,
			cat(str("name", "description", "status", "price.currency", "validity.type"), of("object", "price", "validity", "allowances", "requirements"),
				of("number", "price.amount", "allowances.dataBytes", "allowances.voiceSeconds", "allowances.smsMessages"),
				of("bool", "requirements.fullName", "requirements.address"))},
		{eps["plan.patch"], `{"name":"P","status":"active","price":{"amount":1,"currency":"USD"}}`,
			cat(str("name", "status", "price.currency"), of("object", "price"), of("number", "price.amount"))},
		{eps["addon.create"], `{"name":"A","status":"active","price":{"amount":1,"currency":"USD"},"plans":["` + w.plan + `"],"allowances":{"dataBytes":1}}`,
			cat(str("name", "status", "plans.0", "price.currency"), of("array", "plans"), of("object", "price", "allowances"), of("number", "price.amount", "allowances.dataBytes"))},
		{eps["sim.create"], `{"type":"eSIM","iccid":"8988247000101234999","status":"available","activationCode":"LPA:1$smdp.example.com$X"}`,
			str("type", "iccid", "status", "activationCode")},
		{eps["device.create"], `{"user":"` + w.user + `","manufacturer":"M","model":"X","esimCapable":true,"imei":"` + validIMEI + `"}`,
			cat(str("user", "manufacturer", "model", "imei"), of("bool", "esimCapable"))},
		{eps["subscription.create"], `{"user":"` + w.user + `","plan":"` + w.plan + `","device":"` + w.device + `","phoneNumber":"+14155550100","status":"active","recurring":true,` +
			`"currentPeriod":{"start":"2026-01-01T00:00:00Z","end":"2026-02-01T00:00:00Z"},"endedAt":"2026-03-01T00:00:00Z","addons":["` + w.addon + `"]}`,
			cat(str("user", "plan", "device", "phoneNumber", "status", "currentPeriod.start", "currentPeriod.end", "endedAt", "addons.0"),
				of("bool", "recurring"), of("object", "currentPeriod"), of("array", "addons"))},
		{eps["paymentMethod.create"], `{"user":"` + w.user + `","type":"card","card":{"brand":"visa","last4":"4242","expMonth":1,"expYear":2030},"default":false}`,
			cat(str("user", "type", "card.brand", "card.last4"), of("object", "card"), of("number", "card.expMonth", "card.expYear"), of("bool", "default"))},
		{eps["payment.create"], `{"user":"` + w.user + `","subscription":"` + w.sub + `","paymentMethod":"` + w.pm + `","amount":1,"currency":"USD","status":"processing","description":"D"}`,
			cat(str("user", "subscription", "paymentMethod", "currency", "status", "description"), of("number", "amount"))},
		{eps["porting.create"], `{"subscription":"` + w.sub + `","phoneNumber":"+14155550111","donorProvider":"T","accountNumber":"1","accountPin":"2","address":` + address + `}`,
			cat(str("subscription", "phoneNumber", "donorProvider", "accountNumber", "accountPin"), addressFields("address"))},
		{eps["porting.patch"], `{"status":"declined","declinedCode":"portingAccountPinRequiredOrInvalid"}`, str("status", "declinedCode")},
	}
}

// wrongValues returns JSON values of every type but kind.
func wrongValues(kind string) []string {
	all := map[string]string{"string": `"x"`, "number": `7`, "bool": `true`, "array": `[]`, "object": `{}`}
	var out []string
	for _, k := range []string{"string", "number", "bool", "array", "object"} {
		if k != kind {
			out = append(out, all[k])
		}
	}
	return out
}

// setPath replaces the member at a dotted path (array indices as numbers)
// of a JSON document with raw.
func setPath(doc, path, raw string) string {
	var v, raw2 any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		panic(fmt.Sprintf("base %s: %v", doc, err))
	}
	if err := json.Unmarshal([]byte(raw), &raw2); err != nil {
		panic(fmt.Sprintf("value %s: %v", raw, err))
	}
	keys := strings.Split(path, ".")
	cur := v
	for i, k := range keys {
		last := i == len(keys)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				c[k] = raw2
			} else {
				cur = c[k]
			}
		case []any:
			n, _ := strconv.Atoi(k)
			if last {
				c[n] = raw2
			} else {
				cur = c[n]
			}
		default:
			panic(fmt.Sprintf("path %s of %s", path, doc))
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// jsonPath turns a dotted path with numeric indices into the API's form
// (addons.0 → addons[0]).
func jsonPath(p string) string {
	parts := strings.Split(p, ".")
	out := parts[0]
	for _, s := range parts[1:] {
		if _, err := strconv.Atoi(s); err == nil {
			out += "[" + s + "]"
		} else {
			out += "." + s
		}
	}
	return out
}

// wrongTypeCases puts a value of every wrong type at every field of every
// body: 422 invalidType naming the field.
func (w *world) wrongTypeCases() []tc {
	var out []tc
	for i, b := range w.bodyFields() {
		for _, f := range b.fields {
			for _, v := range wrongValues(f.kind) {
				name := fmt.Sprintf("%s#%d/type/%s=%s", b.ep.name, i, f.path, v)
				out = append(out, tc{name: name, method: b.ep.method, path: b.ep.path, body: setPath(b.base, f.path, v),
					status: 422, code: "validationFailed", field: jsonPath(f.path), fcode: "invalidType"})
			}
		}
	}
	return out
}

// valueCases are well-typed values that are wrong: huge numbers and
// strings, bounds, formats, unknown fields.
func (w *world) valueCases() []tc {
	sc := w.p("/connectSessions")
	us := w.p("/users")
	view := `"intent":{"type":"viewSubscriptions"}`
	long := func(n int) string { return strings.Repeat("x", n) }
	many := func(n int, f func(i int) string) string {
		var parts []string
		for i := 0; i < n; i++ {
			parts = append(parts, f(i))
		}
		return strings.Join(parts, ",")
	}
	hugeDigits := strings.Repeat("9", 20000)
	v422 := func(name, method, path, body, field, fcode string) tc {
		return tc{name: name, method: method, path: path, body: body, status: 422, code: "validationFailed", field: field, fcode: fcode}
	}
	plan := func(price string) string { return `{"name":"P","price":` + price + `}` }
	card := func(m, y string) string {
		return `{"user":"` + w.user + `","type":"card","card":{"brand":"visa","last4":"4242","expMonth":` + m + `,"expYear":` + y + `}}`
	}
	return []tc{
		v422("huge/intent.type=1e999999", "POST", sc, `{"intent":{"type":1e999999}}`, "intent.type", "invalidType"),
		v422("huge/callbackUrl=-1e400", "POST", sc, `{`+view+`,"callbackUrl":-1e400}`, "callbackUrl", "invalidType"),
		v422("huge/callbackUrl=20000_digits", "POST", sc, `{`+view+`,"callbackUrl":`+hugeDigits+`}`, "callbackUrl", "invalidType"),
		v422("huge/price.amount=1e400", "POST", w.p("/plans"), plan(`{"amount":1e400,"currency":"USD"}`), "price.amount", "outOfRange"),
		v422("huge/price.amount=20000_digits", "POST", w.p("/plans"), plan(`{"amount":`+hugeDigits+`,"currency":"USD"}`), "price.amount", "outOfRange"),
		v422("huge/price.amount=2^63", "POST", w.p("/plans"), plan(`{"amount":9223372036854775808,"currency":"USD"}`), "price.amount", "outOfRange"),
		v422("huge/price.amount=-1", "POST", w.p("/plans"), plan(`{"amount":-1,"currency":"USD"}`), "price.amount", "outOfRange"),
		v422("huge/price.amount=1.5", "POST", w.p("/plans"), plan(`{"amount":1.5,"currency":"USD"}`), "price.amount", "outOfRange"),
		v422("huge/price.amount=1e3", "POST", w.p("/plans"), plan(`{"amount":1e3,"currency":"USD"}`), "price.amount", "outOfRange"),
		v422("huge/price.amount=-0.0", "POST", w.p("/plans"), plan(`{"amount":-0.0,"currency":"USD"}`), "price.amount", "outOfRange"),
		v422("huge/price.amount=1e12+1", "POST", w.p("/plans"), plan(`{"amount":1000000000001,"currency":"USD"}`), "price.amount", "outOfRange"),
		v422("huge/allowances.dataBytes=2^53", "POST", w.p("/plans"), `{"name":"P","price":{"amount":1,"currency":"USD"},"allowances":{"dataBytes":9007199254740992}}`, "allowances.dataBytes", "outOfRange"),
		v422("huge/card.expMonth=13", "POST", w.p("/paymentMethods"), card("13", "2030"), "card.expMonth", "outOfRange"),
		v422("huge/card.expMonth=0", "POST", w.p("/paymentMethods"), card("0", "2030"), "card.expMonth", "outOfRange"),
		v422("huge/card.expYear=1e308", "POST", w.p("/paymentMethods"), card("1", "1e308"), "card.expYear", "outOfRange"),
		v422("huge/payment.amount=1e400", "POST", w.p("/payments"), `{"user":"`+w.user+`","amount":1e400,"currency":"USD"}`, "amount", "outOfRange"),
		v422("huge/user.fullName=60KiB", "POST", us, `{"email":"h1@example.com","fullName":"`+long(60<<10)+`"}`, "fullName", "invalid"),
		v422("huge/user.fullName=201", "POST", us, `{"email":"h2@example.com","fullName":"`+long(201)+`"}`, "fullName", "invalid"),
		v422("huge/userDetails.fullName=60KiB", "POST", sc, `{`+view+`,"userDetails":{"email":"h3@example.com","fullName":"`+long(60<<10)+`"}}`, "userDetails.fullName", "invalid"),
		v422("huge/email=255", "POST", us, `{"email":"`+long(243)+`@example.com"}`, "email", "invalidEmail"),
		v422("huge/email=60KiB", "POST", us, `{"email":"`+long(60<<10)+`@example.com"}`, "email", "invalidEmail"),
		v422("huge/callbackUrl=2049", "POST", sc, `{`+view+`,"callbackUrl":"https://example.com/`+long(2049-20)+`"}`, "callbackUrl", "tooLong"),
		v422("huge/callbackUrl=60KiB", "POST", sc, `{`+view+`,"callbackUrl":"https://example.com/`+long(60<<10)+`"}`, "callbackUrl", "tooLong"),
		v422("huge/metadata.value=501", "POST", us, `{"email":"h4@example.com","metadata":{"k":"`+long(501)+`"}}`, "metadata.k", "invalid"),
		v422("huge/metadata.key=41", "POST", us, `{"email":"h5@example.com","metadata":{"`+long(41)+`":"v"}}`, "metadata", "invalidKey"),
		v422("huge/metadata.keys=51", "POST", us, `{"email":"h6@example.com","metadata":{`+many(51, func(i int) string { return fmt.Sprintf(`"k%d":"v"`, i) })+`}}`, "metadata", "tooManyKeys"),
		v422("huge/metadata.keys=2000", "POST", us, `{"email":"h7@example.com","metadata":{`+many(2000, func(i int) string { return fmt.Sprintf(`"k%d":"v"`, i) })+`}}`, "metadata", "tooManyKeys"),
		v422("huge/intent.addons=21", "POST", sc, `{"intent":{"type":"checkoutAddon","checkoutAddon":{"subscription":"`+w.sub+`","addons":[`+
			many(21, func(i int) string { return fmt.Sprintf(`"add_%028d"`, i) })+`]}}}`, "intent.checkoutAddon.addons", "tooMany"),
		v422("huge/addon.plans=101", "POST", w.p("/addons"), `{"name":"A","price":{"amount":1,"currency":"USD"},"plans":[`+
			many(101, func(i int) string { return fmt.Sprintf(`"pln_%028d"`, i) })+`]}`, "plans", "tooMany"),
		v422("huge/plan.description=501", "POST", w.p("/plans"), `{"name":"P","description":"`+long(501)+`","price":{"amount":1,"currency":"USD"}}`, "description", "invalid"),
		v422("huge/unknown_key=60KiB", "POST", sc, `{`+view+`,"`+long(60<<10)+`":1}`, "…", "unknownField"),
		v422("huge/unknown_keys=3000", "POST", sc, `{`+view+`,`+many(3000, func(i int) string { return fmt.Sprintf(`"u%d":1`, i) })+`}`, "u0", "unknownField"),
		v422("huge/array=10000", "POST", sc, `{`+view+`,"userDetails":{"email":"h8@example.com","metadata":[`+many(10000, func(int) string { return "1" })+`]}}`, "userDetails.metadata", "invalidType"),
		v422("deep/32_levels_is_parsed", "POST", sc, `{`+view+`,"a":`+nest(31, "[", "", "]")+`}`, "a", "unknownField"),
		v422("deep/in_metadata", "POST", us, `{"email":"h9@example.com","metadata":{"k":`+nest(30, "[", "", "]")+`}}`, "metadata.k", "invalidType"),
		v422("value/intent.type=unknown", "POST", sc, `{"intent":{"type":"deleteEverything"}}`, "intent.type", "invalidIntent"),
		v422("value/intent.type=empty", "POST", sc, `{"intent":{"type":""}}`, "intent.type", "invalidIntent"),
		v422("value/intent.type=case", "POST", sc, `{"intent":{"type":"ViewSubscriptions"}}`, "intent.type", "invalidIntent"),
		v422("value/intent_missing", "POST", sc, `{}`, "intent", "required"),
		v422("value/intent_null", "POST", sc, `{"intent":null}`, "intent", "required"),
		v422("value/intent.payload_missing", "POST", sc, `{"intent":{"type":"cancelSubscription"}}`, "intent.cancelSubscription", "required"),
		v422("value/intent.payload_of_other_type", "POST", sc, `{"intent":{"type":"cancelSubscription","resumeSubscription":{"subscription":"`+w.sub+`"}}}`, "intent.resumeSubscription", "unknownField"),
		v422("value/intent.sql_id", "POST", sc, `{"intent":{"type":"cancelSubscription","cancelSubscription":{"subscription":"sub_' OR '1'='1"}}}`, "intent.cancelSubscription.subscription", "invalidId"),
		v422("value/intent.sim=auto", "POST", sc, `{"intent":{"type":"checkoutNewSubscription","checkoutNewSubscription":{"plan":"`+w.plan+`","sim":"auto"}}}`, "intent.checkoutNewSubscription.sim", "autoNotSupported"),
		v422("value/intent.imei=luhn", "POST", sc, `{"intent":{"type":"checkoutNewSubscription","checkoutNewSubscription":{"plan":"`+w.plan+`","imei":"490154203237519"}}}`, "intent.checkoutNewSubscription.imei", "invalidImei"),
		v422("value/intent.imei=unicode_digits", "POST", sc, `{"intent":{"type":"checkoutNewSubscription","checkoutNewSubscription":{"plan":"`+w.plan+`","imei":"٤٩٠١٥٤٢٠٣٢٣٧٥١٨"}}}`, "intent.checkoutNewSubscription.imei", "invalidImei"),
		v422("value/intent.addons_empty", "POST", sc, `{"intent":{"type":"checkoutAddon","checkoutAddon":{"subscription":"`+w.sub+`","addons":[]}}}`, "intent.checkoutAddon.addons", "empty"),
		v422("value/intent.addons_duplicate", "POST", sc, `{"intent":{"type":"checkoutAddon","checkoutAddon":{"subscription":"`+w.sub+`","addons":["`+w.addon+`","`+w.addon+`"]}}}`, "intent.checkoutAddon.addons[1]", "duplicate"),
		v422("value/user=wrong_prefix", "POST", sc, `{`+view+`,"user":"`+w.sub+`"}`, "user", "invalidId"),
		v422("value/user_and_userDetails_disagree", "POST", sc, `{`+view+`,"user":"`+w.user+`","userDetails":{"email":"c@example.com"}}`, "userDetails.email", "doesNotMatchUser"), // issue 10.1
		v422("value/user=unknown", "POST", sc, `{`+view+`,"user":"usr_0000000000000000000000000000"}`, "user", "notFound"),
		v422("value/theme=blue", "POST", sc, `{`+view+`,"appearance":{"theme":"blue"}}`, "appearance.theme", "invalid"),
		v422("value/userDetails.email_missing", "POST", sc, `{`+view+`,"userDetails":{"fullName":"X"}}`, "userDetails.email", "required"),
		v422("value/birthday=2026-02-30", "POST", us, `{"email":"d1@example.com","birthday":"2026-02-30"}`, "birthday", "invalidDate"),
		v422("value/birthday=future", "POST", us, `{"email":"d2@example.com","birthday":"2999-01-01"}`, "birthday", "inFuture"),
		v422("value/birthday=slashes", "POST", us, `{"email":"d3@example.com","birthday":"1990/01/01"}`, "birthday", "invalidDate"),
		v422("value/locale=sql", "POST", us, `{"email":"d4@example.com","preferredLocale":"en'; DROP TABLE users;--"}`, "preferredLocale", "invalidLocale"),
		v422("value/fullName=control", "POST", us, `{"email":"d5@example.com","fullName":"a\u0000b"}`, "fullName", "invalid"),
		v422("value/fullName=crlf", "POST", us, `{"email":"d6@example.com","fullName":"a\r\nSet-Cookie: x=1"}`, "fullName", "invalid"),
		v422("value/fullName=line_separator", "POST", us, `{"email":"d7@example.com","fullName":"a\u2028b"}`, "fullName", "invalid"),
		v422("value/fullName=blank", "POST", us, `{"email":"d8@example.com","fullName":"   "}`, "fullName", "invalid"),
		v422("value/address.country=usa", "POST", us, `{"email":"d9@example.com","address":{"line1":"1","city":"c","postalCode":"1","country":"USA"}}`, "address.country", "invalidCountry"),
		v422("value/address.line1_missing", "POST", us, `{"email":"e1@example.com","address":{"city":"c","postalCode":"1","country":"US"}}`, "address.line1", "required"),
		v422("value/email_missing", "POST", us, `{"fullName":"X"}`, "email", "required"),
		v422("value/email=two_at", "POST", us, `{"email":"a@b@example.com"}`, "email", "invalidEmail"),
		v422("value/email=crlf", "POST", us, `{"email":"a@example.com\r\nBcc: x@evil.test"}`, "email", "invalidEmail"),
		v422("value/email=sql", "POST", us, `{"email":"a'--@example.com;"}`, "email", "invalidEmail"),
		v422("value/plan.currency=usd", "POST", w.p("/plans"), plan(`{"amount":1,"currency":"usd"}`), "price.currency", "invalidCurrency"),
		v422("value/plan.id_readonly", "POST", w.p("/plans"), `{"id":"pln_x","name":"P","price":{"amount":1,"currency":"USD"}}`, "id", "readOnly"),
		v422("value/sim.iccid=short", "POST", w.p("/sims"), `{"type":"pSIM","iccid":"123"}`, "iccid", "invalidIccid"),
		v422("value/sim.activationCode=javascript", "POST", w.p("/sims"), `{"type":"eSIM","iccid":"8988247000101234998","activationCode":"javascript:alert(1)"}`, "activationCode", "invalidActivationCode"),
		v422("value/card.number", "POST", w.p("/paymentMethods"), `{"user":"`+w.user+`","type":"card","card":{"brand":"visa","last4":"4242","expMonth":1,"expYear":2030,"number":"4242424242424242"}}`, "card.number", "notAccepted"),
		v422("value/subscription.phone=letters", "POST", w.p("/subscriptions"), `{"user":"`+w.user+`","plan":"`+w.plan+`","phoneNumber":"+1415CALLME"}`, "phoneNumber", "invalidPhoneNumber"),
		v422("value/subscription.period_reversed", "POST", w.p("/subscriptions"), `{"user":"`+w.user+`","plan":"`+w.plan+`","currentPeriod":{"start":"2026-02-01T00:00:00Z","end":"2026-01-01T00:00:00Z"}}`, "currentPeriod.end", "beforeStart"),
		v422("value/porting.declinedCode=crlf", "PATCH", w.p("/portings/"+w.porting), `{"status":"declined","declinedCode":"a\r\nb"}`, "declinedCode", "invalid"),
		v422("value/porting.user_readonly", "POST", w.p("/portings"), `{"subscription":"`+w.sub+`","phoneNumber":"+14155550112","user":"`+w.user+`"}`, "user", "readOnly"),
		v422("value/session.patch.intent", "PATCH", w.p("/connectSessions/"+w.sess), `{`+view+`}`, "intent", "immutable"),
		v422("value/expire.body_field", "POST", w.p("/connectSessions/"+w.sess+"/expire"), `{"now":true}`, "now", "unknownField"),
	}
}

// pathCases are odd IDs and segments in paths: 404 (or 403 for a project
// that is not the key's), never a 5xx. Traversal with a literal ../ is
// cleaned by Go's router with a 307 to the cleaned path, which must then
// be a 404 too.
func (w *world) pathCases() []tc {
	odd := []struct{ name, seg string }{
		{"sql_quote", url.PathEscape("' OR '1'='1")},
		{"sql_semicolon", url.PathEscape("x; DROP TABLE sessions; --")},
		{"sql_comment", "x--"},
		{"sql_union", url.PathEscape("1 UNION SELECT * FROM api_keys")},
		{"encoded_dotdot", "%2e%2e"},
		{"encoded_dotdot_slash", "%2e%2e%2f%2e%2e%2fetc%2fpasswd"},
		{"encoded_slash", "a%2Fb"},
		{"backslash_dotdot", "..%5c..%5cwindows"},
		{"nul", "csn_%00"},
		{"nul_suffix", "csn_0SNlurA049MEWV1GWxpaE5D0t2D6%00"},
		{"crlf", "x%0d%0aSet-Cookie:%20a=b"},
		{"len_65", strings.Repeat("a", 65)},
		{"len_1000", "csn_" + strings.Repeat("A", 996)},
		{"len_8000", strings.Repeat("z", 8000)},
		{"non_ascii", url.PathEscape("csn_ÄÖÜ")},
		{"fullwidth", url.PathEscape("ｃｓｎ_0SNlurA049MEWV1GWxpaE5D0t2D6")},
		{"emoji", url.PathEscape("😀")},
		{"invalid_utf8", "%ff%fe"},
		{"percent_literal", "%25"},
		{"valid_shape_unknown", "csn_0SNlurA049MEWV1GWxpaE5D0t2D6"},
		{"wrong_prefix", w.payment},
		{"lower_case_of_real", strings.ToLower(w.sess)},
		{"tilde", "~"},
		{"json", url.PathEscape(`{"a":1}`)},
		{"template", url.PathEscape("{{7*7}}")},
		{"html", url.PathEscape("<script>alert(1)</script>")},
	}
	collections := []struct{ path, code string }{
		{"/connectSessions", "connectSessionNotFound"},
		{"/users", "userNotFound"},
		{"/plans", "planNotFound"},
		{"/subscriptions", "subscriptionNotFound"},
		{"/paymentMethods", "paymentMethodNotFound"},
		{"/portings", "portingNotFound"},
	}
	var out []tc
	for _, c := range collections {
		for _, o := range odd {
			out = append(out, tc{name: "path" + c.path + "/" + o.name, method: "GET", path: w.p(c.path + "/" + o.seg), status: 404, code: c.code})
		}
		out = append(out, tc{name: "path" + c.path + "/patch_sql", method: "PATCH", path: w.p(c.path + "/" + url.PathEscape("'; --")), body: `{}`, status: 404, code: c.code})
		out = append(out, tc{name: "path" + c.path + "/traversal", method: "GET", path: w.p(c.path + "/../../../etc/passwd"), redirect: true, status: 404, code: "routeNotFound"})
	}
	out = append(out,
		tc{name: "path/expire_odd_id", method: "POST", path: w.p("/connectSessions/" + url.PathEscape("' OR 1=1 --") + "/expire"), status: 404, code: "connectSessionNotFound"},
		tc{name: "path/session_traversal_to_expire", method: "POST", path: w.p("/connectSessions/x/../" + w.sess + "/expire/.."), redirect: true, status: 405, code: "methodNotAllowed"},
		tc{name: "path/project_sql", method: "GET", path: "/projects/" + url.PathEscape("proj' OR '1'='1") + "/connectSessions", status: 403, code: "projectForbidden"},
		tc{name: "path/project_dotdot_encoded", method: "GET", path: "/projects/%2e%2e/connectSessions", status: 403, code: "projectForbidden"},
		tc{name: "path/project_upper", method: "GET", path: "/projects/PROJ/connectSessions", status: 403, code: "projectForbidden"},
		tc{name: "path/project_nul", method: "GET", path: "/projects/proj%00/connectSessions", status: 403, code: "projectForbidden"},
		tc{name: "path/project_65", method: "GET", path: "/projects/" + strings.Repeat("p", 65) + "/connectSessions", status: 403, code: "projectForbidden"},
		tc{name: "path/unknown_route", method: "GET", path: w.p("/connectSessions/" + w.sess + "/secrets"), status: 404, code: "routeNotFound"},
		tc{name: "path/trailing_slash", method: "GET", path: w.p("/connectSessions/"), status: 404, code: "routeNotFound"},
		tc{name: "path/method_delete", method: "DELETE", path: w.p("/connectSessions/" + w.sess), status: 405, code: "methodNotAllowed"},
		tc{name: "path/method_put", method: "PUT", path: w.p("/users/" + w.user), body: `{}`, status: 405, code: "methodNotAllowed"},
		tc{name: "path/method_trace", method: "TRACE", path: w.p("/connectSessions"), status: 405, code: "methodNotAllowed"},
		tc{name: "path/method_patch_collection", method: "PATCH", path: w.p("/plans"), body: `{}`, status: 405, code: "methodNotAllowed"},
		tc{name: "path/method_get_expire", method: "GET", path: w.p("/connectSessions/" + w.sess + "/expire"), status: 405, code: "methodNotAllowed"},
	)
	return out
}

// headerAndQueryCases: authorization, Idempotency-Key and query strings.
func (w *world) headerAndQueryCases() []tc {
	sc := w.p("/connectSessions")
	body := `{"intent":{"type":"viewSubscriptions"}}`
	h := func(k, v string) map[string]string { return map[string]string{k: v} }
	var out []tc
	for _, a := range []struct{ name, v string }{
		{"basic", "Basic dXNlcjpwYXNz"}, {"bearer_empty", "Bearer "}, {"bearer_only", "Bearer"}, {"no_scheme", w.e.Key},
		{"wrong_key", "Bearer ck_0000000000000000000000000000000000000000000"}, {"huge_key", "Bearer " + strings.Repeat("k", 6000)},
		{"sql_key", "Bearer ' OR '1'='1"}, {"two_spaces", "Bearer  x"}, {"non_ascii_key", "Bearer ключ"},
		{"key_with_tab", "Bearer\t" + w.e.Key},
	} {
		out = append(out, tc{name: "auth/" + a.name, method: "POST", path: sc, body: body, header: h("Authorization", a.v), noAuth: true, status: 401})
	}
	out = append(out, tc{name: "auth/missing", method: "GET", path: sc, noAuth: true, status: 401})
	for _, k := range []struct{ name, v string }{
		{"256", strings.Repeat("k", 256)}, {"empty", ""}, {"space", "a b"}, {"non_ascii", "ключ"}, {"tab", "a\tb"},
		{"quote_sql", "'; DROP TABLE idempotency; --"},
	} {
		if k.name == "quote_sql" {
			continue // printable ASCII: a valid key
		}
		out = append(out, tc{name: "idempotency/" + k.name, method: "POST", path: sc, body: body, header: h("Idempotency-Key", k.v), status: 400, code: "invalidIdempotencyKey"})
	}
	q := func(name, query, field, fcode string) tc {
		return tc{name: "query/" + name, method: "GET", path: sc + "?" + query, status: 422, code: "validationFailed", field: field, fcode: fcode}
	}
	out = append(out,
		tc{name: "query/malformed_percent", method: "GET", path: sc + "?limit=%zz", status: 400, code: "invalidQuery"},
		tc{name: "query/semicolon", method: "GET", path: sc + "?limit=1;after=x", status: 400, code: "invalidQuery"},
		q("limit=-1", "limit=-1", "limit", "outOfRange"),
		q("limit=201", "limit=201", "limit", "outOfRange"),
		q("limit=huge", "limit="+strings.Repeat("9", 500), "limit", "outOfRange"),
		q("limit=abc", "limit=abc", "limit", "outOfRange"),
		q("limit=1e2", "limit=1e2", "limit", "outOfRange"),
		q("limit=repeated", "limit=1&limit=2", "limit", "repeated"),
		q("user=empty", "user=", "user", "empty"),
		q("user=sql", "user="+url.QueryEscape("usr_' OR 1=1"), "user", "invalidId"),
		q("status=bogus", "status=deleted", "status", "invalid"),
		q("after=traversal", "after=../../x", "after", "invalidId"),
		q("after_and_before", "after="+w.sess+"&before="+w.sess, "before", "exclusive"),
		q("unknown", "expand=all", "expand", "unknownParameter"),
		q("unknown_secret_like", "token="+strings.Repeat("S", 50), "token", "unknownParameter"),
		q("unknown_long_name", strings.Repeat("n", 100)+"=1", "…", "unknownParameter"),
		tc{name: "query/on_create", method: "POST", path: sc + "?user=" + w.user, body: body, status: 422, code: "validationFailed", field: "user", fcode: "unknownParameter"},
		tc{name: "query/plans_user", method: "GET", path: w.p("/plans?user=" + w.user), status: 422, code: "validationFailed", field: "user", fcode: "unknownParameter"},
		tc{name: "query/portings_subscription_bad", method: "GET", path: w.p("/portings?subscription=x"), status: 422, code: "validationFailed", field: "subscription", fcode: "invalidId"},
		tc{name: "query/payments_status_bad", method: "GET", path: w.p("/payments?status=paid"), status: 422, code: "validationFailed", field: "status", fcode: "invalid"},
	)
	return out
}

// confusableEmailCases: emails that look like real ones but are not ASCII
// are refused as invalid, in session userDetails and in users.
func (w *world) confusableEmailCases() []tc {
	emails := []struct{ name, email string }{
		{"cyrillic_a_domain", "jerry@exаmple.com"},
		{"cyrillic_e_local", "jеrry@example.com"},
		{"greek_omicron_tld", "jerry@example.cοm"},
		{"fullwidth_at", "jerry＠example.com"},
		{"small_at", "jerry﹫example.com"},
		{"fullwidth_letters", "ｊｅｒｒｙ@example.com"},
		{"zero_width_joiner", "jer\u200dry@example.com"},
		{"zero_width_space_domain", "jerry@exam\u200bple.com"},
		{"zero_width_non_joiner", "jerry@example\u200c.com"},
		{"bom_prefix", "\ufeffjerry@example.com"},
		{"rtl_override", "jerry@\u202eexample.com"},
		{"soft_hyphen", "jer\u00adry@example.com"},
		{"nbsp", "jerry\u00a0@example.com"},
		{"ideographic_dot", "jerry@example。com"},
		{"fullwidth_dot", "jerry@example．com"},
		{"combining_mark", "jerry@exa\u0301mple.com"},
		{"mathematical_bold", "jerry@𝐞xample.com"},
	}
	var out []tc
	for _, e := range emails {
		b, _ := json.Marshal(e.email)
		out = append(out,
			tc{name: "email/session/" + e.name, method: "POST", path: w.p("/connectSessions"),
				body:   `{"intent":{"type":"viewSubscriptions"},"userDetails":{"email":` + string(b) + `}}`,
				status: 422, code: "validationFailed", field: "userDetails.email", fcode: "invalidEmail"},
			tc{name: "email/user.create/" + e.name, method: "POST", path: w.p("/users"), body: `{"email":` + string(b) + `}`,
				status: 422, code: "validationFailed", field: "email", fcode: "invalidEmail"},
			tc{name: "email/user.patch/" + e.name, method: "PATCH", path: w.p("/users/" + w.user), body: `{"email":` + string(b) + `}`,
				status: 422, code: "validationFailed", field: "email", fcode: "invalidEmail"},
		)
	}
	return out
}
