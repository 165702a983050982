package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd"
)

// ResourceStore is a store that also keeps the built-in platform's
// resources. Run runs the resource groups on every store, and fails them on
// a store that does not implement it.
type ResourceStore interface {
	connectd.Store
	connectd.ResourceStore
}

// resourceTest adapts a test of a ResourceStore to the suite.
func resourceTest(name string, fn func(t *testing.T, s ResourceStore)) test {
	return test{name: name, fn: func(t *testing.T, s connectd.Store) {
		rs, ok := s.(ResourceStore)
		if !ok {
			t.Fatalf("%T does not implement connectd.ResourceStore", s)
		}
		fn(t, rs)
	}}
}

// canonicalJSON returns data re-encoded with sorted keys and no spacing, so
// that backends that keep JSON in another form (PostgreSQL's jsonb) compare
// equal. Data that is not JSON is returned as is.
func canonicalJSON(data []byte) []byte {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return data
	}
	out, err := json.Marshal(v)
	if err != nil {
		return data
	}
	return out
}

func normRecord(r *connectd.ResourceRecord) *connectd.ResourceRecord {
	if r == nil {
		return nil
	}
	c := *r
	c.Data = canonicalJSON(r.Data)
	return &c
}

// equalRecord compares records, their Data as JSON values.
func equalRecord(t testing.TB, what string, got, want *connectd.ResourceRecord) {
	t.Helper()
	equal(t, what, normRecord(got), normRecord(want))
}

// newRecord returns an unsaved active resource of the project, changed by
// the mods.
func newRecord(projectID string, kind connectd.ResourceKind, mods ...func(*connectd.ResourceRecord)) *connectd.ResourceRecord {
	at := now()
	r := &connectd.ResourceRecord{
		Kind:      kind,
		ProjectID: projectID,
		ID:        connectd.NewID(kind.Prefix()),
		Status:    "active",
		Data:      []byte(`{"counter":0}`),
		CreatedAt: at,
		UpdatedAt: at,
	}
	for _, m := range mods {
		m(r)
	}
	return r
}

// mkRecord saves a new resource (see newRecord) and returns it.
func mkRecord(t testing.TB, s ResourceStore, projectID string, kind connectd.ResourceKind, mods ...func(*connectd.ResourceRecord)) *connectd.ResourceRecord {
	t.Helper()
	r := newRecord(projectID, kind, mods...)
	is(t, "CreateResource", s.CreateResource(t.Context(), r), nil)
	if r.Version != 1 {
		t.Fatalf("CreateResource set Version %d, want 1", r.Version)
	}
	return r
}

func getRecord(t testing.TB, s ResourceStore, r *connectd.ResourceRecord) *connectd.ResourceRecord {
	t.Helper()
	got, err := s.GetResource(t.Context(), r.ProjectID, r.Kind, r.ID)
	is(t, "GetResource", err, nil)
	return got
}

// counterData is the Data the concurrency tests count in.
type counterData struct {
	Counter int `json:"counter"`
	Writer  int `json:"writer"`
}

func counterOf(t testing.TB, r *connectd.ResourceRecord) counterData {
	t.Helper()
	var d counterData
	if err := json.Unmarshal(r.Data, &d); err != nil {
		t.Fatalf("data of %s: %v", r.ID, err)
	}
	return d
}

func withData(d counterData) []byte {
	b, _ := json.Marshal(d)
	return b
}

var resourceTests = []test{
	resourceTest("CreateGet", func(t *testing.T, s ResourceStore) {
		ctx := t.Context()
		p := mkProject(t, s)
		u := mkUser(t, s, p.ID)
		sub := mkRecord(t, s, p.ID, connectd.KindSubscription, func(r *connectd.ResourceRecord) { r.UserID = u.ID })
		at := now()
		r := &connectd.ResourceRecord{
			Kind:      connectd.KindPayment,
			ProjectID: p.ID,
			ID:        connectd.NewID(connectd.PrefixPayment),
			UserID:    u.ID,
			ParentID:  sub.ID,
			Status:    connectd.PaymentRequiresConfirmation,
			Data:      []byte(`{"amount": 1999, "currency": "EUR", "description": "Größe ✓ \"quoted\"", "nested": {"b": [1, 2.5, null, true], "a": {}}}`),
			Version:   7, // ignored: a create is version 1
			CreatedAt: at.Add(-time.Hour),
			UpdatedAt: at,
		}
		is(t, "CreateResource", s.CreateResource(ctx, r), nil)
		equal(t, "Version after CreateResource", r.Version, int64(1))
		equalRecord(t, "GetResource", getRecord(t, s, r), r)

		// Unowned, parentless, statusless resources keep empty strings.
		bare := mkRecord(t, s, p.ID, connectd.KindDevice, func(r *connectd.ResourceRecord) { r.Status, r.Data = "", []byte(`{}`) })
		equalRecord(t, "GetResource of a bare resource", getRecord(t, s, bare), bare)

		_, err := s.GetResource(ctx, p.ID, connectd.KindPayment, connectd.NewID(connectd.PrefixPayment))
		is(t, "GetResource of an unknown ID", err, connectd.ErrNotFound)
	}),
	resourceTest("TimesInUTC", func(t *testing.T, s ResourceStore) {
		p := mkProject(t, s)
		zone := time.FixedZone("UTC-3:30", -(3*3600 + 1800))
		at := time.Now().In(zone)
		r := mkRecord(t, s, p.ID, connectd.KindPlan, func(r *connectd.ResourceRecord) {
			r.CreatedAt, r.UpdatedAt = at, at.Add(1500*time.Microsecond)
		})
		got := getRecord(t, s, r)
		for name, tt := range map[string]time.Time{"CreatedAt": got.CreatedAt, "UpdatedAt": got.UpdatedAt} {
			if tt.Location() != time.UTC {
				t.Errorf("%s comes back in %v, not UTC", name, tt.Location())
			}
		}
		if want := at.Truncate(time.Millisecond); !got.CreatedAt.Equal(want) {
			t.Errorf("CreatedAt %v, want %v (milliseconds)", got.CreatedAt, want)
		}
		if want := at.Add(1500 * time.Microsecond).Truncate(time.Millisecond); !got.UpdatedAt.Equal(want) {
			t.Errorf("UpdatedAt %v, want %v (milliseconds)", got.UpdatedAt, want)
		}
	}),
	resourceTest("WrongKind", func(t *testing.T, s ResourceStore) {
		p := mkProject(t, s)
		r := mkRecord(t, s, p.ID, connectd.KindPlan)
		for _, k := range connectd.ResourceKinds {
			if k == connectd.KindPlan {
				continue
			}
			_, err := s.GetResource(t.Context(), p.ID, k, r.ID)
			is(t, "GetResource as a "+string(k), err, connectd.ErrNotFound)
		}
	}),
	resourceTest("Isolation", func(t *testing.T, s ResourceStore) {
		ctx := t.Context()
		p, q := mkProject(t, s), mkProject(t, s)
		r := mkRecord(t, s, p.ID, connectd.KindSIM)
		_, err := s.GetResource(ctx, q.ID, r.Kind, r.ID)
		is(t, "GetResource in another project", err, connectd.ErrNotFound)
		page, err := s.ListResources(ctx, q.ID, connectd.ResourceFilter{Kind: r.Kind})
		is(t, "ListResources", err, nil)
		if len(page.Items) != 0 {
			t.Fatalf("ListResources of another project: %d resources", len(page.Items))
		}
		// The same ID may exist in another project, and each keeps its own.
		other := *r
		other.ProjectID, other.Data, other.Status = q.ID, []byte(`{"other":true}`), "assigned"
		is(t, "CreateResource of the ID in another project", s.CreateResource(ctx, &other), nil)
		equalRecord(t, "GetResource in the first project", getRecord(t, s, r), r)
		equalRecord(t, "GetResource in the second project", getRecord(t, s, &other), &other)
		// An update names its project: the other project's copy is not
		// reachable through it.
		stale := other
		stale.ProjectID = ""
		is(t, "WriteResources of a resource in another project's name",
			s.WriteResources(ctx, mkProject(t, s).ID, []connectd.ResourceWrite{{Record: &stale}}), connectd.ErrNotFound)
	}),
	resourceTest("DuplicateID", func(t *testing.T, s ResourceStore) {
		ctx := t.Context()
		p := mkProject(t, s)
		r := mkRecord(t, s, p.ID, connectd.KindPlan)
		dup := newRecord(p.ID, connectd.KindPlan, func(d *connectd.ResourceRecord) { d.ID, d.Data = r.ID, []byte(`{"dup":1}`) })
		is(t, "CreateResource with a taken ID", s.CreateResource(ctx, dup), connectd.ErrConflict)
		// IDs are unique in the project across kinds.
		dup = newRecord(p.ID, connectd.KindAddon, func(d *connectd.ResourceRecord) { d.ID = r.ID })
		is(t, "CreateResource of another kind with a taken ID", s.CreateResource(ctx, dup), connectd.ErrConflict)
		equalRecord(t, "GetResource after the refused duplicates", getRecord(t, s, r), r)
	}),
	resourceTest("MissingProject", func(t *testing.T, s ResourceStore) {
		r := newRecord("p-"+uid(), connectd.KindPlan)
		is(t, "CreateResource in an unknown project", s.CreateResource(t.Context(), r), connectd.ErrNotFound)
		is(t, "WriteResources creating in an unknown project",
			s.WriteResources(t.Context(), r.ProjectID, []connectd.ResourceWrite{{Create: true, Record: r}}), connectd.ErrNotFound)
	}),
}

var listResourceTests = []test{
	resourceTest("Pages", func(t *testing.T, s ResourceStore) {
		ctx := t.Context()
		p, q := mkProject(t, s), mkProject(t, s)
		ids := sortedIDs(connectd.PrefixPlan, 9)
		want := map[string]*connectd.ResourceRecord{}
		for i, id := range ids {
			r := mkRecord(t, s, p.ID, connectd.KindPlan, func(r *connectd.ResourceRecord) {
				r.ID, r.Data = id, []byte(fmt.Sprintf(`{"n":%d}`, i))
			})
			want[id] = r
		}
		mkRecord(t, s, q.ID, connectd.KindPlan)  // in another project: never listed
		mkRecord(t, s, p.ID, connectd.KindAddon) // of another kind: never listed
		mkRecord(t, s, p.ID, connectd.KindSIM)
		slices.Reverse(ids)
		checkPages(t, ids, func(lp connectd.ListParams) ([]string, bool, bool, error) {
			page, err := s.ListResources(ctx, p.ID, connectd.ResourceFilter{Kind: connectd.KindPlan, ListParams: lp})
			var got []string
			for _, r := range page.Items {
				equalRecord(t, "listed resource", r, want[r.ID])
				got = append(got, r.ID)
			}
			return got, page.MoreAfter, page.MoreBefore, err
		})
	}),
	resourceTest("Filters", func(t *testing.T, s ResourceStore) {
		ctx := t.Context()
		p := mkProject(t, s)
		a, b := mkUser(t, s, p.ID), mkUser(t, s, p.ID)
		subA, subB := mkRecord(t, s, p.ID, connectd.KindSubscription, func(r *connectd.ResourceRecord) { r.UserID = a.ID }),
			mkRecord(t, s, p.ID, connectd.KindSubscription, func(r *connectd.ResourceRecord) { r.UserID = b.ID })
		type row struct {
			user   *connectd.User
			parent string
			status string
		}
		rows := []row{
			{a, subA.ID, connectd.PaymentSucceeded},
			{a, subA.ID, connectd.PaymentFailed},
			{b, subB.ID, connectd.PaymentSucceeded},
			{a, "", connectd.PaymentSucceeded},
			{nil, "", connectd.PaymentCanceled},
			{b, "", connectd.PaymentProcessing},
			{a, subA.ID, connectd.PaymentSucceeded},
			{b, subB.ID, connectd.PaymentFailed},
			{a, subA.ID, ""},
			{a, subA.ID, connectd.PaymentSucceeded},
		}
		ids := sortedIDs(connectd.PrefixPayment, len(rows))
		var all []*connectd.ResourceRecord
		for i, r := range rows {
			all = append(all, mkRecord(t, s, p.ID, connectd.KindPayment, func(rec *connectd.ResourceRecord) {
				rec.ID, rec.ParentID, rec.Status = ids[i], r.parent, r.status
				if r.user != nil {
					rec.UserID = r.user.ID
				}
			}))
		}
		slices.Reverse(all)
		expect := func(keep func(*connectd.ResourceRecord) bool) []string {
			return idsWhere(all, recordID, keep)
		}
		list := func(f connectd.ResourceFilter) []string {
			t.Helper()
			f.Kind = connectd.KindPayment
			f.Limit = connectd.MaxListLimit
			page, err := s.ListResources(ctx, p.ID, f)
			is(t, "ListResources", err, nil)
			return idsWhere(page.Items, recordID, every[*connectd.ResourceRecord])
		}
		for _, f := range []connectd.ResourceFilter{
			{},
			{UserID: a.ID},
			{UserID: b.ID},
			{ParentID: subA.ID},
			{ParentID: subB.ID},
			{Status: connectd.PaymentSucceeded},
			{Status: connectd.PaymentFailed},
			{UserID: a.ID, Status: connectd.PaymentSucceeded},
			{UserID: a.ID, ParentID: subA.ID, Status: connectd.PaymentSucceeded},
			{UserID: b.ID, ParentID: subA.ID},
			{UserID: connectd.NewID(connectd.PrefixUser)},
			{Status: "nonexistent"},
		} {
			want := expect(func(r *connectd.ResourceRecord) bool {
				return (f.UserID == "" || r.UserID == f.UserID) && (f.ParentID == "" || r.ParentID == f.ParentID) &&
					(f.Status == "" || r.Status == f.Status)
			})
			equal(t, fmt.Sprintf("filter user %q parent %q status %q", f.UserID, f.ParentID, f.Status), list(f), want)
		}

		// Paging honours the filter in items and in the More flags.
		wantA := expect(func(r *connectd.ResourceRecord) bool { return r.UserID == a.ID })
		page, err := s.ListResources(ctx, p.ID, connectd.ResourceFilter{Kind: connectd.KindPayment, UserID: a.ID,
			ListParams: connectd.ListParams{Limit: 2, After: wantA[len(wantA)-3]}})
		is(t, "ListResources", err, nil)
		if len(page.Items) != 2 || page.Items[0].ID != wantA[len(wantA)-2] || page.Items[1].ID != wantA[len(wantA)-1] || page.MoreAfter || !page.MoreBefore {
			t.Fatalf("last page of user a: %d items, MoreAfter %v, MoreBefore %v", len(page.Items), page.MoreAfter, page.MoreBefore)
		}
		wantOK := expect(func(r *connectd.ResourceRecord) bool { return r.Status == connectd.PaymentSucceeded })
		page, err = s.ListResources(ctx, p.ID, connectd.ResourceFilter{Kind: connectd.KindPayment, Status: connectd.PaymentSucceeded,
			ListParams: connectd.ListParams{Limit: 1, Before: wantOK[1]}})
		is(t, "ListResources", err, nil)
		if len(page.Items) != 1 || page.Items[0].ID != wantOK[0] || page.MoreBefore || !page.MoreAfter {
			t.Fatalf("first succeeded page by Before: %d items, MoreAfter %v, MoreBefore %v", len(page.Items), page.MoreAfter, page.MoreBefore)
		}
	}),
}

var writeResourceTests = []test{
	resourceTest("Update", func(t *testing.T, s ResourceStore) {
		ctx := t.Context()
		p := mkProject(t, s)
		u := mkUser(t, s, p.ID)
		r := mkRecord(t, s, p.ID, connectd.KindPorting, func(r *connectd.ResourceRecord) { r.Status = connectd.PortingDraft })
		next := *r
		next.UserID, next.ParentID, next.Status = u.ID, connectd.NewID(connectd.PrefixSubscription), connectd.PortingRequested
		next.Data = []byte(`{"phoneNumber":"+15551234567","declinedCode":null}`)
		next.UpdatedAt = r.UpdatedAt.Add(time.Minute)
		next.CreatedAt = r.CreatedAt.Add(time.Hour) // not the update's to change
		is(t, "WriteResources", s.WriteResources(ctx, p.ID, []connectd.ResourceWrite{{Record: &next}}), nil)
		equal(t, "Version after the update", next.Version, int64(2))
		want := next
		want.CreatedAt = r.CreatedAt
		equalRecord(t, "GetResource after the update", getRecord(t, s, r), &want)

		// Clearing the indexed columns, and a second update on the new
		// version.
		again := want
		again.UserID, again.ParentID, again.Status = "", "", ""
		again.UpdatedAt = again.UpdatedAt.Add(time.Minute)
		is(t, "WriteResources", s.WriteResources(ctx, p.ID, []connectd.ResourceWrite{{Record: &again}}), nil)
		equal(t, "Version after the second update", again.Version, int64(3))
		equalRecord(t, "GetResource after the second update", getRecord(t, s, r), &again)

		// Several writes in one batch, and an empty batch.
		c := newRecord(p.ID, connectd.KindPlan)
		third := again
		third.Data = []byte(`{"third":true}`)
		is(t, "WriteResources", s.WriteResources(ctx, p.ID, []connectd.ResourceWrite{{Create: true, Record: c}, {Record: &third}}), nil)
		equal(t, "Version of the created resource", c.Version, int64(1))
		equal(t, "Version of the updated resource", third.Version, int64(4))
		equalRecord(t, "GetResource of the created resource", getRecord(t, s, c), c)
		equalRecord(t, "GetResource of the updated resource", getRecord(t, s, r), &third)
		is(t, "WriteResources of nothing", s.WriteResources(ctx, p.ID, nil), nil)
	}),
	resourceTest("StaleVersion", func(t *testing.T, s ResourceStore) {
		ctx := t.Context()
		p := mkProject(t, s)
		r := mkRecord(t, s, p.ID, connectd.KindSubscription)
		first := *r
		first.Data = []byte(`{"counter":1}`)
		is(t, "WriteResources", s.WriteResources(ctx, p.ID, []connectd.ResourceWrite{{Record: &first}}), nil)

		// A create and an update on the old version: neither is written.
		created := newRecord(p.ID, connectd.KindPayment)
		stale := *r
		stale.Data = []byte(`{"counter":99}`)
		is(t, "WriteResources with a stale version",
			s.WriteResources(ctx, p.ID, []connectd.ResourceWrite{{Create: true, Record: created}, {Record: &stale}}), connectd.ErrConflict)
		_, err := s.GetResource(ctx, p.ID, created.Kind, created.ID)
		is(t, "GetResource of the create of the failed batch", err, connectd.ErrNotFound)
		equalRecord(t, "GetResource after the failed batch", getRecord(t, s, r), &first)

		// An update that would succeed is undone by a later stale one, and
		// the records of a failed batch keep their versions.
		other := mkRecord(t, s, p.ID, connectd.KindSIM)
		ok := *other
		ok.Data = []byte(`{"counter":5}`)
		is(t, "WriteResources with a stale version last",
			s.WriteResources(ctx, p.ID, []connectd.ResourceWrite{{Record: &ok}, {Record: &stale}}), connectd.ErrConflict)
		equal(t, "Version of a record of a failed batch", ok.Version, int64(1))
		equalRecord(t, "GetResource of the undone update", getRecord(t, s, other), other)
		equalRecord(t, "GetResource after the failed batch", getRecord(t, s, r), &first)

		// A create whose ID is taken fails the batch the same way.
		ok.Version = 1
		dup := newRecord(p.ID, connectd.KindPlan, func(d *connectd.ResourceRecord) { d.ID = r.ID })
		is(t, "WriteResources creating a taken ID",
			s.WriteResources(ctx, p.ID, []connectd.ResourceWrite{{Record: &ok}, {Create: true, Record: dup}}), connectd.ErrConflict)
		equalRecord(t, "GetResource of the undone update", getRecord(t, s, other), other)
	}),
	resourceTest("Missing", func(t *testing.T, s ResourceStore) {
		ctx := t.Context()
		p := mkProject(t, s)
		missing := newRecord(p.ID, connectd.KindDevice)
		missing.Version = 1
		created := newRecord(p.ID, connectd.KindDevice)
		is(t, "WriteResources updating an unknown resource",
			s.WriteResources(ctx, p.ID, []connectd.ResourceWrite{{Create: true, Record: created}, {Record: missing}}), connectd.ErrNotFound)
		_, err := s.GetResource(ctx, p.ID, created.Kind, created.ID)
		is(t, "GetResource of the create of the failed batch", err, connectd.ErrNotFound)

		// A resource of another kind is not there either, whatever the
		// version says.
		r := mkRecord(t, s, p.ID, connectd.KindPlan)
		asAddon := *r
		asAddon.Kind = connectd.KindAddon
		is(t, "WriteResources updating a resource as another kind",
			s.WriteResources(ctx, p.ID, []connectd.ResourceWrite{{Record: &asAddon}}), connectd.ErrNotFound)
		equalRecord(t, "GetResource after the refused update", getRecord(t, s, r), r)
	}),
	resourceTest("ContendedRounds", func(t *testing.T, s ResourceStore) {
		ctx := t.Context()
		p := mkProject(t, s)
		r := mkRecord(t, s, p.ID, connectd.KindSubscription)
		const n = 20
		for round := 1; round <= 5; round++ {
			cur := getRecord(t, s, r)
			c := counterOf(t, cur)
			errs := parallel(n, func(i int) error {
				next := *cur
				next.Data = withData(counterData{Counter: c.Counter + 1, Writer: i})
				next.UpdatedAt = now()
				return s.WriteResources(ctx, p.ID, []connectd.ResourceWrite{{Record: &next}})
			})
			if w := winners(t, "concurrent updates", errs, connectd.ErrConflict); w != 1 {
				t.Fatalf("round %d: %d of %d concurrent updates of one version won, want 1", round, w, n)
			}
			got := getRecord(t, s, r)
			equal(t, "Version after the round", got.Version, cur.Version+1)
			d := counterOf(t, got)
			equal(t, "counter after the round", d.Counter, round)
			if errs[d.Writer] != nil {
				t.Fatalf("round %d: the data is writer %d's, whose update failed: %v", round, d.Writer, errs[d.Writer])
			}
		}
	}),
	resourceTest("NoLostUpdate", func(t *testing.T, s ResourceStore) {
		ctx := t.Context()
		p := mkProject(t, s)
		r := mkRecord(t, s, p.ID, connectd.KindSubscription)
		const workers, increments = 20, 5
		errs := parallel(workers, func(i int) error {
			for k := 0; k < increments; k++ {
				for {
					cur, err := s.GetResource(ctx, p.ID, r.Kind, r.ID)
					if err != nil {
						return err
					}
					var d counterData
					if err := json.Unmarshal(cur.Data, &d); err != nil {
						return err
					}
					d.Counter++
					d.Writer = i
					cur.Data = withData(d)
					err = s.WriteResources(ctx, p.ID, []connectd.ResourceWrite{{Record: cur}})
					if errors.Is(err, connectd.ErrConflict) {
						continue // someone else won: read again
					}
					if err != nil {
						return err
					}
					break
				}
			}
			return nil
		})
		for i, err := range errs {
			is(t, fmt.Sprintf("worker %d", i), err, nil)
		}
		got := getRecord(t, s, r)
		equal(t, "counter", counterOf(t, got).Counter, workers*increments)
		equal(t, "Version", got.Version, int64(1+workers*increments))
	}),
}

// snapshot is everything a store holds that the seed tests look at.
type snapshot struct {
	Projects  []*connectd.Project
	Users     map[string][]*connectd.User
	Resources map[string][]*connectd.ResourceRecord // by project and kind
}

func takeSnapshot(t testing.TB, s ResourceStore) snapshot {
	t.Helper()
	ctx := t.Context()
	ps, err := s.ListProjects(ctx)
	is(t, "ListProjects", err, nil)
	snap := snapshot{Projects: ps, Users: map[string][]*connectd.User{}, Resources: map[string][]*connectd.ResourceRecord{}}
	for _, p := range ps {
		lp := connectd.ListParams{Limit: connectd.MaxListLimit}
		for {
			page, err := s.ListUsers(ctx, p.ID, lp)
			is(t, "ListUsers", err, nil)
			for _, u := range page.Items {
				snap.Users[p.ID] = append(snap.Users[p.ID], normUser(u))
			}
			if !page.MoreAfter {
				break
			}
			lp.After = page.Items[len(page.Items)-1].ID
		}
		for _, k := range connectd.ResourceKinds {
			f := connectd.ResourceFilter{Kind: k, ListParams: connectd.ListParams{Limit: connectd.MaxListLimit}}
			for {
				page, err := s.ListResources(ctx, p.ID, f)
				is(t, "ListResources", err, nil)
				for _, r := range page.Items {
					snap.Resources[p.ID+"/"+string(k)] = append(snap.Resources[p.ID+"/"+string(k)], normRecord(r))
				}
				if !page.MoreAfter {
					break
				}
				f.After = page.Items[len(page.Items)-1].ID
			}
		}
	}
	return snap
}

// seedFixture returns a seed batch of two new projects, their users and
// resources of several kinds, with references between them.
func seedFixture() connectd.SeedBatch {
	at := now().Add(-time.Hour)
	p := &connectd.Project{ID: "p-" + uid(), Name: "Seeded", Settings: connectd.DefaultProjectSettings(), CreatedAt: at}
	q := &connectd.Project{ID: "p-" + uid(), Name: "Seeded too", CreatedAt: at,
		Settings: connectd.ProjectSettings{BillingMode: connectd.BillingModeBilling, IntentValidation: connectd.IntentValidationLenient,
			SessionTTL: connectd.Duration(time.Hour), CallbackAllowList: []string{"https://example.com/cb"}, DisplayName: "Q"}}
	u := fullUser(p.ID)
	u.Email = "seed-" + uid() + "@example.com"
	u.CreatedAt = at
	v := &connectd.User{ID: connectd.NewID(connectd.PrefixUser), ProjectID: p.ID, Email: "min-" + uid() + "@example.com", CreatedAt: at}
	w := &connectd.User{ID: connectd.NewID(connectd.PrefixUser), ProjectID: q.ID, Email: u.Email, CreatedAt: at} // same email, other project
	rec := func(projectID string, kind connectd.ResourceKind, user, parent, status, data string) *connectd.ResourceRecord {
		return &connectd.ResourceRecord{Kind: kind, ProjectID: projectID, ID: connectd.NewID(kind.Prefix()),
			UserID: user, ParentID: parent, Status: status, Data: []byte(data), CreatedAt: at, UpdatedAt: at}
	}
	plan := rec(p.ID, connectd.KindPlan, "", "", "active", `{"name":"Basic","price":{"amount":1000,"currency":"EUR"},"allowances":{"dataBytes":1073741824}}`)
	sim := rec(p.ID, connectd.KindSIM, "", "", "available", `{"type":"eSIM","iccid":"8944500000000000001"}`)
	sub := rec(p.ID, connectd.KindSubscription, u.ID, "", "active", `{"plan":"`+plan.ID+`","sim":"`+sim.ID+`","recurring":true}`)
	pay := rec(p.ID, connectd.KindPayment, u.ID, sub.ID, "succeeded", `{"amount":1000,"currency":"EUR"}`)
	dev := rec(p.ID, connectd.KindDevice, v.ID, "", "", `{"manufacturer":"Acme","model":"One","esimCapable":true}`)
	qplan := rec(q.ID, connectd.KindPlan, "", "", "draft", `{"name":"Other"}`)
	return connectd.SeedBatch{
		Projects:  []*connectd.Project{p, q},
		Users:     []*connectd.User{u, v, w},
		Resources: []*connectd.ResourceRecord{plan, sim, sub, pay, dev, qplan},
	}
}

func batchSize(b connectd.SeedBatch) int { return len(b.Projects) + len(b.Users) + len(b.Resources) }

// cloneBatch copies b deeply enough for a test to change any field of the
// copy.
func cloneBatch(b connectd.SeedBatch) connectd.SeedBatch {
	var c connectd.SeedBatch
	for _, p := range b.Projects {
		cp := *p
		cp.Settings.CallbackAllowList = slices.Clone(p.Settings.CallbackAllowList)
		c.Projects = append(c.Projects, &cp)
	}
	for _, u := range b.Users {
		cu := *u
		if u.Metadata != nil {
			cu.Metadata = map[string]string{}
			for k, v := range u.Metadata {
				cu.Metadata[k] = v
			}
		}
		if u.Address != nil {
			a := *u.Address
			cu.Address = &a
		}
		c.Users = append(c.Users, &cu)
	}
	for _, r := range b.Resources {
		cr := *r
		cr.Data = slices.Clone(r.Data)
		c.Resources = append(c.Resources, &cr)
	}
	return c
}

// seedCheck checks that the store holds every object of b as b has it.
func seedCheck(t testing.TB, s ResourceStore, b connectd.SeedBatch) {
	t.Helper()
	ctx := t.Context()
	for _, p := range b.Projects {
		got, err := s.GetProject(ctx, p.ID)
		is(t, "GetProject", err, nil)
		equal(t, "seeded project", got, p)
	}
	for _, u := range b.Users {
		got, err := s.GetUser(ctx, u.ProjectID, u.ID)
		is(t, "GetUser", err, nil)
		equalUser(t, "seeded user", got, u)
	}
	for _, r := range b.Resources {
		want := *r
		want.Version = 1
		equalRecord(t, "seeded resource", getRecord(t, s, r), &want)
	}
}

// seedConflict checks that err is a *SeedConflictError naming the object
// and, in its Why, the word.
func seedConflict(t testing.TB, what string, err error, kind, id, word string) {
	t.Helper()
	var sc *connectd.SeedConflictError
	if !errors.As(err, &sc) {
		t.Fatalf("%s: got error %v, want a *connectd.SeedConflictError", what, err)
	}
	if sc.Kind != kind || sc.ID != id {
		t.Fatalf("%s: the conflict names %s %s, want %s %s", what, sc.Kind, sc.ID, kind, id)
	}
	if !strings.Contains(strings.ToLower(sc.Why), strings.ToLower(word)) {
		t.Fatalf("%s: the conflict's Why %q does not name %q", what, sc.Why, word)
	}
}

var seedTests = []test{
	resourceTest("LoadReload", func(t *testing.T, s ResourceStore) {
		ctx := t.Context()
		b := seedFixture()
		n, err := s.ApplySeed(ctx, b)
		is(t, "ApplySeed", err, nil)
		equal(t, "created by the first load", n, batchSize(b))
		seedCheck(t, s, b)
		before := takeSnapshot(t, s)

		// The same content with other timestamps, JSON in another key order
		// and spacing, and an empty map for nil metadata, is the same.
		again := cloneBatch(b)
		later := time.Hour
		for _, p := range again.Projects {
			p.CreatedAt = p.CreatedAt.Add(later)
		}
		for _, u := range again.Users {
			u.CreatedAt = u.CreatedAt.Add(later)
			if u.Metadata == nil {
				u.Metadata = map[string]string{}
			}
		}
		for _, r := range again.Resources {
			r.CreatedAt, r.UpdatedAt = r.CreatedAt.Add(later), r.UpdatedAt.Add(later)
			r.Version = 42
		}
		again.Resources[0].Data = []byte(`{ "allowances": {"dataBytes": 1073741824}, "price": {"currency": "EUR", "amount": 1000}, "name": "Basic" }`)
		n, err = s.ApplySeed(ctx, again)
		is(t, "ApplySeed of the same batch", err, nil)
		equal(t, "created by the second load", n, 0)
		equal(t, "the store after the second load", takeSnapshot(t, s), before)

		// A batch of old and new objects creates the new ones only.
		more := cloneBatch(b)
		u := &connectd.User{ID: connectd.NewID(connectd.PrefixUser), ProjectID: b.Projects[0].ID, Email: "new-" + uid() + "@example.com", CreatedAt: now()}
		more.Users = append(more.Users, u)
		sim := newRecord(b.Projects[0].ID, connectd.KindSIM)
		more.Resources = append([]*connectd.ResourceRecord{sim}, more.Resources...)
		n, err = s.ApplySeed(ctx, more)
		is(t, "ApplySeed of a batch with new objects", err, nil)
		equal(t, "created by the third load", n, 2)
		seedCheck(t, s, more)

		// An object listed twice, the same both times, is created once.
		twice := connectd.SeedBatch{Resources: []*connectd.ResourceRecord{newRecord(b.Projects[1].ID, connectd.KindAddon)}}
		dup := *twice.Resources[0]
		twice.Resources = append(twice.Resources, &dup)
		n, err = s.ApplySeed(ctx, twice)
		is(t, "ApplySeed of an object listed twice", err, nil)
		equal(t, "created by a batch listing an object twice", n, 1)

		n, err = s.ApplySeed(ctx, connectd.SeedBatch{})
		is(t, "ApplySeed of an empty batch", err, nil)
		equal(t, "created by an empty batch", n, 0)
	}),
	resourceTest("Conflicts", func(t *testing.T, s ResourceStore) {
		ctx := t.Context()
		b := seedFixture()
		_, err := s.ApplySeed(ctx, b)
		is(t, "ApplySeed", err, nil)
		before := takeSnapshot(t, s)
		cases := []struct {
			name   string
			change func(c *connectd.SeedBatch) (kind, id, word string)
		}{
			{"project name", func(c *connectd.SeedBatch) (string, string, string) {
				c.Projects[0].Name += "!"
				return "project", c.Projects[0].ID, "name"
			}},
			{"project settings", func(c *connectd.SeedBatch) (string, string, string) {
				c.Projects[1].Settings.PortingRetry = !c.Projects[1].Settings.PortingRetry
				return "project", c.Projects[1].ID, "settings"
			}},
			{"user email", func(c *connectd.SeedBatch) (string, string, string) {
				c.Users[0].Email = "other-" + uid() + "@example.com"
				return "user", c.Users[0].ID, "email"
			}},
			{"user email case", func(c *connectd.SeedBatch) (string, string, string) {
				c.Users[1].Email = strings.ToUpper(c.Users[1].Email)
				return "user", c.Users[1].ID, "email"
			}},
			{"user full name", func(c *connectd.SeedBatch) (string, string, string) {
				c.Users[0].FullName = ptr("Augusta Ada King")
				return "user", c.Users[0].ID, "name"
			}},
			{"user birthday", func(c *connectd.SeedBatch) (string, string, string) {
				c.Users[1].Birthday = ptr("2001-01-01")
				return "user", c.Users[1].ID, "birthday"
			}},
			{"user locale", func(c *connectd.SeedBatch) (string, string, string) {
				c.Users[0].PreferredLocale = nil
				return "user", c.Users[0].ID, "locale"
			}},
			{"user metadata", func(c *connectd.SeedBatch) (string, string, string) {
				c.Users[0].Metadata["tier"] = "silver"
				return "user", c.Users[0].ID, "metadata"
			}},
			{"user address", func(c *connectd.SeedBatch) (string, string, string) {
				c.Users[0].Address.Line2 = nil
				return "user", c.Users[0].ID, "address"
			}},
			{"resource data", func(c *connectd.SeedBatch) (string, string, string) {
				r := c.Resources[2]
				r.Data = []byte(strings.Replace(string(r.Data), "true", "false", 1))
				return string(r.Kind), r.ID, "data"
			}},
			{"resource status", func(c *connectd.SeedBatch) (string, string, string) {
				r := c.Resources[1]
				r.Status = "assigned"
				return string(r.Kind), r.ID, "status"
			}},
			{"resource user", func(c *connectd.SeedBatch) (string, string, string) {
				r := c.Resources[4]
				r.UserID = c.Users[0].ID
				return string(r.Kind), r.ID, "user"
			}},
			{"resource parent", func(c *connectd.SeedBatch) (string, string, string) {
				r := c.Resources[3]
				r.ParentID = ""
				return string(r.Kind), r.ID, "parent"
			}},
			{"resource kind", func(c *connectd.SeedBatch) (string, string, string) {
				r := c.Resources[0]
				r.Kind = connectd.KindAddon
				return string(r.Kind), r.ID, "kind"
			}},
			{"an object listed twice, differently", func(c *connectd.SeedBatch) (string, string, string) {
				r := newRecord(c.Projects[0].ID, connectd.KindSIM)
				other := *r
				other.Status = "assigned"
				c.Resources = append(c.Resources, r, &other)
				return string(r.Kind), r.ID, "status"
			}},
		}
		for _, tc := range cases {
			c := cloneBatch(b)
			kind, id, word := tc.change(&c)
			// New objects ahead of the conflict, in every list: none of them
			// may be written.
			np := &connectd.Project{ID: "p-" + uid(), Name: "New", Settings: connectd.DefaultProjectSettings(), CreatedAt: now()}
			nu := &connectd.User{ID: connectd.NewID(connectd.PrefixUser), ProjectID: b.Projects[0].ID, Email: "new-" + uid() + "@example.com", CreatedAt: now()}
			nr := newRecord(b.Projects[0].ID, connectd.KindPlan)
			c.Projects = append([]*connectd.Project{np}, c.Projects...)
			c.Users = append([]*connectd.User{nu}, c.Users...)
			c.Resources = append([]*connectd.ResourceRecord{nr}, c.Resources...)
			n, err := s.ApplySeed(ctx, c)
			seedConflict(t, tc.name, err, kind, id, word)
			equal(t, tc.name+": created", n, 0)
			equal(t, tc.name+": the store after the conflict", takeSnapshot(t, s), before)
		}
	}),
	resourceTest("EmailTaken", func(t *testing.T, s ResourceStore) {
		ctx := t.Context()
		p := mkProject(t, s)
		u := mkUser(t, s, p.ID)
		before := takeSnapshot(t, s)
		nr := newRecord(p.ID, connectd.KindPlan)
		other := &connectd.User{ID: connectd.NewID(connectd.PrefixUser), ProjectID: p.ID, Email: strings.ToUpper(u.Email), CreatedAt: now()}
		n, err := s.ApplySeed(ctx, connectd.SeedBatch{Users: []*connectd.User{other}, Resources: []*connectd.ResourceRecord{nr}})
		seedConflict(t, "a user with another user's email", err, "user", other.ID, "email")
		equal(t, "created", n, 0)
		equal(t, "the store after the conflict", takeSnapshot(t, s), before)
	}),
	resourceTest("MissingProject", func(t *testing.T, s ResourceStore) {
		ctx := t.Context()
		p := mkProject(t, s)
		before := takeSnapshot(t, s)
		ok := newRecord(p.ID, connectd.KindPlan)
		lost := newRecord("p-"+uid(), connectd.KindPlan)
		_, err := s.ApplySeed(ctx, connectd.SeedBatch{Resources: []*connectd.ResourceRecord{ok, lost}})
		is(t, "ApplySeed of a resource of an unknown project", err, connectd.ErrNotFound)
		lostUser := &connectd.User{ID: connectd.NewID(connectd.PrefixUser), ProjectID: "p-" + uid(), Email: "lost@example.com", CreatedAt: now()}
		_, err = s.ApplySeed(ctx, connectd.SeedBatch{Resources: []*connectd.ResourceRecord{ok}, Users: []*connectd.User{lostUser}})
		is(t, "ApplySeed of a user of an unknown project", err, connectd.ErrNotFound)
		equal(t, "the store after the failed loads", takeSnapshot(t, s), before)
	}),
}
