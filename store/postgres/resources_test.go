package postgres_test

import (
	"testing"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/store/postgres/pgtest"
)

// The resource behaviour common to all stores is storetest's; this test
// covers what is proper to PostgreSQL: the json column.

// TestResourceDataKept pins the choice of a json (not jsonb) column: Data
// comes back byte for byte, key order, spacing, number spelling and \u0000
// included.
func TestResourceDataKept(t *testing.T) {
	s := pgtest.New(t)
	at := time.Date(2030, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	p := "p-" + connectd.NewID("t")
	if err := s.CreateProject(t.Context(), &connectd.Project{ID: p, Name: "T", Settings: connectd.DefaultProjectSettings(), CreatedAt: at}); err != nil {
		t.Fatal(err)
	}
	rec := func(data string) *connectd.ResourceRecord {
		return &connectd.ResourceRecord{Kind: connectd.KindPlan, ProjectID: p, ID: connectd.NewID(connectd.KindPlan.Prefix()),
			Status: "active", Data: []byte(data), CreatedAt: at, UpdatedAt: at}
	}
	data := `{ "z": 1e2, "a": [1.50, "\u0000\u00e9"], "z": 2 }`
	r := rec(data)
	if err := s.CreateResource(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetResource(t.Context(), p, r.Kind, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Data) != data {
		t.Fatalf("Data came back as %s, want %s", got.Data, data)
	}
	if err := s.CreateResource(t.Context(), rec(`{"a":`)); err == nil {
		t.Fatal("CreateResource accepted data that is not JSON")
	}
}
