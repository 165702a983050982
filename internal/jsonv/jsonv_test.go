package jsonv

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// render writes v in a canonical compact form that keeps member order and
// number literals, to compare parse trees in tables.
func render(v *Value) string {
	switch v.Kind {
	case Null:
		return "null"
	case Bool:
		return strconv.FormatBool(v.Bool)
	case Number:
		return v.Str
	case String:
		return strconv.Quote(v.Str)
	case Array:
		parts := make([]string, len(v.Elems))
		for i, e := range v.Elems {
			parts[i] = render(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case Object:
		parts := make([]string, len(v.Members))
		for i, m := range v.Members {
			parts[i] = strconv.Quote(m.Key) + ":" + render(m.Value)
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	return "?"
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		in, want string
		kind     Kind
	}{
		{`null`, `null`, Null},
		{`true`, `true`, Bool},
		{`false`, `false`, Bool},
		{`0`, `0`, Number},
		{`-0`, `-0`, Number},
		{`1.50`, `1.50`, Number}, // number literals are kept as written
		{`-12.5e+10`, `-12.5e+10`, Number},
		{`123456789012345678901234567890`, `123456789012345678901234567890`, Number},
		{`""`, `""`, String},
		{`"abc"`, `"abc"`, String},
		{`"\u00e9\n\t\"\\\/"`, strconv.Quote("é\n\t\"\\/"), String},
		{`"\ud83d\ude00"`, strconv.Quote("😀"), String},
		{`"é"`, strconv.Quote("é"), String},
		{`[]`, `[]`, Array},
		{`[1,"a",null,true,[],{}]`, `[1,"a",null,true,[],{}]`, Array},
		{`{}`, `{}`, Object},
		{`{"b":1,"a":2}`, `{"b":1,"a":2}`, Object}, // document order
		{`{"a":{"b":{"c":[1,{"d":null}]}}}`, `{"a":{"b":{"c":[1,{"d":null}]}}}`, Object},
		{`{"a":1,"A":2}`, `{"a":1,"A":2}`, Object}, // keys are case-sensitive
		{`{"":1}`, `{"":1}`, Object},
		{" \t\r\n{ \"a\" : [ 1 , 2 ] } \n", `{"a":[1,2]}`, Object},
		{`[{"a":1},{"a":1}]`, `[{"a":1},{"a":1}]`, Array}, // the same key in sibling objects
		{`{"a":{"a":{"a":1}}}`, `{"a":{"a":{"a":1}}}`, Object},
	}
	for _, tc := range tests {
		v, err := Parse([]byte(tc.in))
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if v.Kind != tc.kind {
			t.Errorf("Parse(%q).Kind = %s, want %s", tc.in, v.Kind, tc.kind)
		}
		if got := render(v); got != tc.want {
			t.Errorf("Parse(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name, in, msg string
	}{
		{"empty", ``, "end of input"},
		{"blank", " \n ", "end of input"},
		{"unclosed object", `{`, ""},
		{"unclosed array", `[1,2`, ""},
		{"unclosed string", `"abc`, ""},
		{"trailing comma in array", `[1,]`, ""},
		{"trailing comma in object", `{"a":1,}`, ""},
		{"bare key", `{a:1}`, ""},
		{"single quotes", `'x'`, ""},
		{"leading zero", `01`, ""},
		{"dot", `1.`, ""},
		{"NaN", `NaN`, ""},
		{"missing comma", `[1 2]`, ""},
		{"missing colon", `{"a" 1}`, ""},
		{"number key", `{1:2}`, ""},
		{"partial literal", `tru`, ""},
		{"raw control in string", "\"a\nb\"", ""},
		{"bad escape", `"\x"`, ""},
		{"comment", `{} // c`, ""},

		{"two values", `{} {}`, "after the JSON value"},
		{"trailing garbage", `{}x`, ""},
		{"two numbers", `1 2`, "after the JSON value"},
		{"extra bracket", `[]]`, ""},
		{"extra brace", `{}}`, ""},
		{"trailing comma", `{},`, ""},

		{"duplicate key", `{"a":1,"a":2}`, `duplicate key "a"`},
		{"duplicate key, same value", `{"a":1,"a":1}`, `duplicate key "a"`},
		{"duplicate null key", `{"a":null,"a":2}`, `duplicate key "a"`},
		{"duplicate key, escaped", `{"a":1,"\u0061":2}`, `duplicate key "a"`},
		{"duplicate key, nested", `{"x":{"a":1,"b":2,"a":3}}`, `duplicate key "a"`},
		{"duplicate key, in array", `[{"a":1},{"b":1,"b":2}]`, `duplicate key "b"`},
		{"duplicate key, deep", `{"intent":{"type":"x","cancelSubscription":{"subscription":"a","subscription":"b"}}}`, `duplicate key "subscription"`},
		{"duplicate top-level key apart", `{"a":1,"b":{"c":2},"a":3}`, `duplicate key "a"`},
		{"duplicate secret-like key is not echoed", `{"tokCANARY0123456789abcdefghijklmnopqrstuvwxyzAB":1,"tokCANARY0123456789abcdefghijklmnopqrstuvwxyzAB":2}`, `duplicate key "…"`},
		{"duplicate key with odd characters is not echoed", `{"a b":1,"a b":2}`, `duplicate key "…"`},

		{"invalid UTF-8 in string", "\"\xff\"", "UTF-8"},
		{"invalid UTF-8 in key", "{\"\xfe\":1}", "UTF-8"},
		{"truncated UTF-8", "{\"a\":\"\xc3\"}", "UTF-8"},
		{"overlong UTF-8", "\"\xc0\xaf\"", "UTF-8"},
		{"UTF-8 surrogate", "\"\xed\xa0\x80\"", "UTF-8"},
		{"invalid UTF-8 outside strings", "{}\xff", "UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Parse([]byte(tc.in))
			if err == nil {
				t.Fatalf("Parse(%q) = %s, want an error", tc.in, render(v))
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is a %T, not a *SyntaxError", err, err)
			}
			if se.Offset < 0 || se.Offset > int64(len(tc.in)) {
				t.Errorf("offset %d outside the input", se.Offset)
			}
			if !strings.HasPrefix(err.Error(), "invalid JSON at byte ") {
				t.Errorf("message %q", err)
			}
			if tc.msg != "" && !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not mention %q", err, tc.msg)
			}
		})
	}
}

func TestParseInvalidUTF8Offset(t *testing.T) {
	in := []byte("{\"name\":\"ab\xffcd\"}")
	_, err := Parse(in)
	var se *SyntaxError
	if !errors.As(err, &se) || se.Offset != int64(bytes.IndexByte(in, 0xff)) {
		t.Errorf("error %v, want offset %d", err, bytes.IndexByte(in, 0xff))
	}
}

func nested(depth int, open, close string) string {
	return strings.Repeat(open, depth) + strings.Repeat(close, depth)
}

func TestParseDepth(t *testing.T) {
	objects := func(depth int) string {
		return strings.Repeat(`{"a":`, depth-1) + `{}` + strings.Repeat(`}`, depth-1)
	}
	// mixed alternates objects and arrays, with a scalar innermost.
	mixed := func(depth int) string {
		open, close := "", ""
		for i := 0; i < depth; i++ {
			if i%2 == 0 {
				open, close = open+`{"k":`, `}`+close
			} else {
				open, close = open+`[`, `]`+close
			}
		}
		return open + "1" + close
	}
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"arrays 1", nested(1, "[", "]"), true},
		{"arrays 32", nested(MaxDepth, "[", "]"), true},
		{"arrays 33", nested(MaxDepth+1, "[", "]"), false},
		{"arrays 1000", nested(1000, "[", "]"), false},
		{"objects 32", objects(32), true},
		{"objects 33", objects(33), false},
		{"mixed 32", mixed(32), true},
		{"mixed 33", mixed(33), false},
		{"scalar in 32 arrays", strings.Repeat("[", 32) + "1" + strings.Repeat("]", 32), true},
		{"33 deep in a later element", `[1,` + nested(32, "[", "]") + `]`, false},
		{"32 deep in a later member", `{"a":1,"b":` + nested(31, "[", "]") + `}`, true},
		{"many shallow", "[" + strings.Repeat("[],", 1000) + "[]]", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !json.Valid([]byte(tc.in)) {
				t.Fatalf("test input is not JSON: %.80s", tc.in)
			}
			_, err := Parse([]byte(tc.in))
			if tc.ok && err != nil {
				t.Errorf("refused: %v", err)
			}
			if !tc.ok {
				if err == nil {
					t.Errorf("accepted")
				} else if !strings.Contains(err.Error(), "nested more than 32") {
					t.Errorf("error %q", err)
				}
			}
		})
	}
}

// parseRoot parses body and returns its root reader and problem list.
func parseRoot(t *testing.T, body string) (*Obj, *Problems) {
	t.Helper()
	v, err := Parse([]byte(body))
	if err != nil {
		t.Fatalf("Parse(%s): %v", body, err)
	}
	ps := &Problems{}
	return Root(v, ps), ps
}

func problemList(ps *Problems) []string {
	var out []string
	for _, p := range *ps {
		out = append(out, p.Path+":"+p.Code)
	}
	return out
}

func checkProblems(t *testing.T, ps *Problems, want ...string) {
	t.Helper()
	got := problemList(ps)
	if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Errorf("problems = %v, want %v", got, want)
	}
	for _, p := range *ps {
		if p.Message == "" {
			t.Errorf("%s: empty message", p.Path)
		}
	}
}

func TestRootNotObject(t *testing.T) {
	for _, body := range []string{`[]`, `"x"`, `1`, `null`, `true`} {
		o, ps := parseRoot(t, body)
		checkProblems(t, ps, ":invalidType")
		if _, ok := o.String("a"); ok {
			t.Errorf("%s: empty reader has a member", body)
		}
		o.Done()
		checkProblems(t, ps, ":invalidType")
	}
}

func TestObjNullIsAbsent(t *testing.T) {
	o, ps := parseRoot(t, `{"s":null,"b":null,"n":null,"o":null,"a":null,"m":null,"r":null,"unknown":null}`)
	if v := o.Get("s"); v != nil {
		t.Errorf("Get(null) = %v", v)
	}
	if o.Has("s") {
		t.Error("Has(null member) = true")
	}
	if _, ok := o.String("s"); ok {
		t.Error("String(null) ok")
	}
	if _, ok := o.Bool("b"); ok {
		t.Error("Bool(null) ok")
	}
	if _, ok := o.Int("n", 0, 10); ok {
		t.Error("Int(null) ok")
	}
	if o.Object("o") != nil {
		t.Error("Object(null) != nil")
	}
	if _, ok := o.StringArray("a"); ok {
		t.Error("StringArray(null) ok")
	}
	if _, ok := o.StringMap("m"); ok {
		t.Error("StringMap(null) ok")
	}
	// A required member that is null is missing.
	o.RequiredString("r")
	// An unknown member that is null is not reported.
	o.Done()
	checkProblems(t, ps, "r:required")
}

func TestObjReaders(t *testing.T) {
	o, ps := parseRoot(t, `{
		"s":"text","b":true,"n":42,"neg":-7,"big":100,"frac":1.5,"exp":1e2,
		"arr":["x","y"],"empty":[],"meta":{"k":"v","k2":""},
		"req":"here","o":{"inner":"i"}
	}`)
	if s, ok := o.String("s"); !ok || s != "text" {
		t.Errorf("String = %q, %v", s, ok)
	}
	if b, ok := o.Bool("b"); !ok || !b {
		t.Errorf("Bool = %v, %v", b, ok)
	}
	if n, ok := o.Int("n", 0, 200); !ok || n != 42 {
		t.Errorf("Int = %d, %v", n, ok)
	}
	if n, ok := o.Int("neg", -10, 0); !ok || n != -7 {
		t.Errorf("Int(neg) = %d, %v", n, ok)
	}
	if _, ok := o.Int("big", 0, 99); ok {
		t.Error("Int above max ok")
	}
	if _, ok := o.Int("frac", 0, 10); ok {
		t.Error("Int(1.5) ok")
	}
	if _, ok := o.Int("exp", 0, 1000); ok {
		t.Error("Int(1e2) ok") // integers are written as integers
	}
	if ss, ok := o.StringArray("arr"); !ok || !reflect.DeepEqual(ss, []string{"x", "y"}) {
		t.Errorf("StringArray = %v, %v", ss, ok)
	}
	if ss, ok := o.StringArray("empty"); !ok || ss == nil || len(ss) != 0 {
		t.Errorf("StringArray(empty) = %#v, %v", ss, ok)
	}
	if m, ok := o.StringMap("meta"); !ok || !reflect.DeepEqual(m, map[string]string{"k": "v", "k2": ""}) {
		t.Errorf("StringMap = %v, %v", m, ok)
	}
	if s, ok := o.RequiredString("req"); !ok || s != "here" {
		t.Errorf("RequiredString = %q, %v", s, ok)
	}
	inner := o.Object("o")
	if inner == nil {
		t.Fatal("Object = nil")
	}
	if s, ok := inner.String("inner"); !ok || s != "i" {
		t.Errorf("inner String = %q, %v", s, ok)
	}
	inner.Done()
	// Absent members.
	if _, ok := o.String("absent"); ok {
		t.Error("String(absent) ok")
	}
	if o.Object("absent2") != nil {
		t.Error("Object(absent) != nil")
	}
	o.RequiredString("missing")
	o.Done()
	checkProblems(t, ps, "big:outOfRange", "frac:outOfRange", "exp:outOfRange", "missing:required")
}

func TestObjTypeErrorsReportPath(t *testing.T) {
	o, ps := parseRoot(t, `{
		"callbackUrl": 5,
		"intent": {"type": ["x"], "cancelSubscription": {"subscription": true}, "flag": "yes"},
		"user": {},
		"limit": "10",
		"userDetails": {"email": null, "metadata": {"a": "1", "b": 2, "c": null, "d": {}}},
		"appearance": "dark",
		"list": "a,b",
		"obj": []
	}`)
	o.String("callbackUrl")
	intent := o.Object("intent")
	intent.String("type")
	intent.Object("cancelSubscription").String("subscription")
	intent.Bool("flag")
	intent.Done()
	o.String("user")
	o.Int("limit", 0, 200)
	ud := o.Object("userDetails")
	ud.RequiredString("email")
	ud.StringMap("metadata")
	ud.Done()
	o.Object("appearance")
	o.StringArray("list")
	o.StringMap("obj")
	o.Done()
	checkProblems(t, ps,
		"callbackUrl:invalidType",
		"intent.type:invalidType",
		"intent.cancelSubscription.subscription:invalidType",
		"intent.flag:invalidType",
		"user:invalidType",
		"limit:invalidType",
		"userDetails.email:required",
		"userDetails.metadata.b:invalidType",
		"userDetails.metadata.c:invalidType",
		"userDetails.metadata.d:invalidType",
		"appearance:invalidType",
		"list:invalidType",
		"obj:invalidType",
	)
	// Messages name both types.
	for _, p := range *ps {
		if p.Path == "intent.type" && p.Message != "must be a string, not array" {
			t.Errorf("message %q", p.Message)
		}
	}
}

func TestStringArrayBadElements(t *testing.T) {
	o, ps := parseRoot(t, `{"intent":{"checkoutAddon":{"addons":["add_1",2,"add_3",null,{"x":1},["y"],true,"add_8"]}}}`)
	ss, ok := o.Object("intent").Object("checkoutAddon").StringArray("addons")
	if ok {
		t.Error("ok with bad elements")
	}
	if !reflect.DeepEqual(ss, []string{"add_1", "add_3", "add_8"}) {
		t.Errorf("good elements = %v", ss)
	}
	p := "intent.checkoutAddon.addons"
	checkProblems(t, ps, p+"[1]:invalidType", p+"[3]:invalidType", p+"[4]:invalidType", p+"[5]:invalidType", p+"[6]:invalidType")
	want := map[string]string{
		p + "[1]": "must be a string, not number", p + "[3]": "must be a string, not null",
		p + "[4]": "must be a string, not object", p + "[5]": "must be a string, not array",
		p + "[6]": "must be a string, not boolean",
	}
	for _, pr := range *ps {
		if want[pr.Path] != pr.Message {
			t.Errorf("%s: %q, want %q", pr.Path, pr.Message, want[pr.Path])
		}
	}
}

func TestDoneReportsUnknownFields(t *testing.T) {
	o, ps := parseRoot(t, `{
		"callbackUrl": "https://example.com",
		"callbackURL": "https://evil.test",
		"nothing": null,
		"intent": {"type": "cancelSubscription", "cancelSubscrption": {"subscription": "sub_1"}, "cancelSubscription": {"subscription": "sub_1", "extra": 0, "nul": null}},
		"zzz": [],
		"empty": {},
		"f": false
	}`)
	o.String("callbackUrl")
	intent := o.Object("intent")
	intent.String("type")
	payload := intent.Object("cancelSubscription")
	payload.String("subscription")
	payload.Done()
	intent.Done()
	// A member looked at with Has only is not read.
	if !o.Has("f") {
		t.Error("Has(f) = false")
	}
	o.Done()
	checkProblems(t, ps,
		"intent.cancelSubscription.extra:unknownField",
		"intent.cancelSubscrption:unknownField",
		"callbackURL:unknownField",
		"zzz:unknownField",
		"empty:unknownField",
		"f:unknownField",
	)
	// Reading a member marks it even when it is then refused for its type.
	o2, ps2 := parseRoot(t, `{"a":1}`)
	o2.String("a")
	o2.Done()
	checkProblems(t, ps2, "a:invalidType")
}

func TestKindString(t *testing.T) {
	want := []string{"null", "boolean", "number", "string", "array", "object"}
	for k := Null; k <= Object; k++ {
		if k.String() != want[k] {
			t.Errorf("%d.String() = %q", k, k.String())
		}
	}
}

// --- fuzzing ---

// maxDepthOf returns how deeply arrays and objects nest in valid JSON data,
// counting brackets outside strings.
func maxDepthOf(data []byte) int {
	depth, max := 0, 0
	inString, escaped := false, false
	for _, c := range data {
		switch {
		case inString:
			if escaped {
				escaped = false
			} else if c == '\\' {
				escaped = true
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			depth++
			if depth > max {
				max = depth
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	return max
}

// hasDuplicateKey reports whether valid JSON data has an object with the same
// key twice, using encoding/json's tokenizer.
func hasDuplicateKey(t *testing.T, data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // numbers beyond float64 are still valid JSON
	type frame struct {
		object    bool
		keys      map[string]bool
		expectKey bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return false
		}
		if err != nil {
			t.Fatalf("tokenizing valid JSON %q: %v", data, err)
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.expectKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].object {
					stack[len(stack)-1].expectKey = true
				}
				continue
			}
			k := tok.(string)
			if top.keys[k] {
				return true
			}
			top.keys[k] = true
			top.expectKey = false
			continue
		}
		switch d, _ := tok.(json.Delim); d {
		case '{':
			stack = append(stack, &frame{object: true, keys: map[string]bool{}, expectKey: true})
			continue
		case '[':
			stack = append(stack, &frame{})
			continue
		case ']':
			stack = stack[:len(stack)-1]
		}
		// A value ended: the enclosing object expects a key again.
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].expectKey = true
		}
	}
}

// sameTree reports whether v (from Parse) and x (from encoding/json into
// any, with UseNumber) are the same document.
func sameTree(v *Value, x any) bool {
	switch v.Kind {
	case Null:
		return x == nil
	case Bool:
		b, ok := x.(bool)
		return ok && b == v.Bool
	case Number:
		n, ok := x.(json.Number)
		return ok && string(n) == v.Str
	case String:
		s, ok := x.(string)
		return ok && s == v.Str
	case Array:
		a, ok := x.([]any)
		if !ok || len(a) != len(v.Elems) {
			return false
		}
		for i := range a {
			if !sameTree(v.Elems[i], a[i]) {
				return false
			}
		}
		return true
	case Object:
		m, ok := x.(map[string]any)
		if !ok || len(m) != len(v.Members) {
			return false
		}
		for _, mem := range v.Members {
			mx, ok := m[mem.Key]
			if !ok || !sameTree(mem.Value, mx) {
				return false
			}
		}
		return true
	}
	return false
}

// FuzzParse: Parse never panics; what it accepts is valid UTF-8 that
// encoding/json accepts too, decoding to the same document, with no
// duplicate key and at most MaxDepth levels; what it refuses is invalid JSON,
// invalid UTF-8, too deep, or has a duplicate key.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"callbackUrl":"https://example.com","intent":{"type":"cancelSubscription","cancelSubscription":{"subscription":"sub_0U32VAxJ0Z7P8Y40mBAnOP9LPhEr"}},"user":"usr_1"}`,
		`{"a":1,"a":2}`,
		`[1,"a",null,true,false,-1.5e3,{"":{}}]`,
		`"\ud83d\ude00\u00e9"`,
		"\"\xff\"",
		`{} {}`,
		nested(33, "[", "]"),
		`{"a":1,"\u0061":2}`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Parse(data)
		jsonOK := json.Valid(data)
		utf8OK := utf8.Valid(data)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is a %T", err, err)
			}
			if se.Offset < 0 || se.Offset > int64(len(data)) {
				t.Fatalf("offset %d outside %d bytes", se.Offset, len(data))
			}
			if jsonOK && utf8OK && maxDepthOf(data) <= MaxDepth && !hasDuplicateKey(t, data) {
				t.Fatalf("Parse refused valid JSON %q: %v", data, err)
			}
			return
		}
		if !jsonOK {
			t.Fatalf("Parse accepted %q, which encoding/json refuses", data)
		}
		if !utf8OK {
			t.Fatalf("Parse accepted invalid UTF-8 %q", data)
		}
		if d := maxDepthOf(data); d > MaxDepth {
			t.Fatalf("Parse accepted depth %d: %q", d, data)
		}
		if hasDuplicateKey(t, data) {
			t.Fatalf("Parse accepted a duplicate key: %q", data)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var x any
		if err := dec.Decode(&x); err != nil {
			t.Fatalf("encoding/json: %v", err)
		}
		if !sameTree(v, x) {
			t.Fatalf("Parse(%q) = %s, encoding/json reads %#v", data, render(v), x)
		}
	})
}
