// Package platform is the built-in connectd.Platform: plans, add-ons, SIMs,
// devices, subscriptions, payment methods, payments and portings, kept in
// connectd's own database through the few methods of Store. It is one
// implementation of connectd.Platform, whose interface carries only values
// (queries and commands), so that another may live across a network.
package platform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/connectd/connectd"
)

// Store is what the built-in platform needs of a database: its resources,
// and users to check references against. Both backends' connectd.Store
// implement it.
type Store interface {
	CreateResource(ctx context.Context, r *connectd.ResourceRecord) error
	GetResource(ctx context.Context, projectID string, kind connectd.ResourceKind, id string) (*connectd.ResourceRecord, error)
	ListResources(ctx context.Context, projectID string, f connectd.ResourceFilter) (connectd.Page[*connectd.ResourceRecord], error)
	WriteResources(ctx context.Context, projectID string, writes []connectd.ResourceWrite) error
	GetUser(ctx context.Context, projectID, id string) (*connectd.User, error)
}

// Builtin implements connectd.Platform on a Store.
type Builtin struct {
	store Store
	// Now returns the current time; tests may replace it.
	Now func() time.Time
}

var _ connectd.Platform = (*Builtin)(nil)

// New returns the built-in platform on store.
func New(store Store) *Builtin { return &Builtin{store: store, Now: time.Now} }

func (b *Builtin) now() time.Time { return b.Now().UTC().Truncate(time.Millisecond) }

// spec says how one kind maps to a ResourceRecord.
type spec[T any] struct {
	kind connectd.ResourceKind
	// fields returns where v keeps its ID and creation time, which the
	// record keeps in columns.
	fields func(v *T) (id *string, createdAt *time.Time)
	// index checks v's references into refs and returns its indexed
	// columns.
	index func(ctx context.Context, refs *refErrors, projectID string, v *T) (user, parent, status string)
	// key returns v's unique key (connectd.ResourceRecord.UniqueKey), ""
	// for none; keyTaken is the answer when another resource holds it.
	// Kinds without a natural key leave both nil.
	key      func(v *T) string
	keyTaken func(v *T) *connectd.Error
	// linked returns the writes that go with a write of the resource in
	// the same transaction: those of the subscription's SIM. old is the
	// stored record (nil for a create), rec the one written.
	linked func(ctx context.Context, b *Builtin, projectID string, old, rec *connectd.ResourceRecord) ([]connectd.ResourceWrite, error)
	// marshal and unmarshal default to encoding/json; payments and
	// portings override them to keep a field their JSON hides.
	marshal   func(*T) ([]byte, error)
	unmarshal func([]byte, *T) error
}

// newSpec completes s with the kind of T.
func newSpec[T any](s spec[T]) spec[T] {
	s.kind = any(new(T)).(connectd.Resource).Kind()
	return s
}

// seedRecord is record without reference checks, for a v of any kind.
func (s spec[T]) seedRecord(ctx context.Context, b *Builtin, projectID string, v any) (*connectd.ResourceRecord, error) {
	t, ok := v.(*T)
	if !ok {
		return nil, fmt.Errorf("platform: %T is not a platform resource", v)
	}
	return resources[T]{b, s}.record(ctx, projectID, t, false)
}

type resources[T any] struct {
	b    *Builtin
	spec spec[T]
}

func (r resources[T]) encode(v *T) ([]byte, error) {
	c := *v
	// The timestamp lives in its column; keeping it out of the data makes
	// "same content" comparisons (seed reloads) ignore it.
	_, createdAt := r.spec.fields(&c)
	*createdAt = time.Time{}
	if r.spec.marshal != nil {
		return r.spec.marshal(&c)
	}
	return json.Marshal(&c)
}

func (r resources[T]) decode(rec *connectd.ResourceRecord) (*T, error) {
	v := new(T)
	var err error
	if r.spec.unmarshal != nil {
		err = r.spec.unmarshal(rec.Data, v)
	} else {
		err = json.Unmarshal(rec.Data, v)
	}
	if err != nil {
		return nil, fmt.Errorf("decode %s %s: %w", rec.Kind, rec.ID, err)
	}
	id, createdAt := r.spec.fields(v)
	*id, *createdAt = rec.ID, rec.CreatedAt
	return v, nil
}

// record returns the ResourceRecord of v, checking its references unless
// checkRefs is off (SeedRecord: a seed batch checks them itself).
func (r resources[T]) record(ctx context.Context, projectID string, v *T, checkRefs bool) (*connectd.ResourceRecord, error) {
	id, ca := r.spec.fields(v)
	if *id == "" {
		*id = connectd.NewID(r.spec.kind.Prefix())
	}
	if ca.IsZero() {
		*ca = r.b.now()
	}
	refs := &refErrors{b: r.b, skip: !checkRefs}
	user, parent, status := r.spec.index(ctx, refs, projectID, v)
	if err := refs.err(); err != nil {
		return nil, err
	}
	data, err := r.encode(v)
	if err != nil {
		return nil, err
	}
	key := ""
	if r.spec.key != nil {
		key = r.spec.key(v)
	}
	return &connectd.ResourceRecord{Kind: r.spec.kind, ProjectID: projectID, ID: *id, UserID: user, ParentID: parent,
		Status: status, UniqueKey: key, Data: data, CreatedAt: ca.UTC().Truncate(time.Millisecond), UpdatedAt: r.b.now()}, nil
}

// write stores rec (a create when old is nil, else an update of old's
// version) with its linked writes, in one transaction. A unique key that
// another resource holds is the kind's answer (keyTaken).
func (r resources[T]) write(ctx context.Context, projectID string, v *T, old, rec *connectd.ResourceRecord, idem connectd.Idem) error {
	writes := []connectd.ResourceWrite{{Create: old == nil, Record: rec, Idem: idem}}
	if r.spec.linked != nil {
		more, err := r.spec.linked(ctx, r.b, projectID, old, rec)
		if err != nil {
			return err
		}
		writes = append(writes, more...)
	}
	var err error
	if len(writes) == 1 && old == nil && idem == (connectd.Idem{}) {
		err = r.b.store.CreateResource(ctx, rec)
	} else {
		err = r.b.store.WriteResources(ctx, projectID, writes)
	}
	if kt := new(connectd.KeyTakenError); errors.As(err, &kt) && kt.ID == rec.ID && r.spec.keyTaken != nil {
		return r.spec.keyTaken(v)
	}
	return err
}

func (r resources[T]) Create(ctx context.Context, projectID string, v *T) error {
	return r.CreateIdem(ctx, projectID, v, connectd.Idem{})
}

// CreateIdem inserts v; a non-zero idem is completed with v's ID in the
// transaction of the insert (a WriteResources batch of one create).
func (r resources[T]) CreateIdem(ctx context.Context, projectID string, v *T, idem connectd.Idem) error {
	rec, err := r.record(ctx, projectID, v, true)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		err = r.write(ctx, projectID, v, nil, rec, idem)
		// A linked write's version moved on (a SIM changed meanwhile):
		// read it again. The created resource's own ID is new. A lost
		// idempotency claim is final.
		if r.spec.linked == nil || !errors.Is(err, connectd.ErrConflict) || errors.Is(err, connectd.ErrClaimLost) ||
			errors.As(err, new(*connectd.KeyTakenError)) {
			return err
		}
		if _, gerr := r.b.store.GetResource(ctx, projectID, r.spec.kind, rec.ID); gerr == nil {
			return err // the ID is taken
		}
		if attempt == maxLinkedAttempts {
			// Not the create's own ID (that is new): what it links to kept
			// changing.
			return connectd.Errorf(connectd.TypeConflict, "concurrentUpdate",
				"What this %s refers to was changed by other requests at the same time; retry.", r.spec.kind)
		}
	}
}

// maxLinkedAttempts bounds the retries of a create whose linked writes
// raced with another writer.
const maxLinkedAttempts = 5

func (r resources[T]) Get(ctx context.Context, projectID, id string) (*T, error) {
	v, _, err := r.GetVersioned(ctx, projectID, id)
	return v, err
}

func (r resources[T]) GetVersioned(ctx context.Context, projectID, id string) (*T, int64, error) {
	rec, err := r.b.store.GetResource(ctx, projectID, r.spec.kind, id)
	if err != nil {
		return nil, 0, err
	}
	v, err := r.decode(rec)
	if err != nil {
		return nil, 0, err
	}
	return v, rec.Version, nil
}

func (r resources[T]) List(ctx context.Context, projectID string, f connectd.PlatformFilter) (connectd.Page[*T], error) {
	page, err := r.b.store.ListResources(ctx, projectID, connectd.ResourceFilter{
		Kind: r.spec.kind, UserID: f.UserID, ParentID: f.Subscription, Status: f.Status, ListParams: f.ListParams})
	if err != nil {
		return connectd.Page[*T]{}, err
	}
	out := connectd.Page[*T]{Items: make([]*T, 0, len(page.Items)), MoreAfter: page.MoreAfter, MoreBefore: page.MoreBefore}
	for _, rec := range page.Items {
		v, err := r.decode(rec)
		if err != nil {
			return connectd.Page[*T]{}, err
		}
		out.Items = append(out.Items, v)
	}
	return out, nil
}

func (r resources[T]) Replace(ctx context.Context, projectID string, v *T, version int64) error {
	rec, err := r.record(ctx, projectID, v, true)
	if err != nil {
		return err
	}
	rec.Version = version
	old := &connectd.ResourceRecord{Version: version}
	if r.spec.linked != nil {
		// The linked writes depend on what the stored version holds.
		if old, err = r.b.store.GetResource(ctx, projectID, r.spec.kind, rec.ID); err != nil {
			return err
		}
		if old.Version != version {
			return connectd.ErrConflict
		}
	}
	return r.write(ctx, projectID, v, old, rec, connectd.Idem{})
}

// update is connectd.UpdateResource for the built-in platform's own
// actions, whose read-mutate-write loop stays on this side of
// connectd.Resources. The ID and creation time are not mutate's to change:
// they are kept whatever it does.
func (r resources[T]) update(ctx context.Context, projectID, id string, mutate func(*T) error) (*T, error) {
	return connectd.UpdateResource(ctx, r, projectID, id, func(v *T) error {
		vid, createdAt := r.spec.fields(v)
		kept := *createdAt
		err := mutate(v)
		*vid, *createdAt = id, kept
		return err
	})
}

// The kinds: how each is kept, with its reference rules (the spec's
// index), and the typed access to it.

var planSpec = newSpec(spec[connectd.Plan]{
	fields: func(v *connectd.Plan) (*string, *time.Time) { return &v.ID, &v.CreatedAt },
	index:  byStatus(func(v *connectd.Plan) string { return v.Status }),
})

// Plans are kept with their status indexed; they reference nothing.
func (b *Builtin) Plans() connectd.Resources[connectd.Plan] {
	return resources[connectd.Plan]{b, planSpec}
}

var addonSpec = newSpec(spec[connectd.Addon]{
	fields: func(v *connectd.Addon) (*string, *time.Time) { return &v.ID, &v.CreatedAt },
	index: func(ctx context.Context, refs *refErrors, p string, v *connectd.Addon) (string, string, string) {
		for i, plan := range v.Plans {
			refs.exists(ctx, p, connectd.KindPlan, fmt.Sprintf("plans[%d]", i), plan)
		}
		return "", "", v.Status
	},
})

// Addons must name plans that exist.
func (b *Builtin) Addons() connectd.Resources[connectd.Addon] {
	return resources[connectd.Addon]{b, addonSpec}
}

var simSpec = newSpec(spec[connectd.SIM]{
	fields: func(v *connectd.SIM) (*string, *time.Time) { return &v.ID, &v.CreatedAt },
	index:  byStatus(func(v *connectd.SIM) string { return v.Status }),
	key:    func(v *connectd.SIM) string { return v.ICCID },
	keyTaken: func(v *connectd.SIM) *connectd.Error {
		return &connectd.Error{Type: connectd.TypeConflict, Code: "iccidExists",
			Message: fmt.Sprintf("Another SIM of this project has ICCID %s.", v.ICCID),
			Details: []connectd.FieldError{{Field: "iccid", Code: "taken", Message: "another SIM has this ICCID"}}}
	},
})

// SIMs are kept with their status indexed; they reference nothing. Their
// ICCID is unique in the project.
func (b *Builtin) SIMs() connectd.Resources[connectd.SIM] {
	return resources[connectd.SIM]{b, simSpec}
}

// byStatus is the index of a kind that has no owner and no references.
func byStatus[T any](status func(*T) string) func(context.Context, *refErrors, string, *T) (string, string, string) {
	return func(_ context.Context, _ *refErrors, _ string, v *T) (string, string, string) {
		return "", "", status(v)
	}
}

var deviceSpec = newSpec(spec[connectd.Device]{
	fields: func(v *connectd.Device) (*string, *time.Time) { return &v.ID, &v.CreatedAt },
	index: func(ctx context.Context, refs *refErrors, p string, v *connectd.Device) (string, string, string) {
		user := ""
		if v.User != nil {
			user = *v.User
			refs.user(ctx, p, "user", user)
		}
		return user, "", ""
	},
})

// Devices belong to a user that exists, or to nobody yet.
func (b *Builtin) Devices() connectd.Resources[connectd.Device] {
	return resources[connectd.Device]{b, deviceSpec}
}

var subscriptionSpec = newSpec(spec[connectd.Subscription]{
	fields: func(v *connectd.Subscription) (*string, *time.Time) { return &v.ID, &v.CreatedAt },
	index: func(ctx context.Context, refs *refErrors, p string, v *connectd.Subscription) (string, string, string) {
		refs.user(ctx, p, "user", v.User)
		refs.exists(ctx, p, connectd.KindPlan, "plan", v.Plan)
		if v.SIM != nil {
			refs.exists(ctx, p, connectd.KindSIM, "sim", *v.SIM)
		}
		if v.Device != nil {
			refs.owned(ctx, p, connectd.KindDevice, "device", *v.Device, v.User)
		}
		for i, a := range v.Addons {
			refs.exists(ctx, p, connectd.KindAddon, fmt.Sprintf("addons[%d]", i), a)
		}
		return v.User, "", v.Status
	},
	key:      subscriptionSIM,
	keyTaken: simTaken,
	linked:   simStatusWrites,
})

// subscriptionSIM is the unique key of a subscription: the SIM it holds,
// none once it has ended (an ended subscription keeps its sim for the
// record but frees it).
func subscriptionSIM(v *connectd.Subscription) string {
	if v.SIM == nil || v.Status == connectd.SubscriptionEnded {
		return ""
	}
	return *v.SIM
}

// simTaken is the answer to a subscription write whose SIM is on another
// subscription that has not ended.
func simTaken(v *connectd.Subscription) *connectd.Error {
	return &connectd.Error{Type: connectd.TypeConflict, Code: "simAssigned",
		Message: fmt.Sprintf("SIM %s is on another subscription that has not ended.", deref(v.SIM)),
		Details: []connectd.FieldError{{Field: "sim", Code: "assigned", Message: "the SIM is on another subscription"}}}
}

// simStatusWrites keeps SIM status in step with the subscriptions holding
// them, in the subscription's transaction: the SIM a write takes becomes
// assigned and the SIM it leaves (a change of SIM, or the subscription
// ended) available again. Each is a compare-and-swap of the version read
// here, so a SIM changed meanwhile fails the whole write (ErrConflict).
// A SIM already assigned is not written: when another subscription holds
// it, the unique index refuses the subscription write.
func simStatusWrites(ctx context.Context, b *Builtin, projectID string, old, rec *connectd.ResourceRecord) ([]connectd.ResourceWrite, error) {
	was := ""
	if old != nil {
		was = old.UniqueKey
	}
	if was == rec.UniqueKey {
		return nil, nil
	}
	var writes []connectd.ResourceWrite
	for _, c := range []struct{ id, status string }{{was, connectd.SIMAvailable}, {rec.UniqueKey, connectd.SIMAssigned}} {
		if c.id == "" {
			continue
		}
		sim, err := load(ctx, b.SIMs(), projectID, c.id)
		if errors.Is(err, connectd.ErrNotFound) {
			continue // a new SIM that does not exist is the reference check's 422
		}
		if err != nil {
			return nil, err
		}
		if sim.v.Status == c.status {
			continue
		}
		sim.v.Status = c.status
		w, err := (resources[connectd.SIM]{b, simSpec}).record(ctx, projectID, sim.v, false)
		if err != nil {
			return nil, err
		}
		w.Version = sim.rec.Version
		writes = append(writes, connectd.ResourceWrite{Record: w})
	}
	return writes, nil
}

// Subscriptions need their user, plan, SIM and add-ons to exist, and a
// device that is not another user's. A SIM is on at most one subscription
// that has not ended (the database's unique index), and its status follows:
// assigned while one holds it, available once none does.
func (b *Builtin) Subscriptions() connectd.Resources[connectd.Subscription] {
	return resources[connectd.Subscription]{b, subscriptionSpec}
}

var paymentMethodSpec = newSpec(spec[connectd.PaymentMethod]{
	fields: func(v *connectd.PaymentMethod) (*string, *time.Time) { return &v.ID, &v.CreatedAt },
	index: func(ctx context.Context, refs *refErrors, p string, v *connectd.PaymentMethod) (string, string, string) {
		refs.user(ctx, p, "user", v.User)
		return v.User, "", ""
	},
})

// PaymentMethods belong to a user that exists.
func (b *Builtin) PaymentMethods() connectd.Resources[connectd.PaymentMethod] {
	return resources[connectd.PaymentMethod]{b, paymentMethodSpec}
}

var paymentSpec = withStoredForm[connectd.Payment, paymentData](spec[connectd.Payment]{
	fields: func(v *connectd.Payment) (*string, *time.Time) { return &v.ID, &v.CreatedAt },
	index: func(ctx context.Context, refs *refErrors, p string, v *connectd.Payment) (string, string, string) {
		refs.user(ctx, p, "user", v.User)
		parent := ""
		if v.Subscription != nil {
			parent = *v.Subscription
			refs.owned(ctx, p, connectd.KindSubscription, "subscription", parent, v.User)
		}
		if v.PaymentMethod != nil {
			refs.owned(ctx, p, connectd.KindPaymentMethod, "paymentMethod", *v.PaymentMethod, v.User)
		}
		return v.User, parent, v.Status
	},
})

// Payments belong to a user that exists; their subscription and payment
// method must not be another user's.
func (b *Builtin) Payments() connectd.Resources[connectd.Payment] {
	return resources[connectd.Payment]{b, paymentSpec}
}

var portingSpec = withStoredForm[connectd.Porting, portingData](spec[connectd.Porting]{
	fields: func(v *connectd.Porting) (*string, *time.Time) { return &v.ID, &v.CreatedAt },
	index: func(ctx context.Context, refs *refErrors, p string, v *connectd.Porting) (string, string, string) {
		// The owner is the subscription's user, never taken from the
		// caller (a seed batch sets it from the file it checks).
		if sub := refs.exists(ctx, p, connectd.KindSubscription, "subscription", v.Subscription); sub != nil {
			v.User = sub.UserID
		}
		v.AccountPinProvided = v.AccountPin != nil && *v.AccountPin != ""
		return v.User, v.Subscription, v.Status
	},
})

// Portings need their subscription to exist and belong to its user; they
// keep the account PIN their JSON hides.
func (b *Builtin) Portings() connectd.Resources[connectd.Porting] {
	return resources[connectd.Porting]{b, portingSpec}
}

// seedRecorders are the kinds' record makers for SeedRecord, by kind.
var seedRecorders = map[connectd.ResourceKind]interface {
	seedRecord(ctx context.Context, b *Builtin, projectID string, v any) (*connectd.ResourceRecord, error)
	checkRefs(ctx context.Context, b *Builtin, projectID string, v any) error // refcheck.go
}{
	connectd.KindPlan:          planSpec,
	connectd.KindAddon:         addonSpec,
	connectd.KindSIM:           simSpec,
	connectd.KindDevice:        deviceSpec,
	connectd.KindSubscription:  subscriptionSpec,
	connectd.KindPaymentMethod: paymentMethodSpec,
	connectd.KindPayment:       paymentSpec,
	connectd.KindPorting:       portingSpec,
}

// storedForm is how a kind whose JSON hides a field (json:"-") is kept:
// the resource with that field, so that the database has it.
type storedForm[T any, S any] interface {
	*S
	from(v *T) // fills the stored form from v
	into(v *T) // sets v from the stored form
}

// withStoredForm is newSpec for a kind kept in the stored form S.
func withStoredForm[T any, S any, PS storedForm[T, S]](s spec[T]) spec[T] {
	s.marshal = func(v *T) ([]byte, error) {
		var d S
		PS(&d).from(v)
		return json.Marshal(&d)
	}
	s.unmarshal = func(data []byte, v *T) error {
		var d S
		if err := json.Unmarshal(data, &d); err != nil {
			return err
		}
		PS(&d).into(v)
		return nil
	}
	return newSpec(s)
}

// paymentData is how a payment is stored: with what a pending one buys,
// which its API representation does not show.
type paymentData struct {
	connectd.Payment
	Pending *connectd.PendingPurchase `json:"pending,omitempty"`
}

func (d *paymentData) from(v *connectd.Payment) { d.Payment, d.Pending = *v, v.Pending }
func (d *paymentData) into(v *connectd.Payment) { *v, v.Pending = d.Payment, d.Pending }

// portingData is how a porting is stored: with its write-only PIN, which
// the API representation never shows.
type portingData struct {
	connectd.Porting
	Pin *string `json:"accountPin"`
}

func (d *portingData) from(v *connectd.Porting) { d.Porting, d.Pin = *v, v.AccountPin }
func (d *portingData) into(v *connectd.Porting) { *v, v.AccountPin = d.Porting, d.Pin }

// refErrors collects reference problems as 422 field details. With skip
// set it checks nothing (a seed batch checks its references itself).
type refErrors struct {
	connectd.FieldErrors
	b     *Builtin
	skip  bool
	fault error // a database error, which wins over field problems
}

func (r *refErrors) err() error {
	if r.fault != nil {
		return r.fault
	}
	return r.FieldErrors.Err()
}

// exists checks that the resource exists and returns it (nil when it does
// not, or when checks are skipped).
func (r *refErrors) exists(ctx context.Context, projectID string, kind connectd.ResourceKind, field, id string) *connectd.ResourceRecord {
	if r.skip {
		return nil
	}
	rec, err := r.b.store.GetResource(ctx, projectID, kind, id)
	switch {
	case errors.Is(err, connectd.ErrNotFound):
		r.Add(field, "notFound", "no %s %s exists in this project", kind, id)
	case err != nil:
		r.fault = err
	}
	return rec
}

// owned checks that the resource exists and is not another user's.
func (r *refErrors) owned(ctx context.Context, projectID string, kind connectd.ResourceKind, field, id, user string) {
	if rec := r.exists(ctx, projectID, kind, field, id); rec != nil && rec.UserID != "" && rec.UserID != user {
		r.Add(field, "notOwned", "%s %s belongs to another user", kind, id)
	}
}

func (r *refErrors) user(ctx context.Context, projectID, field, id string) {
	if r.skip {
		return
	}
	_, err := r.b.store.GetUser(ctx, projectID, id)
	switch {
	case errors.Is(err, connectd.ErrNotFound):
		r.Add(field, "notFound", "no user %s exists in this project", id)
	case err != nil:
		r.fault = err
	}
}

// SeedRecord returns the ResourceRecord of v (a *connectd.Plan, *Addon, …)
// without checking references: a seed batch checks those against the file
// and the database itself, and writes everything in one transaction.
func (b *Builtin) SeedRecord(ctx context.Context, projectID string, v any) (*connectd.ResourceRecord, error) {
	if r, ok := v.(connectd.Resource); ok {
		if sr, ok := seedRecorders[r.Kind()]; ok {
			return sr.seedRecord(ctx, b, projectID, v)
		}
	}
	return nil, fmt.Errorf("platform: %T is not a platform resource", v)
}
