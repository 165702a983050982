// Package jsonv parses request bodies strictly into a tree and reads typed
// fields out of it, collecting every problem with its JSON path.
//
// It exists because encoding/json silently accepts what a payments-grade API
// must refuse: duplicate keys (the last one wins), invalid UTF-8 (replaced),
// and unknown fields (ignored). Parse refuses the first two; Object.Done
// reports the third.
package jsonv

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Kind is the JSON type of a Value.
type Kind uint8

const (
	Null Kind = iota
	Bool
	Number
	String
	Array
	Object
)

func (k Kind) String() string {
	return [...]string{"null", "boolean", "number", "string", "array", "object"}[k]
}

// Value is one parsed JSON value.
type Value struct {
	Kind    Kind
	Bool    bool
	Str     string // String, and the literal of a Number
	Elems   []*Value
	Members []Member // in document order
}

// Member is one key of an object.
type Member struct {
	Key   string
	Value *Value
}

// MaxDepth is how deeply arrays and objects may nest.
const MaxDepth = 32

// SyntaxError says why a body is not acceptable JSON.
type SyntaxError struct {
	Offset int64
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d: %s", e.Offset, e.Msg)
}

// Parse parses exactly one JSON value from data.
func Parse(data []byte) (*Value, error) {
	if !utf8.Valid(data) {
		return nil, &SyntaxError{Offset: int64(invalidUTF8Offset(data)), Msg: "the body is not valid UTF-8"}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	p := parser{dec: dec}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &SyntaxError{Offset: dec.InputOffset(), Msg: "unexpected data after the JSON value"}
	}
	return v, nil
}

func invalidUTF8Offset(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

type parser struct {
	dec *json.Decoder
}

func (p *parser) fail(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &SyntaxError{Offset: se.Offset, Msg: se.Error()}
	}
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return &SyntaxError{Offset: p.dec.InputOffset(), Msg: "unexpected end of input"}
	}
	return &SyntaxError{Offset: p.dec.InputOffset(), Msg: err.Error()}
}

func (p *parser) value(depth int) (*Value, error) {
	tok, err := p.dec.Token()
	if err != nil {
		return nil, p.fail(err)
	}
	return p.fromToken(tok, depth)
}

func (p *parser) fromToken(tok json.Token, depth int) (*Value, error) {
	switch t := tok.(type) {
	case nil:
		return &Value{Kind: Null}, nil
	case bool:
		return &Value{Kind: Bool, Bool: t}, nil
	case json.Number:
		return &Value{Kind: Number, Str: string(t)}, nil
	case string:
		return &Value{Kind: String, Str: t}, nil
	case json.Delim:
		if depth >= MaxDepth {
			return nil, &SyntaxError{Offset: p.dec.InputOffset(), Msg: fmt.Sprintf("nested more than %d levels deep", MaxDepth)}
		}
		switch t {
		case '{':
			v := &Value{Kind: Object}
			seen := make(map[string]struct{})
			for p.dec.More() {
				kt, err := p.dec.Token()
				if err != nil {
					return nil, p.fail(err)
				}
				key, ok := kt.(string)
				if !ok {
					return nil, &SyntaxError{Offset: p.dec.InputOffset(), Msg: "object key is not a string"}
				}
				if _, dup := seen[key]; dup {
					return nil, &SyntaxError{Offset: p.dec.InputOffset(), Msg: fmt.Sprintf("duplicate key %q", keyForMessage(key))}
				}
				seen[key] = struct{}{}
				mv, err := p.value(depth + 1)
				if err != nil {
					return nil, err
				}
				v.Members = append(v.Members, Member{Key: key, Value: mv})
			}
			if _, err := p.dec.Token(); err != nil { // '}'
				return nil, p.fail(err)
			}
			return v, nil
		case '[':
			v := &Value{Kind: Array}
			for p.dec.More() {
				ev, err := p.value(depth + 1)
				if err != nil {
					return nil, err
				}
				v.Elems = append(v.Elems, ev)
			}
			if _, err := p.dec.Token(); err != nil { // ']'
				return nil, p.fail(err)
			}
			return v, nil
		}
	}
	return nil, &SyntaxError{Offset: p.dec.InputOffset(), Msg: fmt.Sprintf("unexpected token %v", tok)}
}

// keyForMessage returns an object key for an error message: as is when it
// looks like a field name, else "…", since a client may send anything as a
// key, a secret included, and error messages end up in logs and bodies.
// Tokens and keys are 43 characters and more: a field-like name of at most
// 40 is never one.
func keyForMessage(key string) string {
	if len(key) > 40 {
		return "…"
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return "…"
		}
	}
	return key
}

// Problem is one field problem found while reading a tree.
type Problem struct {
	Path, Code, Message string
}

// Problems collects field problems.
type Problems []Problem

// Add records a problem.
func (ps *Problems) Add(path, code, format string, args ...any) {
	*ps = append(*ps, Problem{Path: path, Code: code, Message: fmt.Sprintf(format, args...)})
}

// Obj reads the members of one object. Every member read is marked; Done
// reports the members nobody read (unknown fields).
type Obj struct {
	path string
	v    *Value
	read map[string]bool
	ps   *Problems
}

// Root returns the reader of a body's top-level value, which must be an
// object: a body of another type is reported and an empty reader returned.
func Root(v *Value, ps *Problems) *Obj {
	if v.Kind != Object {
		ps.Add("", "invalidType", "the body must be a JSON object, not %s", v.Kind)
		return &Obj{v: &Value{Kind: Object}, ps: ps, read: map[string]bool{}}
	}
	return &Obj{v: v, ps: ps, read: make(map[string]bool, len(v.Members))}
}

// Path returns the JSON path of a member of o.
func (o *Obj) Path(name string) string {
	if o.path == "" {
		return name
	}
	return o.path + "." + name
}

// Get returns the member name, or nil when it is absent or null: null counts
// as absent everywhere.
func (o *Obj) Get(name string) *Value {
	o.read[name] = true
	for _, m := range o.v.Members {
		if m.Key == name {
			if m.Value.Kind == Null {
				return nil
			}
			return m.Value
		}
	}
	return nil
}

// Has reports whether member name is present and not null, without marking
// it read.
func (o *Obj) Has(name string) bool {
	for _, m := range o.v.Members {
		if m.Key == name && m.Value.Kind != Null {
			return true
		}
	}
	return false
}

func (o *Obj) typeErr(name string, want Kind, got *Value) {
	o.ps.Add(o.Path(name), "invalidType", "must be a %s, not %s", want, got.Kind)
}

// String reads a string member. ok is false when it is absent or mistyped
// (the latter is reported).
func (o *Obj) String(name string) (s string, ok bool) {
	v := o.Get(name)
	if v == nil {
		return "", false
	}
	if v.Kind != String {
		o.typeErr(name, String, v)
		return "", false
	}
	return v.Str, true
}

// RequiredString is String, reporting absence as "required".
func (o *Obj) RequiredString(name string) (string, bool) {
	s, ok := o.String(name)
	if !ok && !o.Has(name) {
		o.ps.Add(o.Path(name), "required", "is required")
	}
	return s, ok
}

// Bool reads a boolean member.
func (o *Obj) Bool(name string) (b, ok bool) {
	v := o.Get(name)
	if v == nil {
		return false, false
	}
	if v.Kind != Bool {
		o.typeErr(name, Bool, v)
		return false, false
	}
	return v.Bool, true
}

// Int reads an integer member within [min, max].
func (o *Obj) Int(name string, min, max int64) (n int64, ok bool) {
	v := o.Get(name)
	if v == nil {
		return 0, false
	}
	if v.Kind != Number {
		o.typeErr(name, Number, v)
		return 0, false
	}
	n, err := strconv.ParseInt(v.Str, 10, 64)
	if err != nil || n < min || n > max {
		o.ps.Add(o.Path(name), "outOfRange", "must be an integer from %d to %d", min, max)
		return 0, false
	}
	return n, true
}

// Object reads an object member. It returns nil when absent or mistyped.
func (o *Obj) Object(name string) *Obj {
	v := o.Get(name)
	if v == nil {
		return nil
	}
	if v.Kind != Object {
		o.typeErr(name, Object, v)
		return nil
	}
	return &Obj{path: o.Path(name), v: v, read: make(map[string]bool, len(v.Members)), ps: o.ps}
}

// StringArray reads an array of strings. Elements of another type are
// reported by index. ok is false when absent or mistyped.
func (o *Obj) StringArray(name string) (ss []string, ok bool) {
	v := o.Get(name)
	if v == nil {
		return nil, false
	}
	if v.Kind != Array {
		o.typeErr(name, Array, v)
		return nil, false
	}
	ok = true
	ss = make([]string, 0, len(v.Elems))
	for i, e := range v.Elems {
		if e.Kind != String {
			o.ps.Add(fmt.Sprintf("%s[%d]", o.Path(name), i), "invalidType", "must be a string, not %s", e.Kind)
			ok = false
			continue
		}
		ss = append(ss, e.Str)
	}
	return ss, ok
}

// StringMap reads an object whose values are all strings.
func (o *Obj) StringMap(name string) (m map[string]string, ok bool) {
	v := o.Get(name)
	if v == nil {
		return nil, false
	}
	if v.Kind != Object {
		o.typeErr(name, Object, v)
		return nil, false
	}
	ok = true
	m = make(map[string]string, len(v.Members))
	for _, mem := range v.Members {
		if mem.Value.Kind != String {
			o.ps.Add(o.Path(name)+"."+mem.Key, "invalidType", "must be a string, not %s", mem.Value.Kind)
			ok = false
			continue
		}
		m[mem.Key] = mem.Value.Str
	}
	return m, ok
}

// Done reports every member with a non-null value that was not read: an
// unknown field, named by its JSON path.
func (o *Obj) Done() {
	for _, m := range o.v.Members {
		if !o.read[m.Key] && m.Value.Kind != Null {
			o.ps.Add(o.Path(m.Key), "unknownField", "is not a known field")
		}
	}
}

// AppendCanonical appends a canonical encoding of v to b: object members
// sorted by key (bytewise), no whitespace, strings re-escaped the one way
// encoding/json escapes them (HTML escaping off), numbers as their literal
// text (1.0 and 1 stay different: they are different requests to a
// client that means them). Two bodies that parse to the same Value encode
// the same, whatever their key order or whitespace (issue 10.6).
func AppendCanonical(b []byte, v *Value) []byte {
	switch v.Kind {
	case Null:
		return append(b, "null"...)
	case Bool:
		if v.Bool {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case Number:
		return append(b, v.Str...)
	case String:
		return appendString(b, v.Str)
	case Array:
		b = append(b, '[')
		for i, e := range v.Elems {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendCanonical(b, e)
		}
		return append(b, ']')
	default: // Object
		ms := slices.Clone(v.Members)
		slices.SortFunc(ms, func(x, y Member) int { return strings.Compare(x.Key, y.Key) })
		b = append(b, '{')
		for i, m := range ms {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, m.Key)
			b = append(b, ':')
			b = AppendCanonical(b, m.Value)
		}
		return append(b, '}')
	}
}

func appendString(b []byte, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}
