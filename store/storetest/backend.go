package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/connectd/connectd"
)

// Tests that open their own stores (several on one database) or look at the
// tables through the Backend's hooks. Moved here from the backends' own
// tests, which ran the same checks each with its SQL.

type backendTest = testOf[Backend]

// Migrator is a store that migrates its database, as both stores do.
type Migrator interface {
	connectd.Store
	Migrate(ctx context.Context) error
}

// SharedStores makes a Backend.Shared of a backend's Open: fresh returns
// the name (a file path, a URL) of a fresh database, and open opens a store
// on it; each of the n stores is migrated, and closed when the test ends.
func SharedStores[S Migrator](fresh func(testing.TB) string, open func(ctx context.Context, name string) (S, error)) func(testing.TB, int) []connectd.Store {
	return func(tb testing.TB, n int) []connectd.Store {
		tb.Helper()
		ctx := context.Background()
		name := fresh(tb)
		stores := make([]connectd.Store, n)
		for i := range stores {
			s, err := open(ctx, name)
			if err != nil {
				tb.Fatal(err)
			}
			tb.Cleanup(func() { s.Close() })
			if err := s.Migrate(ctx); err != nil {
				tb.Fatal(err)
			}
			stores[i] = s
		}
		return stores
	}
}

// resourceStore returns a fresh store of b as a ResourceStore.
func resourceStore(t testing.TB, b Backend) ResourceStore {
	t.Helper()
	s := b.New(t)
	rs, ok := s.(ResourceStore)
	if !ok {
		t.Fatalf("%T does not implement connectd.ResourceStore", s)
	}
	return rs
}

// portalStore returns s as a PortalStore.
func portalStore(t testing.TB, s connectd.Store) PortalStore {
	t.Helper()
	ps, ok := s.(PortalStore)
	if !ok {
		t.Fatalf("%T does not implement connectd.PortalStore", s)
	}
	return ps
}

// mkPortalSession saves an open session, in a project of its own, whose
// user details name a new user.
func mkPortalSession(t testing.TB, s connectd.Store) (*connectd.Session, string) {
	t.Helper()
	p := mkProject(t, s)
	return mkSession(t, s, p.ID, func(cs *connectd.Session) {
		cs.UserDetails = &connectd.UserDetails{Email: connectd.NewID("u") + "@example.com"}
	})
}

var backendTests = []backendTest{
	// The columns the portal writes that no interface method reads back.
	{"ReplayCountAndEndedAt", func(t *testing.T, b Backend) {
		s := portalStore(t, b.New(t))
		ctx := context.Background()
		cs, token := mkPortalSession(t, s)
		at := cs.CreatedAt.Add(time.Second)
		if _, err := s.EnterSession(ctx, connectd.EnterParams{SessionID: cs.ID, TokenHash: connectd.HashToken(token), Now: at,
			Browser: &connectd.BrowserSession{ID: connectd.NewID(connectd.PrefixBrowserSession), SecretHash: connectd.HashToken("x"),
				CreatedAt: at, ExpiresAt: at.Add(time.Hour)}}); err != nil {
			t.Fatal(err)
		}
		end := at.Add(time.Minute)
		if _, err := s.FinishSession(ctx, cs.ID, connectd.StatusCompleted, end); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if err := s.RecordReplay(ctx, cs.ID, end); err != nil {
				t.Fatal(err)
			}
		}
		replays, endedAt := b.SessionEnd(t, s, cs.ID)
		if replays != 3 || !endedAt.Equal(end) {
			t.Fatalf("replay_count %d, ended_at %v; want 3, %v", replays, endedAt, end)
		}
	}},

	// EnterSession of one token through several stores on one database, as
	// several server processes would: exactly one wins, and exactly one
	// browser session and one user are written.
	{"EnterSessionAcrossStores", func(t *testing.T, b Backend) {
		ctx := context.Background()
		const nStores, n = 4, 40
		var stores []PortalStore
		for _, s := range b.Shared(t, nStores) {
			stores = append(stores, portalStore(t, s))
		}
		cs, token := mkPortalSession(t, stores[0])
		at := cs.CreatedAt.Add(time.Second)
		errs := parallel(n, func(i int) error {
			u := &connectd.User{ID: connectd.NewID(connectd.PrefixUser), Email: cs.UserDetails.Email, CreatedAt: at}
			browser := &connectd.BrowserSession{ID: connectd.NewID(connectd.PrefixBrowserSession), UserID: &u.ID,
				SecretHash: connectd.HashToken(connectd.NewID("secret")), CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
			_, err := stores[i%nStores].EnterSession(ctx, connectd.EnterParams{SessionID: cs.ID,
				TokenHash: connectd.HashToken(token), Now: at, Browser: browser, NewUser: u})
			return err
		})
		if wins := winners(t, "EnterSession", errs, connectd.ErrNotFound); wins != 1 {
			t.Fatalf("%d winners, want 1", wins)
		}
		nb := b.Count(t, stores[0], "browser_sessions", "session_id", cs.ID)
		nu := b.Count(t, stores[0], "users", "project_id", cs.ProjectID)
		if nb != 1 || nu != 1 {
			t.Fatalf("%d browser sessions and %d users, want 1 and 1", nb, nu)
		}
	}},

	// A failure anywhere in a batch undoes the writes before it, also when
	// statements after the failing one fail too (a backend may pipeline the
	// batch and send them regardless).
	{"WriteResourcesAtomic", func(t *testing.T, b Backend) {
		s := resourceStore(t, b)
		ctx := t.Context()
		p := mkProject(t, s).ID
		a := mkRecord(t, s, p, connectd.KindPlan, func(r *connectd.ResourceRecord) { r.Data = []byte(`{"n":0}`) })
		bb := mkRecord(t, s, p, connectd.KindSIM, func(r *connectd.ResourceRecord) { r.Data = []byte(`{"n":0}`) })
		rows := b.Count(t, s, "resources", "", "")

		okA := *a
		okA.Data = []byte(`{"n":1}`)
		staleB := *bb
		staleB.Version = 7
		missing := recAtT0(p, connectd.KindDevice, `{}`)
		missing.Version = 1
		dup := recAtT0(p, connectd.KindAddon, `{}`)
		dup.ID = a.ID
		fresh := func() *connectd.ResourceRecord { return recAtT0(p, connectd.KindPayment, `{}`) }

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
			if n := b.Count(t, s, "resources", "", ""); n != rows {
				t.Fatalf("%s: %d rows after the failed batch, want %d", c.name, n, rows)
			}
			got, err := s.GetResource(ctx, p, a.Kind, a.ID)
			if err != nil || got.Version != 1 || string(canonicalJSON(got.Data)) != `{"n":0}` {
				t.Fatalf("%s: the update of the failed batch stayed: %+v, %v", c.name, got, err)
			}
		}

		// The store's connections are left usable (no transaction left open).
		for range 20 {
			if _, err := s.GetResource(ctx, p, a.Kind, a.ID); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.WriteResources(ctx, p, []connectd.ResourceWrite{{Record: &okA}, {Record: bb}}); err != nil {
			t.Fatal(err)
		}
		if okA.Version != 2 || bb.Version != 2 {
			t.Fatalf("versions after the batch: %d, %d; want 2, 2", okA.Version, bb.Version)
		}
	}},

	// One seed batch loaded by several callers at once, as several instances
	// starting together would: all succeed, and each object is created once.
	{"ApplySeedConcurrent", func(t *testing.T, b Backend) {
		s := resourceStore(t, b)
		p := &connectd.Project{ID: "p-seed", Name: "Seed", Settings: connectd.DefaultProjectSettings(), CreatedAt: t0}
		u := &connectd.User{ID: connectd.NewID(connectd.PrefixUser), ProjectID: p.ID, Email: "a@example.com", CreatedAt: t0}
		batch := connectd.SeedBatch{Projects: []*connectd.Project{p}, Users: []*connectd.User{u}}
		for range 20 {
			batch.Resources = append(batch.Resources, recAtT0(p.ID, connectd.KindSIM, `{"type":"eSIM"}`))
		}
		total := 2 + len(batch.Resources)
		const loaders = 8
		created := make([]int, loaders)
		errs := parallel(loaders, func(i int) (err error) {
			created[i], err = s.ApplySeed(context.Background(), batch)
			return err
		})
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
		if n := b.Count(t, s, "resources", "", ""); n != len(batch.Resources) {
			t.Fatalf("%d resources, want %d", n, len(batch.Resources))
		}
	}},

	// With the tables themselves: a conflict or an error late in a seed
	// batch leaves nothing of it, and the store keeps working afterwards.
	{"ApplySeedRollback", func(t *testing.T, b Backend) {
		s := resourceStore(t, b)
		ctx := t.Context()
		p := mkProject(t, s).ID
		old := mkRecord(t, s, p, connectd.KindPlan, func(r *connectd.ResourceRecord) { r.Data = []byte(`{"name":"Old"}`) })
		counts := func() [3]int {
			return [3]int{b.Count(t, s, "projects", "", ""), b.Count(t, s, "users", "", ""), b.Count(t, s, "resources", "", "")}
		}
		before := counts()
		batch := func(last *connectd.ResourceRecord) connectd.SeedBatch {
			np := &connectd.Project{ID: "p-new-" + connectd.NewID("x"), Name: "New", Settings: connectd.DefaultProjectSettings(), CreatedAt: t0}
			nu := &connectd.User{ID: connectd.NewID(connectd.PrefixUser), ProjectID: np.ID, Email: "n@example.com", CreatedAt: t0}
			return connectd.SeedBatch{Projects: []*connectd.Project{np}, Users: []*connectd.User{nu},
				Resources: []*connectd.ResourceRecord{recAtT0(np.ID, connectd.KindPlan, `{}`), recAtT0(p, connectd.KindSIM, `{}`), last}}
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

		lost := recAtT0("p-nowhere", connectd.KindPlan, `{}`)
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
	}},
	// KeepExisting (the demo's restart) leaves objects that differ as they
	// are and still creates the missing ones, in the same batch.
	{"ApplySeedKeepExisting", func(t *testing.T, b Backend) {
		s := resourceStore(t, b)
		ctx := t.Context()
		p := mkProject(t, s).ID
		old := mkRecord(t, s, p, connectd.KindPlan, func(r *connectd.ResourceRecord) { r.Data = []byte(`{"name":"Changed by its user"}`) })
		changed := *old
		changed.Data = []byte(`{"name":"As the seed says"}`)
		missing := recAtT0(p, connectd.KindSIM, `{}`)
		n, err := s.ApplySeed(ctx, connectd.SeedBatch{KeepExisting: true, Resources: []*connectd.ResourceRecord{&changed, missing}})
		if err != nil || n != 1 {
			t.Fatalf("ApplySeed (KeepExisting) of a changed plan and a new SIM: %d, %v; want 1 created", n, err)
		}
		got, err := s.GetResource(ctx, p, connectd.KindPlan, old.ID)
		if err != nil || string(got.Data) != string(old.Data) {
			t.Fatalf("the changed plan after a KeepExisting seed: %+v, %v; want its data kept %s", got, err, old.Data)
		}
		if _, err := s.GetResource(ctx, p, connectd.KindSIM, missing.ID); err != nil {
			t.Fatalf("the new SIM of the batch was not created: %v", err)
		}
	}},
}
