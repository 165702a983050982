package platform_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/platform"
	"github.com/connectd/connectd/store/sqlite/sqlitetest"
)

func ptr[T any](v T) *T { return &v }

// fixture is a platform on a fresh store, with a project and two users.
type fixture struct {
	store   connectd.Store
	b       *platform.Builtin
	project string
	u, v    *connectd.User
	at      time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := t.Context()
	s := sqlitetest.New(t)
	at := time.Now().UTC().Truncate(time.Millisecond)
	p := &connectd.Project{ID: "p-test", Name: "Test", Settings: connectd.DefaultProjectSettings(), CreatedAt: at}
	if err := s.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: s, b: platform.New(s), project: p.ID, at: at}
	f.b.Now = func() time.Time { return at }
	for _, u := range []**connectd.User{&f.u, &f.v} {
		id := connectd.NewID(connectd.PrefixUser)
		*u = &connectd.User{ID: id, ProjectID: p.ID, Email: id + "@example.com", CreatedAt: at}
		if err := s.CreateUser(ctx, *u, connectd.Idem{}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// plan creates a plan of the given status.
func (f *fixture) plan(t *testing.T, status string) *connectd.Plan {
	t.Helper()
	p := &connectd.Plan{Name: "Basic", Status: status}
	check(t, "Create plan", f.b.Plans().Create(t.Context(), f.project, p))
	return p
}

func check(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func same(t testing.TB, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Fatalf("%s:\ngot  %s\nwant %s", what, g, w)
	}
}

// crud creates v through r, reads it back, lists it with f, and updates it
// with mutate, checking each step against the value itself.
func crud[T any](t *testing.T, f *fixture, r connectd.Resources[T], v *T, id func(*T) string, filter connectd.PlatformFilter, mutate func(*T)) *T {
	t.Helper()
	ctx := t.Context()
	check(t, "Create", r.Create(ctx, f.project, v))
	if id(v) == "" {
		t.Fatal("Create left the ID empty")
	}
	got, err := r.Get(ctx, f.project, id(v))
	check(t, "Get", err)
	same(t, "Get after Create", got, v)

	_, err = r.Get(ctx, "p-other", id(v))
	if !errors.Is(err, connectd.ErrNotFound) {
		t.Fatalf("Get in another project: %v, want ErrNotFound", err)
	}
	page, err := r.List(ctx, f.project, filter)
	check(t, "List", err)
	if len(page.Items) != 1 || page.MoreAfter || page.MoreBefore {
		t.Fatalf("List: %d items, MoreAfter %v, MoreBefore %v; want the one", len(page.Items), page.MoreAfter, page.MoreBefore)
	}
	same(t, "List", page.Items[0], v)

	// A Replace of a version that moved on writes nothing.
	stale, version, err := r.GetVersioned(ctx, f.project, id(v))
	check(t, "GetVersioned", err)
	same(t, "GetVersioned", stale, v)
	want := *v
	mutate(&want)
	updated, err := connectd.UpdateResource(ctx, r, f.project, id(v), func(x *T) error { mutate(x); return nil })
	check(t, "UpdateResource", err)
	same(t, "UpdateResource's result", updated, &want)
	if err := r.Replace(ctx, f.project, stale, version); !errors.Is(err, connectd.ErrConflict) {
		t.Fatalf("Replace of a stale version: %v, want ErrConflict", err)
	}
	got, err = r.Get(ctx, f.project, id(v))
	check(t, "Get", err)
	same(t, "Get after UpdateResource", got, &want)
	return got
}

func TestKinds(t *testing.T) {
	f := newFixture(t)
	b := f.b
	ctx := t.Context()
	gb := int64(1 << 30)

	plan := crud(t, f, b.Plans(), &connectd.Plan{
		Name: "Basic", Description: ptr("The basic plan"), Status: connectd.PlanActive,
		Price:        connectd.Price{Amount: 1999, Currency: "EUR"},
		Validity:     connectd.Validity{Type: connectd.ValidityRecurring},
		Allowances:   connectd.Allowances{DataBytes: &gb},
		Requirements: connectd.Requirements{FullName: true},
	}, func(v *connectd.Plan) string { return v.ID }, connectd.PlatformFilter{Status: connectd.PlanActive},
		func(v *connectd.Plan) { v.Price.Amount = 2499; v.Description = nil })
	if !strings.HasPrefix(plan.ID, connectd.PrefixPlan+"_") || !plan.CreatedAt.Equal(f.at) {
		t.Fatalf("plan ID %s, CreatedAt %v", plan.ID, plan.CreatedAt)
	}

	addon := crud(t, f, b.Addons(), &connectd.Addon{
		Name: "Roaming", Status: connectd.PlanActive, Price: connectd.Price{Amount: 500, Currency: "EUR"},
		Plans: []string{plan.ID},
	}, func(v *connectd.Addon) string { return v.ID }, connectd.PlatformFilter{},
		func(v *connectd.Addon) { v.Status = connectd.PlanArchived })

	sim := crud(t, f, b.SIMs(), &connectd.SIM{
		ID: connectd.NewID(connectd.PrefixSIM), Type: connectd.SIMTypeESIM, ICCID: "8944500000000000001",
		Status: connectd.SIMAvailable, ActivationCode: ptr("LPA:1$smdp.example.com$ABC"),
		CreatedAt: f.at.Add(-time.Hour), // kept when given
	}, func(v *connectd.SIM) string { return v.ID }, connectd.PlatformFilter{Status: connectd.SIMAvailable},
		func(v *connectd.SIM) { v.Status = connectd.SIMAssigned })
	if !sim.CreatedAt.Equal(f.at.Add(-time.Hour)) {
		t.Fatalf("SIM CreatedAt %v, want the one given", sim.CreatedAt)
	}

	device := crud(t, f, b.Devices(), &connectd.Device{
		User: &f.u.ID, Manufacturer: "Acme", Model: "One", EsimCapable: true, IMEI: ptr("490154203237518"),
	}, func(v *connectd.Device) string { return v.ID }, connectd.PlatformFilter{UserID: f.u.ID},
		func(v *connectd.Device) { v.Model = "One Pro" })

	start := f.at
	sub := crud(t, f, b.Subscriptions(), &connectd.Subscription{
		User: f.u.ID, Plan: plan.ID, SIM: &sim.ID, Device: &device.ID, PhoneNumber: ptr("+4915112345678"),
		Status: connectd.SubscriptionActive, Recurring: true,
		CurrentPeriod: &connectd.Period{Start: start, End: start.AddDate(0, 1, 0)},
		Addons:        []string{addon.ID},
	}, func(v *connectd.Subscription) string { return v.ID }, connectd.PlatformFilter{UserID: f.u.ID, Status: connectd.SubscriptionActive},
		func(v *connectd.Subscription) { v.EndedAt = ptr(start.AddDate(0, 1, 0)) })
	if sub.Cancelable() || !sub.Resumable() {
		t.Fatal("the canceled subscription is still cancelable")
	}

	pm := crud(t, f, b.PaymentMethods(), &connectd.PaymentMethod{
		User: f.u.ID, Type: "card", Card: connectd.Card{Brand: "visa", Last4: "4242", ExpMonth: 12, ExpYear: 2030},
	}, func(v *connectd.PaymentMethod) string { return v.ID }, connectd.PlatformFilter{UserID: f.u.ID},
		func(v *connectd.PaymentMethod) { v.Default = true })

	crud(t, f, b.Payments(), &connectd.Payment{
		User: f.u.ID, Subscription: &sub.ID, PaymentMethod: &pm.ID, Amount: 1999, Currency: "EUR",
		Status: connectd.PaymentRequiresConfirmation,
	}, func(v *connectd.Payment) string { return v.ID }, connectd.PlatformFilter{Subscription: sub.ID},
		func(v *connectd.Payment) { v.Status = connectd.PaymentSucceeded })

	porting := crud(t, f, b.Portings(), &connectd.Porting{
		Subscription: sub.ID, PhoneNumber: "+4915199999999", Status: connectd.PortingDraft,
		DonorProvider: ptr("Other Mobile"), AccountNumber: ptr("A-1"), AccountPin: ptr("1234"),
		Address: &connectd.Address{Line1: "1 Main St", City: "Berlin", PostalCode: "10115", Country: "DE"},
	}, func(v *connectd.Porting) string { return v.ID }, connectd.PlatformFilter{Subscription: sub.ID, UserID: f.u.ID},
		func(v *connectd.Porting) { v.Status = connectd.PortingInitiated; v.AccountPin = ptr("5678") })
	if porting.AccountPin == nil || *porting.AccountPin != "5678" || !porting.AccountPinProvided {
		t.Fatalf("porting PIN %v, provided %v", porting.AccountPin, porting.AccountPinProvided)
	}

	// Lists filter by the indexed columns.
	subs, err := b.Subscriptions().List(ctx, f.project, connectd.PlatformFilter{UserID: f.v.ID})
	check(t, "List", err)
	if len(subs.Items) != 0 {
		t.Fatalf("List of another user's subscriptions: %d", len(subs.Items))
	}
	plans, err := b.Plans().List(ctx, f.project, connectd.PlatformFilter{Status: connectd.PlanArchived})
	check(t, "List", err)
	if len(plans.Items) != 0 {
		t.Fatalf("List of archived plans: %d", len(plans.Items))
	}
	// Kinds do not mix.
	if _, err := b.Addons().Get(ctx, f.project, plan.ID); !errors.Is(err, connectd.ErrNotFound) {
		t.Fatalf("Get of a plan as an add-on: %v, want ErrNotFound", err)
	}
	// A taken ID is a conflict.
	if err := b.Plans().Create(ctx, f.project, &connectd.Plan{ID: plan.ID, Name: "Again"}); !errors.Is(err, connectd.ErrConflict) {
		t.Fatalf("Create with a taken ID: %v, want ErrConflict", err)
	}
}

// wantDetail fails unless err is a 422 *connectd.Error with a detail of the
// field and code.
func wantDetail(t testing.TB, what string, err error, field, code string) {
	t.Helper()
	var e *connectd.Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: got %v, want a *connectd.Error", what, err)
	}
	if e.Type != connectd.TypeUnprocessable {
		t.Fatalf("%s: type %s, want %s", what, e.Type, connectd.TypeUnprocessable)
	}
	for _, d := range e.Details {
		if d.Field == field && d.Code == code {
			return
		}
	}
	t.Fatalf("%s: details %+v lack field %q with code %q", what, e.Details, field, code)
}

func TestReferences(t *testing.T) {
	f := newFixture(t)
	b := f.b
	ctx := t.Context()
	plan := f.plan(t, connectd.PlanActive)

	err := b.Subscriptions().Create(ctx, f.project, &connectd.Subscription{User: f.u.ID, Plan: connectd.NewID(connectd.PrefixPlan), Status: connectd.SubscriptionPending})
	wantDetail(t, "subscription with an unknown plan", err, "plan", "notFound")
	err = b.Subscriptions().Create(ctx, f.project, &connectd.Subscription{User: connectd.NewID(connectd.PrefixUser), Plan: plan.ID})
	wantDetail(t, "subscription of an unknown user", err, "user", "notFound")
	err = b.Addons().Create(ctx, f.project, &connectd.Addon{Name: "X", Plans: []string{plan.ID, "plan_nope"}})
	wantDetail(t, "add-on of an unknown plan", err, "plans[1]", "notFound")
	page, err := b.Subscriptions().List(ctx, f.project, connectd.PlatformFilter{})
	check(t, "List", err)
	if len(page.Items) != 0 {
		t.Fatalf("a refused subscription was stored: %d", len(page.Items))
	}

	// v's device cannot go on u's subscription.
	dev := &connectd.Device{User: &f.v.ID, Manufacturer: "Acme", Model: "One"}
	check(t, "Create device", b.Devices().Create(ctx, f.project, dev))
	err = b.Subscriptions().Create(ctx, f.project, &connectd.Subscription{User: f.u.ID, Plan: plan.ID, Device: &dev.ID})
	wantDetail(t, "subscription with another user's device", err, "device", "notOwned")

	sub := &connectd.Subscription{User: f.u.ID, Plan: plan.ID, Status: connectd.SubscriptionActive}
	check(t, "Create subscription", b.Subscriptions().Create(ctx, f.project, sub))
	err = b.Payments().Create(ctx, f.project, &connectd.Payment{User: f.v.ID, Subscription: &sub.ID, Amount: 100, Currency: "EUR"})
	wantDetail(t, "payment for another user's subscription", err, "subscription", "notOwned")

	// A porting's user is its subscription's, whatever the caller says, and
	// its PIN is kept but never shown.
	p := &connectd.Porting{Subscription: sub.ID, User: f.v.ID, PhoneNumber: "+15551234567", Status: connectd.PortingDraft, AccountPin: ptr("9876")}
	check(t, "Create porting", b.Portings().Create(ctx, f.project, p))
	if p.User != f.u.ID {
		t.Fatalf("porting user %s, want the subscription's %s", p.User, f.u.ID)
	}
	got, err := b.Portings().Get(ctx, f.project, p.ID)
	check(t, "Get porting", err)
	if got.User != f.u.ID || got.AccountPin == nil || *got.AccountPin != "9876" || !got.AccountPinProvided {
		t.Fatalf("porting: user %s, PIN %v, provided %v", got.User, got.AccountPin, got.AccountPinProvided)
	}
	js, err := json.Marshal(got)
	check(t, "Marshal porting", err)
	if strings.Contains(string(js), "9876") || strings.Contains(string(js), `"accountPin"`) {
		t.Fatalf("the porting's JSON shows its PIN: %s", js)
	}
	if !strings.Contains(string(js), `"accountPinProvided":true`) {
		t.Fatalf("the porting's JSON lacks accountPinProvided: %s", js)
	}
	mine, err := b.Portings().List(ctx, f.project, connectd.PlatformFilter{UserID: f.u.ID})
	check(t, "List portings", err)
	if len(mine.Items) != 1 || mine.Items[0].ID != p.ID {
		t.Fatalf("portings of the subscription's user: %d", len(mine.Items))
	}
	// An update cannot move the porting to another user either, and
	// clearing the PIN clears AccountPinProvided.
	got, err = connectd.UpdateResource(ctx, b.Portings(), f.project, p.ID, func(p *connectd.Porting) error {
		p.User, p.AccountPin = f.v.ID, nil
		return nil
	})
	check(t, "Update porting", err)
	if got.User != f.u.ID || got.AccountPinProvided {
		t.Fatalf("updated porting: user %s, PIN provided %v", got.User, got.AccountPinProvided)
	}
	// An update whose references fail writes nothing.
	_, err = connectd.UpdateResource(ctx, b.Subscriptions(), f.project, sub.ID, func(s *connectd.Subscription) error {
		s.Plan = "plan_gone"
		return nil
	})
	wantDetail(t, "update to an unknown plan", err, "plan", "notFound")
	stored, err := b.Subscriptions().Get(ctx, f.project, sub.ID)
	check(t, "Get subscription", err)
	same(t, "subscription after the refused update", stored, sub)
}

func TestUpdate(t *testing.T) {
	f := newFixture(t)
	b := f.b
	ctx := t.Context()
	plan := f.plan(t, connectd.PlanDraft)
	plans := b.Plans()
	increment := func(p *connectd.Plan) error { p.Price.Amount++; return nil }

	// mutate's error comes back as is, and nothing is written.
	boom := errors.New("boom")
	_, err := connectd.UpdateResource(ctx, plans, f.project, plan.ID, func(p *connectd.Plan) error { p.Name = "Changed"; return boom })
	if err != boom {
		t.Fatalf("UpdateResource: %v, want the mutator's error", err)
	}
	_, err = connectd.UpdateResource(ctx, plans, f.project, connectd.NewID(connectd.PrefixPlan), increment)
	if !errors.Is(err, connectd.ErrNotFound) {
		t.Fatalf("UpdateResource of an unknown plan: %v, want ErrNotFound", err)
	}
	// Replace names the resource by v's ID, so a mutator may not change it.
	_, err = connectd.UpdateResource(ctx, plans, f.project, plan.ID, func(p *connectd.Plan) error { p.ID = "plan_other"; return nil })
	if err == nil {
		t.Fatal("UpdateResource let the mutator change the ID")
	}
	// The built-in's own update (its actions') keeps ID and CreatedAt,
	// whatever the mutator does.
	got, err := platform.Update(ctx, plans, f.project, plan.ID, func(p *connectd.Plan) error {
		p.ID, p.CreatedAt = "plan_other", time.Time{}
		return nil
	})
	check(t, "update", err)
	same(t, "update changing ID and CreatedAt", got, plan)
	stored, err := plans.Get(ctx, f.project, plan.ID)
	check(t, "Get", err)
	same(t, "stored plan", stored, plan)

	// A write between UpdateResource's read and its write makes it redo
	// mutate on the fresh copy: both increments land.
	calls := 0
	got, err = connectd.UpdateResource(ctx, plans, f.project, plan.ID, func(p *connectd.Plan) error {
		calls++
		if calls == 1 {
			_, err := connectd.UpdateResource(ctx, plans, f.project, plan.ID, func(p *connectd.Plan) error { p.Price.Amount += 100; return nil })
			check(t, "UpdateResource in between", err)
		}
		return increment(p)
	})
	check(t, "UpdateResource", err)
	if calls != 2 || got.Price.Amount != 101 {
		t.Fatalf("UpdateResource with a write in between: %d mutate calls, amount %d; want 2 calls and 101", calls, got.Price.Amount)
	}

	// Concurrent increments through UpdateResource: none is lost. It gives up
	// with ErrConflict after a few attempts (the service answers a
	// retryable 409), which a writer that keeps winning can cause; an
	// increment is then not made, and reported as such.
	const workers, increments = 2, 40
	var wg sync.WaitGroup
	var mu sync.Mutex
	done, conflicts := 0, 0
	var fault error
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < increments; i++ {
				_, err := connectd.UpdateResource(context.Background(), plans, f.project, plan.ID, increment)
				mu.Lock()
				switch {
				case err == nil:
					done++
				case errors.Is(err, connectd.ErrConflict):
					conflicts++
				default:
					fault = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	check(t, "concurrent UpdateResource", fault)
	got, err = plans.Get(ctx, f.project, plan.ID)
	check(t, "Get", err)
	if want := int64(101 + done); got.Price.Amount != want {
		t.Fatalf("after %d successful concurrent increments the amount is %d, want %d", done, got.Price.Amount, want)
	}
	if conflicts > 0 {
		t.Logf("%d of %d concurrent UpdateResources gave up with ErrConflict", conflicts, workers*increments)
	}
}

func TestSeedRecord(t *testing.T) {
	f := newFixture(t)
	b := f.b
	ctx := t.Context()
	// References to nothing: a seed batch checks them itself.
	sub := &connectd.Subscription{User: "user_fromfile", Plan: "plan_fromfile", SIM: ptr("sim_fromfile"), Status: connectd.SubscriptionActive}
	rec, err := b.SeedRecord(ctx, f.project, sub)
	check(t, "SeedRecord subscription", err)
	if rec.Kind != connectd.KindSubscription || rec.ProjectID != f.project || rec.UserID != "user_fromfile" || rec.Status != connectd.SubscriptionActive ||
		!strings.HasPrefix(rec.ID, connectd.PrefixSubscription+"_") || rec.ID != sub.ID || !rec.CreatedAt.Equal(f.at) {
		t.Fatalf("SeedRecord: %+v", rec)
	}
	porting := &connectd.Porting{Subscription: sub.ID, User: "user_fromfile", PhoneNumber: "+15550000000", Status: connectd.PortingDraft, AccountPin: ptr("1111")}
	prec, err := b.SeedRecord(ctx, f.project, porting)
	check(t, "SeedRecord porting", err)
	if prec.UserID != "user_fromfile" || prec.ParentID != sub.ID || !porting.AccountPinProvided {
		t.Fatalf("SeedRecord porting: user %q parent %q, PIN provided %v", prec.UserID, prec.ParentID, porting.AccountPinProvided)
	}
	// Every kind has its record maker; anything else is refused.
	for _, v := range []connectd.Resource{&connectd.Plan{}, &connectd.Addon{}, &connectd.SIM{}, &connectd.Device{},
		&connectd.Subscription{}, &connectd.PaymentMethod{}, &connectd.Payment{}, &connectd.Porting{}} {
		rec, err := b.SeedRecord(ctx, f.project, v)
		check(t, "SeedRecord "+string(v.Kind()), err)
		if rec.Kind != v.Kind() || rec.ID != v.ResourceID() || !strings.HasPrefix(rec.ID, v.Kind().Prefix()+"_") {
			t.Fatalf("SeedRecord of a %s: kind %s, ID %s", v.Kind(), rec.Kind, rec.ID)
		}
	}
	for _, v := range []any{&connectd.User{}, connectd.Plan{}, nil} {
		if _, err := b.SeedRecord(ctx, f.project, v); err == nil {
			t.Fatalf("SeedRecord of a %T worked", v)
		}
	}

	n, err := f.store.ApplySeed(ctx, connectd.SeedBatch{Resources: []*connectd.ResourceRecord{rec, prec}})
	check(t, "ApplySeed", err)
	if n != 2 {
		t.Fatalf("ApplySeed created %d, want 2", n)
	}
	got, err := b.Subscriptions().Get(ctx, f.project, sub.ID)
	check(t, "Get", err)
	same(t, "seeded subscription", got, sub)
	gotP, err := b.Portings().Get(ctx, f.project, porting.ID)
	check(t, "Get porting", err)
	same(t, "seeded porting", gotP, porting)

	// The same file again, later: its records are the same content.
	b.Now = func() time.Time { return f.at.Add(time.Hour) }
	again := *sub
	again.CreatedAt = time.Time{}
	rec2, err := b.SeedRecord(ctx, f.project, &again)
	check(t, "SeedRecord", err)
	n, err = f.store.ApplySeed(ctx, connectd.SeedBatch{Resources: []*connectd.ResourceRecord{rec2}})
	check(t, "ApplySeed again", err)
	if n != 0 {
		t.Fatalf("ApplySeed again created %d, want 0", n)
	}
}
