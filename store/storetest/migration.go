package storetest

import (
	"strings"
	"testing"

	"github.com/connectd/connectd"
)

// UniqueKeyMigration checks the migration that added resources.unique_key
// (issue 11.1/11.2; SQLite 0004, PostgreSQL 0005) on a database written
// before it, which may hold what the new index refuses: it fails, naming
// every duplicate, and changes nothing; once an operator resolved them it
// applies, and a SIM on a live subscription becomes assigned.
//
// s is a migrated store; exec runs one statement of the backend's SQL;
// migrate migrates s again; version is the migration's number; at is a
// literal of the created_at/updated_at columns.
func UniqueKeyMigration(t *testing.T, s connectd.Store, exec func(query string) error, migrate func() error, version, at string) {
	ctx := t.Context()
	p := mkProject(t, s).ID
	run := func(queries ...string) {
		t.Helper()
		for _, q := range queries {
			if err := exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	// The database as it was before the migration.
	run(`DROP INDEX resources_unique_key`, `ALTER TABLE resources DROP COLUMN unique_key`,
		`DELETE FROM schema_migrations WHERE version = `+version)
	row := func(kind, id, status, data string) string {
		return `INSERT INTO resources (project_id, id, kind, status, data, version, created_at, updated_at) VALUES ('` +
			p + `', '` + id + `', '` + kind + `', '` + status + `', '` + data + `', 1, ` + at + `, ` + at + `)`
	}
	run(row("sim", "sim_1", "available", `{"iccid":"8901","status":"available"}`),
		row("sim", "sim_2", "available", `{"iccid":"8901","status":"available"}`),
		row("sim", "sim_3", "available", `{"iccid":"8903","status":"available"}`),
		row("subscription", "sub_a", "active", `{"sim":"sim_3","status":"active"}`),
		row("subscription", "sub_b", "active", `{"sim":"sim_3","status":"active"}`),
		row("subscription", "sub_c", "ended", `{"sim":"sim_3","status":"ended"}`))

	err := migrate()
	if err == nil {
		t.Fatal("the migration applied over duplicates")
	}
	for _, want := range []string{"refused", "ICCID 8901 is on SIMs sim_1, sim_2", "SIM sim_3 is on subscriptions sub_a, sub_b"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the migration's error does not say %q: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), "sub_c") {
		t.Errorf("the migration's error names the ended subscription: %v", err)
	}

	// The operator resolves them: one subscription ends, one SIM gets its
	// right ICCID.
	run(`UPDATE resources SET status = 'ended' WHERE id = 'sub_b'`,
		`UPDATE resources SET data = '{"iccid":"8902","status":"available"}' WHERE id = 'sim_2'`)
	is(t, "the migration once duplicates are resolved", migrate(), nil)
	for id, want := range map[string]struct{ kind, key, status string }{
		"sim_1": {"sim", "8901", "available"}, "sim_2": {"sim", "8902", "available"}, "sim_3": {"sim", "8903", "assigned"},
		"sub_a": {"subscription", "sim_3", "active"}, "sub_b": {"subscription", "", "ended"}, "sub_c": {"subscription", "", "ended"},
	} {
		r, err := s.(connectd.ResourceStore).GetResource(ctx, p, connectd.ResourceKind(want.kind), id)
		is(t, "GetResource "+id, err, nil)
		if r.UniqueKey != want.key || r.Status != want.status {
			t.Errorf("%s after the migration: key %q status %q, want %q %q", id, r.UniqueKey, r.Status, want.key, want.status)
		}
		if id == "sim_3" && !strings.Contains(string(r.Data), `"assigned"`) {
			t.Errorf("sim_3's data still says %s", r.Data)
		}
	}
	taker := newRecord(p, connectd.KindSubscription, withKey("sim_3"))
	keyTaken(t, "a second holder after the migration", s.(connectd.ResourceStore).CreateResource(ctx, taker), taker)
}
