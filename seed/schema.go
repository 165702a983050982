package seed

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/jsonv"
)

// checkShape walks a parsed JSON value against the Go type it will be
// decoded into and reports, by JSON path, every member no field takes
// (unknown fields), every value of the wrong JSON type, and every number or
// timestamp that would not decode. Null counts as absent everywhere. After
// a clean walk, encoding/json decodes the same bytes without surprises.
func checkShape(path string, v *jsonv.Value, t reflect.Type, ps *problems) {
	if v == nil || v.Kind == jsonv.Null {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case timeType:
		if v.Kind != jsonv.String {
			ps.add(path, "invalidType", "must be a timestamp string such as \"2026-01-01T00:00:00Z\", not %s", v.Kind)
		} else if _, err := time.Parse(time.RFC3339, v.Str); err != nil {
			ps.add(path, "invalidTime", "must be an RFC 3339 timestamp such as \"2026-01-01T00:00:00Z\"")
		}
		return
	case durationType:
		if v.Kind != jsonv.String {
			ps.add(path, "invalidType", "must be a duration string such as \"15m\", not %s", v.Kind)
		} else if _, err := time.ParseDuration(v.Str); err != nil {
			ps.add(path, "invalidDuration", "must be a duration such as \"15m\"")
		}
		return
	}
	switch t.Kind() {
	case reflect.String:
		want(path, v, jsonv.String, ps)
	case reflect.Bool:
		want(path, v, jsonv.Bool, ps)
	case reflect.Int, reflect.Int64, reflect.Int32:
		if want(path, v, jsonv.Number, ps) {
			if _, err := strconv.ParseInt(v.Str, 10, t.Bits()); err != nil {
				ps.add(path, "invalidNumber", "must be an integer that fits in %d bits", t.Bits())
			}
		}
	case reflect.Slice:
		if want(path, v, jsonv.Array, ps) {
			for i, e := range v.Elems {
				if e.Kind == jsonv.Null {
					ps.add(fmt.Sprintf("%s[%d]", path, i), "invalidType", "must not be null")
					continue
				}
				checkShape(fmt.Sprintf("%s[%d]", path, i), e, t.Elem(), ps)
			}
		}
	case reflect.Map:
		if want(path, v, jsonv.Object, ps) {
			for _, m := range v.Members {
				checkShape(join(path, m.Key), m.Value, t.Elem(), ps)
			}
		}
	case reflect.Struct:
		if !want(path, v, jsonv.Object, ps) {
			return
		}
		fields := jsonFields(t)
		for _, m := range v.Members {
			ft, ok := fields[m.Key]
			if !ok {
				if m.Value.Kind != jsonv.Null {
					ps.add(join(path, m.Key), "unknownField", "is not a known field")
				}
				continue
			}
			checkShape(join(path, m.Key), m.Value, ft, ps)
		}
	default:
		panic(fmt.Sprintf("seed: checkShape: unsupported type %s", t))
	}
}

var (
	timeType     = reflect.TypeFor[time.Time]()
	durationType = reflect.TypeFor[connectd.Duration]()
)

func want(path string, v *jsonv.Value, k jsonv.Kind, ps *problems) bool {
	if v.Kind != k {
		ps.add(path, "invalidType", "must be a %s, not %s", k, v.Kind)
		return false
	}
	return true
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// jsonFields returns the JSON member names of struct t and their types, as
// encoding/json sees them: tagged names, embedded structs promoted, "-"
// skipped, shallower fields winning.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	depth := map[string]int{}
	var walk func(t reflect.Type, d int)
	walk = func(t reflect.Type, d int) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
				walk(f.Type, d+1)
				continue
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if old, ok := depth[name]; ok && old <= d {
				continue
			}
			out[name], depth[name] = f.Type, d
		}
	}
	walk(t, 0)
	return out
}
