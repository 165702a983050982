// Package migrate loads the numbered SQL migrations a store embeds. Each
// backend keeps its own .sql files and its own way of applying them (SQLite:
// one IMMEDIATE transaction per file; PostgreSQL: one transaction under an
// advisory lock); reading and ordering the files is the same for both.
package migrate

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migration is one numbered file, such as migrations/0001_init.sql.
type Migration struct {
	Version int    // 1 for 0001_init.sql
	Name    string // the file's base name
	SQL     string
}

// Load returns the migrations/*.sql files of fsys in the order of their
// versions. Their names must start with a distinct positive number followed
// by "_".
func Load(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []Migration
	seen := map[int]string{}
	for _, p := range names {
		name := path.Base(p)
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number and _", name)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share version %d", other, name, v)
		}
		seen[v] = name
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}
