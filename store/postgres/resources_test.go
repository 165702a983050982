package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/platform"
	"github.com/connectd/connectd/store/postgres"
	"github.com/connectd/connectd/store/postgres/pgtest"
)

// The resource behaviour common to all stores is storetest's; these tests
// cover what is proper to PostgreSQL: the pipelined WriteResources
// transaction, lock ordering, concurrent seed loads, and the json column.

func mkProject(t *testing.T, s *postgres.Store) string {
	t.Helper()
	id := "p-" + connectd.NewID("t")
	if err := s.CreateProject(t.Context(), &connectd.Project{ID: id, Name: "T", Settings: connectd.DefaultProjectSettings(), CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	return id
}

func newRec(projectID string, kind connectd.ResourceKind, data string) *connectd.ResourceRecord {
	return &connectd.ResourceRecord{Kind: kind, ProjectID: projectID, ID: connectd.NewID(kind.Prefix()),
		Status: "active", Data: []byte(data), CreatedAt: t0, UpdatedAt: t0}
}

func mkRec(t *testing.T, s *postgres.Store, projectID string, kind connectd.ResourceKind, data string) *connectd.ResourceRecord {
	t.Helper()
	r := newRec(projectID, kind, data)
	if err := s.CreateResource(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	return r
}

// countRows counts the rows of table, whatever their project.
func countRows(t *testing.T, s *postgres.Store, table string) int {
	t.Helper()
	var n int
	if err := s.Pool().QueryRow(t.Context(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestWriteResourcesAtomic checks that a failure anywhere in a batch undoes
// the writes before it, also when statements after the failing one fail too
// (the batch is pipelined: they are sent regardless).
func TestWriteResourcesAtomic(t *testing.T) {
	s := pgtest.New(t)
	ctx := t.Context()
	p := mkProject(t, s)
	a := mkRec(t, s, p, connectd.KindPlan, `{"n":0}`)
	b := mkRec(t, s, p, connectd.KindSIM, `{"n":0}`)
	rows := countRows(t, s, "resources")

	okA := *a
	okA.Data = []byte(`{"n":1}`)
	staleB := *b
	staleB.Version = 7
	missing := newRec(p, connectd.KindDevice, `{}`)
	missing.Version = 1
	dup := newRec(p, connectd.KindAddon, `{}`)
	dup.ID = a.ID
	fresh := func() *connectd.ResourceRecord { return newRec(p, connectd.KindPayment, `{}`) }

	cases := []struct {
		name   string
		writes []connectd.ResourceWrite
		want   error
	}{
		{"create, update, stale update", []connectd.ResourceWrite{{Create: true, Record: fresh()}, {Record: &okA}, {Record: &staleB}}, connectd.ErrConflict},
		{"stale update, then a taken ID", []connectd.ResourceWrite{{Record: &okA}, {Record: &staleB}, {Create: true, Record: dup}}, connectd.ErrConflict},
		{"missing update, then a stale one", []connectd.ResourceWrite{{Create: true, Record: fresh()}, {Record: missing}, {Record: &staleB}}, connectd.ErrNotFound},
		{"taken ID, then a missing update", []connectd.ResourceWrite{{Record: &okA}, {Create: true, Record: dup}, {Record: missing}}, connectd.ErrConflict},
		{"unknown project", []connectd.ResourceWrite{{Record: &okA}, {Create: true, Record: fresh()}}, connectd.ErrNotFound},
	}
	for _, c := range cases {
		project := p
		if c.name == "unknown project" {
			project = "p-nowhere"
			for _, w := range c.writes {
				w.Record.ProjectID = ""
			}
		}
		err := s.WriteResources(ctx, project, c.writes)
		if !errors.Is(err, c.want) {
			t.Fatalf("%s: got %v, want %v", c.name, err, c.want)
		}
		for _, w := range c.writes {
			w.Record.ProjectID = p
		}
		if okA.Version != 1 {
			t.Fatalf("%s: a record of the failed batch got version %d", c.name, okA.Version)
		}
		if n := countRows(t, s, "resources"); n != rows {
			t.Fatalf("%s: %d rows after the failed batch, want %d", c.name, n, rows)
		}
		got, err := s.GetResource(ctx, p, a.Kind, a.ID)
		if err != nil || got.Version != 1 || string(got.Data) != `{"n":0}` {
			t.Fatalf("%s: the update of the failed batch stayed: %+v, %v", c.name, got, err)
		}
	}

	// The pool's connections are left usable (no transaction left open).
	for range 20 {
		if _, err := s.GetResource(ctx, p, a.Kind, a.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.WriteResources(ctx, p, []connectd.ResourceWrite{{Record: &okA}, {Record: b}}); err != nil {
		t.Fatal(err)
	}
	if okA.Version != 2 || b.Version != 2 {
		t.Fatalf("versions after the batch: %d, %d; want 2, 2", okA.Version, b.Version)
	}
}

// TestWriteResourcesCrossedOrder races batches updating the same two
// resources in opposite orders: they queue on the rows (locked in ID order)
// rather than deadlock, so every failure is an ordinary ErrConflict.
func TestWriteResourcesCrossedOrder(t *testing.T) {
	s := pgtest.New(t)
	p := mkProject(t, s)
	x := mkRec(t, s, p, connectd.KindSubscription, `{"n":0}`)
	y := mkRec(t, s, p, connectd.KindPayment, `{"n":0}`)
	const workers, rounds = 8, 15
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	wins := make(chan struct{}, workers*rounds)
	for w := range workers {
		wg.Go(func() {
			for range rounds {
				cx, err := s.GetResource(context.Background(), p, x.Kind, x.ID)
				if err != nil {
					errs <- err
					return
				}
				cy, err := s.GetResource(context.Background(), p, y.Kind, y.ID)
				if err != nil {
					errs <- err
					return
				}
				cx.Data, cy.Data = fmt.Appendf(nil, `{"w":%d}`, w), fmt.Appendf(nil, `{"w":%d}`, w)
				batch := []connectd.ResourceWrite{{Record: cx}, {Record: cy}}
				if w%2 == 1 {
					batch[0], batch[1] = batch[1], batch[0]
				}
				switch err := s.WriteResources(context.Background(), p, batch); {
				case err == nil:
					wins <- struct{}{}
				case !errors.Is(err, connectd.ErrConflict):
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("WriteResources: %v", err)
	}
	// Every win bumped both versions together.
	gx, _ := s.GetResource(t.Context(), p, x.Kind, x.ID)
	gy, _ := s.GetResource(t.Context(), p, y.Kind, y.ID)
	if want := int64(1 + len(wins)); gx.Version != want || gy.Version != want {
		t.Fatalf("versions %d and %d after %d winning batches, want %d", gx.Version, gy.Version, len(wins), want)
	}
	if !bytes.Equal(gx.Data, gy.Data) {
		t.Fatalf("the resources hold the data of different batches: %s, %s", gx.Data, gy.Data)
	}
}

// TestApplySeedConcurrent loads one batch from several connections at once,
// as several instances starting together would: all succeed, and each
// object is created once.
func TestApplySeedConcurrent(t *testing.T) {
	s := pgtest.New(t)
	p := &connectd.Project{ID: "p-seed", Name: "Seed", Settings: connectd.DefaultProjectSettings(), CreatedAt: t0}
	u := &connectd.User{ID: connectd.NewID(connectd.PrefixUser), ProjectID: p.ID, Email: "a@example.com", CreatedAt: t0}
	b := connectd.SeedBatch{Projects: []*connectd.Project{p}, Users: []*connectd.User{u}}
	for range 20 {
		b.Resources = append(b.Resources, newRec(p.ID, connectd.KindSIM, `{"type":"eSIM"}`))
	}
	total := 2 + len(b.Resources)
	const loaders = 8
	var wg sync.WaitGroup
	created := make([]int, loaders)
	errs := make([]error, loaders)
	for i := range loaders {
		wg.Go(func() { created[i], errs[i] = s.ApplySeed(context.Background(), b) })
	}
	wg.Wait()
	sum := 0
	for i := range loaders {
		if errs[i] != nil {
			t.Fatalf("loader %d: %v", i, errs[i])
		}
		sum += created[i]
	}
	if sum != total {
		t.Fatalf("the loaders created %d objects in all, want %d", sum, total)
	}
	if n := countRows(t, s, "resources"); n != len(b.Resources) {
		t.Fatalf("%d resources, want %d", n, len(b.Resources))
	}
}

// TestApplySeedRollback checks with the tables themselves that a conflict
// or an error late in a batch leaves nothing of it, and that the store
// keeps working afterwards.
func TestApplySeedRollback(t *testing.T) {
	s := pgtest.New(t)
	ctx := t.Context()
	p := mkProject(t, s)
	old := mkRec(t, s, p, connectd.KindPlan, `{"name":"Old"}`)
	counts := func() [3]int {
		return [3]int{countRows(t, s, "projects"), countRows(t, s, "users"), countRows(t, s, "resources")}
	}
	before := counts()
	batch := func(last *connectd.ResourceRecord) connectd.SeedBatch {
		np := &connectd.Project{ID: "p-new-" + connectd.NewID("x"), Name: "New", Settings: connectd.DefaultProjectSettings(), CreatedAt: t0}
		nu := &connectd.User{ID: connectd.NewID(connectd.PrefixUser), ProjectID: np.ID, Email: "n@example.com", CreatedAt: t0}
		return connectd.SeedBatch{Projects: []*connectd.Project{np}, Users: []*connectd.User{nu},
			Resources: []*connectd.ResourceRecord{newRec(np.ID, connectd.KindPlan, `{}`), newRec(p, connectd.KindSIM, `{}`), last}}
	}

	changed := *old
	changed.Data = []byte(`{"name":"New"}`)
	n, err := s.ApplySeed(ctx, batch(&changed))
	var sc *connectd.SeedConflictError
	if !errors.As(err, &sc) || sc.ID != old.ID || sc.Why != "its data differs" || n != 0 {
		t.Fatalf("ApplySeed of a changed plan: %d, %v", n, err)
	}
	if got := counts(); got != before {
		t.Fatalf("rows after the conflict: %v, want %v", got, before)
	}

	lost := newRec("p-nowhere", connectd.KindPlan, `{}`)
	if n, err := s.ApplySeed(ctx, batch(lost)); !errors.Is(err, connectd.ErrNotFound) || n != 0 {
		t.Fatalf("ApplySeed with a resource of an unknown project: %d, %v", n, err)
	}
	if got := counts(); got != before {
		t.Fatalf("rows after the failed load: %v, want %v", got, before)
	}

	same := *old
	same.Data = []byte(` { "name" : "Old" } `)
	same.CreatedAt = t0.Add(time.Hour)
	if n, err := s.ApplySeed(ctx, batch(&same)); err != nil || n != 4 {
		t.Fatalf("ApplySeed after the failures: %d, %v; want 4 created", n, err)
	}
}

// TestResourceDataKept pins the choice of a json (not jsonb) column: Data
// comes back byte for byte, key order, spacing, number spelling and \u0000
// included.
func TestResourceDataKept(t *testing.T) {
	s := pgtest.New(t)
	p := mkProject(t, s)
	data := `{ "z": 1e2, "a": [1.50, "\u0000\u00e9"], "z": 2 }`
	r := mkRec(t, s, p, connectd.KindPlan, data)
	got, err := s.GetResource(t.Context(), p, r.Kind, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Data) != data {
		t.Fatalf("Data came back as %s, want %s", got.Data, data)
	}
	bad := newRec(p, connectd.KindPlan, `{"a":`)
	if err := s.CreateResource(t.Context(), bad); err == nil {
		t.Fatal("CreateResource accepted data that is not JSON")
	}
}

// TestPlatformOnPostgres runs the typed layer on PostgreSQL: package
// platform's own tests run on SQLite only.
func TestPlatformOnPostgres(t *testing.T) {
	s := pgtest.New(t)
	ctx := t.Context()
	p := mkProject(t, s)
	b := platform.New(s)
	u := &connectd.User{ID: connectd.NewID(connectd.PrefixUser), ProjectID: p, Email: "u@example.com", CreatedAt: t0}
	if err := s.CreateUser(ctx, u, connectd.Idem{}); err != nil {
		t.Fatal(err)
	}
	plan := &connectd.Plan{Name: "Basic", Status: connectd.PlanActive, Price: connectd.Price{Amount: 1000, Currency: "EUR"}}
	if err := b.Plans().Create(ctx, p, plan); err != nil {
		t.Fatal(err)
	}
	sub := &connectd.Subscription{User: u.ID, Plan: plan.ID, Status: connectd.SubscriptionActive, Recurring: true}
	if err := b.Subscriptions().Create(ctx, p, sub); err != nil {
		t.Fatal(err)
	}
	pin := "1234"
	porting := &connectd.Porting{Subscription: sub.ID, PhoneNumber: "+15550000000", Status: connectd.PortingDraft, AccountPin: &pin}
	if err := b.Portings().Create(ctx, p, porting); err != nil {
		t.Fatal(err)
	}
	got, err := b.Portings().Get(ctx, p, porting.ID)
	if err != nil || got.User != u.ID || got.AccountPin == nil || *got.AccountPin != "1234" {
		t.Fatalf("Get porting: %+v, %v", got, err)
	}
	page, err := b.Portings().List(ctx, p, connectd.PlatformFilter{UserID: u.ID, Subscription: sub.ID})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != porting.ID {
		t.Fatalf("List portings: %+v, %v", page, err)
	}

	// Concurrent Updates lose no increment. (Update gives up with
	// ErrConflict after a few retries under heavy contention: those
	// increments are not applied, and not counted.)
	var wg sync.WaitGroup
	var applied atomic.Int64
	const workers, increments = 4, 10
	for range workers {
		wg.Go(func() {
			for range increments {
				_, err := connectd.UpdateResource(context.Background(), b.Plans(), p, plan.ID, func(v *connectd.Plan) error { v.Price.Amount++; return nil })
				switch {
				case err == nil:
					applied.Add(1)
				case !errors.Is(err, connectd.ErrConflict):
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	gp, err := b.Plans().Get(ctx, p, plan.ID)
	if err != nil || gp.Price.Amount != 1000+applied.Load() || applied.Load() == 0 {
		t.Fatalf("amount after %d concurrent updates: %+v, %v", applied.Load(), gp, err)
	}

	// A seed of the records as they are now is the same content.
	rec, err := b.SeedRecord(ctx, p, gp)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.ApplySeed(ctx, connectd.SeedBatch{Resources: []*connectd.ResourceRecord{rec}}); err != nil || n != 0 {
		t.Fatalf("ApplySeed of the stored plan: %d, %v", n, err)
	}
}
