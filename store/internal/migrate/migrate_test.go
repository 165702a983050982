package migrate

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoad(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	for _, c := range []struct {
		name    string
		files   fstest.MapFS
		want    []string // names, in order
		wantErr string
	}{
		{"ordered by number, not by name", fstest.MapFS{
			"migrations/10_late.sql": file("c"), "migrations/0002_b.sql": file("b"), "migrations/0001_a.sql": file("a"),
			"migrations/notes.txt": file("ignored"),
		}, []string{"0001_a.sql", "0002_b.sql", "10_late.sql"}, ""},
		{"none", fstest.MapFS{}, nil, ""},
		{"no number", fstest.MapFS{"migrations/init.sql": file("")}, nil, "name must start with a positive number"},
		{"zero", fstest.MapFS{"migrations/0000_init.sql": file("")}, nil, "name must start with a positive number"},
		{"same number twice", fstest.MapFS{"migrations/0001_a.sql": file(""), "migrations/1_b.sql": file("")}, nil, "share version 1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ms, err := Load(c.files)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range ms {
				got = append(got, m.Name)
				if m.SQL == "" || m.Version <= 0 {
					t.Errorf("%s: version %d, sql %q", m.Name, m.Version, m.SQL)
				}
			}
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}
