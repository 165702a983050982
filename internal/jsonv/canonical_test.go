package jsonv

import "testing"

func TestAppendCanonical(t *testing.T) {
	for _, c := range []struct{ a, b string }{
		{`{"b":1,"a":[true,null,"x"]}`, "{ \"a\" : [ true , null , \"x\" ] ,\n\t\"b\" : 1 }"},
		{`{"u":"https://e.com/?a=1&b=<2>"}`, `{"u":"https:\/\/e.com\/?a=1\u0026b=\u003c2\u003e"}`},
		{`{"s":"é\n"}`, `{"s":"\u00e9\u000a"}`},
		{`{"o":{"z":{},"y":[]}}`, `{"o":{"y":[],"z":{}}}`},
	} {
		va, err := Parse([]byte(c.a))
		if err != nil {
			t.Fatal(err)
		}
		vb, err := Parse([]byte(c.b))
		if err != nil {
			t.Fatal(err)
		}
		if x, y := string(AppendCanonical(nil, va)), string(AppendCanonical(nil, vb)); x != y {
			t.Errorf("%s -> %s\n%s -> %s", c.a, x, c.b, y)
		}
	}
	for _, c := range []struct{ a, b string }{
		{`{"n":1}`, `{"n":1.0}`},
		{`{"n":100}`, `{"n":1e2}`},
		{`{"a":"1"}`, `{"a":1}`},
		{`{"a":null}`, `{}`},
		{`[1,2]`, `[2,1]`},
	} {
		va, _ := Parse([]byte(c.a))
		vb, _ := Parse([]byte(c.b))
		if string(AppendCanonical(nil, va)) == string(AppendCanonical(nil, vb)) {
			t.Errorf("%s and %s encode the same", c.a, c.b)
		}
	}
}
