package connectd

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
)

// What stores need to apply a SeedBatch the same way: an object that
// already exists is skipped when its content is the same, and is a
// *SeedConflictError naming the fields that differ otherwise. Each store
// reads the stored object with its own SQL and compares with these.

// DiffProject names the fields in which project b differs from a.
func DiffProject(a, b *Project) []string {
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
func sameSettings(a, b ProjectSettings) bool {
	for _, s := range []*ProjectSettings{&a, &b} {
		if len(s.CallbackAllowList) == 0 {
			s.CallbackAllowList = nil
		}
	}
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && JSONEqual(ja, jb)
}

// DiffUser names the fields in which user b differs from a. No metadata
// and empty metadata are the same.
func DiffUser(a, b *User) []string {
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

// DiffResource names the fields in which record b differs from a, of the
// same kind: user, parent, status, data (compared as JSON values).
func DiffResource(a, b *ResourceRecord) []string {
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
	if !JSONEqual(a.Data, b.Data) {
		fields = append(fields, "data")
	}
	return fields
}

// NewSeedConflict returns the *SeedConflictError of a seed object whose
// fields differ from the stored one, or nil when none does.
func NewSeedConflict(kind, id string, fields []string) error {
	if len(fields) == 0 {
		return nil
	}
	why := "its " + fields[0] + " differs"
	if n := len(fields); n > 1 {
		why = "its " + strings.Join(fields[:n-1], ", ") + " and " + fields[n-1] + " differ"
	}
	return &SeedConflictError{Kind: kind, ID: id, Why: why}
}

// SeedProjectConflict compares seed project p with the stored one.
func SeedProjectConflict(stored, p *Project) error {
	return NewSeedConflict("project", p.ID, DiffProject(stored, p))
}

// SeedUserConflict compares seed user u with the stored one.
func SeedUserConflict(stored, u *User) error {
	return NewSeedConflict("user", u.ID, DiffUser(stored, u))
}

// SeedResourceConflict compares seed record r with the stored record of
// the same ID, which may be of another kind.
func SeedResourceConflict(stored, r *ResourceRecord) error {
	if stored.Kind != r.Kind {
		return &SeedConflictError{Kind: string(r.Kind), ID: r.ID, Why: "its kind differs (the ID is a " + string(stored.Kind) + "'s)"}
	}
	return NewSeedConflict(string(r.Kind), r.ID, DiffResource(stored, r))
}

// JSONEqual reports whether a and b are the same JSON value, key order and
// spacing aside. Numbers compare as written.
func JSONEqual(a, b []byte) bool {
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
