// Package seeddiff is how both stores apply a SeedBatch the same way: an
// object that already exists is skipped when its content is the same, and is
// a *connectd.SeedConflictError naming the fields that differ otherwise.
// Each store reads the stored object with its own SQL and compares with
// these.
package seeddiff

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"

	"github.com/connectd/connectd"
)

// Project compares seed project p with the stored one: nil when they are the
// same, else the conflict.
func Project(stored, p *connectd.Project) error {
	return conflict("project", p.ID, projectFields(stored, p))
}

// User compares seed user u with the stored one.
func User(stored, u *connectd.User) error {
	return conflict("user", u.ID, userFields(stored, u))
}

// Resource compares seed record r with the stored record of the same ID,
// which may be of another kind.
func Resource(stored, r *connectd.ResourceRecord) error {
	if stored.Kind != r.Kind {
		return &connectd.SeedConflictError{Kind: string(r.Kind), ID: r.ID, Why: "its kind differs (the ID is a " + string(stored.Kind) + "'s)"}
	}
	return conflict(string(r.Kind), r.ID, resourceFields(stored, r))
}

// projectFields names the fields in which project b differs from a.
func projectFields(a, b *connectd.Project) []string {
	var fields []string
	if a.Name != b.Name {
		fields = append(fields, "name")
	}
	if !sameSettings(a.Settings, b.Settings) {
		fields = append(fields, "settings")
	}
	return fields
}

// sameSettings compares settings as their JSON, an empty allow-list being
// the same as none.
func sameSettings(a, b connectd.ProjectSettings) bool {
	for _, s := range []*connectd.ProjectSettings{&a, &b} {
		if len(s.CallbackAllowList) == 0 {
			s.CallbackAllowList = nil
		}
	}
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && jsonEqual(ja, jb)
}

// userFields names the fields in which user b differs from a. No metadata
// and empty metadata are the same.
func userFields(a, b *connectd.User) []string {
	var fields []string
	if a.Email != b.Email {
		fields = append(fields, "email")
	}
	for _, f := range []struct {
		name string
		a, b *string
	}{{"fullName", a.FullName, b.FullName}, {"birthday", a.Birthday, b.Birthday}, {"preferredLocale", a.PreferredLocale, b.PreferredLocale}} {
		if !sameString(f.a, f.b) {
			fields = append(fields, f.name)
		}
	}
	if (len(a.Metadata) != 0 || len(b.Metadata) != 0) && !reflect.DeepEqual(a.Metadata, b.Metadata) {
		fields = append(fields, "metadata")
	}
	if !reflect.DeepEqual(a.Address, b.Address) {
		fields = append(fields, "address")
	}
	return fields
}

func sameString(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// resourceFields names the fields in which record b differs from a, of the
// same kind: user, parent, status, data (compared as JSON values).
func resourceFields(a, b *connectd.ResourceRecord) []string {
	var fields []string
	if a.UserID != b.UserID {
		fields = append(fields, "user")
	}
	if a.ParentID != b.ParentID {
		fields = append(fields, "parent")
	}
	if a.Status != b.Status {
		fields = append(fields, "status")
	}
	if !jsonEqual(a.Data, b.Data) {
		fields = append(fields, "data")
	}
	return fields
}

// conflict returns the *SeedConflictError of a seed object whose fields
// differ from the stored one, or nil when none does.
func conflict(kind, id string, fields []string) error {
	if len(fields) == 0 {
		return nil
	}
	why := "its " + fields[0] + " differs"
	if n := len(fields); n > 1 {
		why = "its " + strings.Join(fields[:n-1], ", ") + " and " + fields[n-1] + " differ"
	}
	return &connectd.SeedConflictError{Kind: kind, ID: id, Why: why}
}

// jsonEqual reports whether a and b are the same JSON value, key order and
// spacing aside. Numbers compare as written.
func jsonEqual(a, b []byte) bool {
	decode := func(data []byte) (any, bool) {
		d := json.NewDecoder(bytes.NewReader(data))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			return nil, false
		}
		return v, true
	}
	va, okA := decode(a)
	vb, okB := decode(b)
	return okA && okB && reflect.DeepEqual(va, vb)
}
