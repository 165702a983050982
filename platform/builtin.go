// Package platform is the built-in connectd.Platform: plans, add-ons, SIMs,
// devices, subscriptions, payment methods, payments and portings, kept in
// connectd's own database through connectd.ResourceStore.
package platform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/connectd/connectd"
)

// Store is what the built-in platform needs of a database: every
// connectd.Store keeps resources.
type Store = connectd.Store

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

// maxUpdateAttempts bounds the compare-and-swap retries of Update.
const maxUpdateAttempts = 5

// spec says how one kind maps to a ResourceRecord.
type spec[T any] struct {
	kind      connectd.ResourceKind
	id        func(*T) *string
	createdAt func(*T) *time.Time
	// index checks v's references into refs and returns its indexed
	// columns.
	index func(ctx context.Context, refs *refErrors, projectID string, v *T) (user, parent, status string)
	// marshal and unmarshal default to encoding/json; portings override
	// them to keep their write-only PIN.
	marshal   func(*T) ([]byte, error)
	unmarshal func([]byte, *T) error
}

type resources[T any] struct {
	b    *Builtin
	spec spec[T]
}

func (r resources[T]) encode(v *T) ([]byte, error) {
	c := *v
	// The timestamp lives in its column; keeping it out of the data makes
	// "same content" comparisons (seed reloads) ignore it.
	*r.spec.createdAt(&c) = time.Time{}
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
	*r.spec.id(v) = rec.ID
	*r.spec.createdAt(v) = rec.CreatedAt
	return v, nil
}

// Record returns the ResourceRecord of v, checking its references; seed
// loading uses it to write whole files in one transaction.
func (r resources[T]) record(ctx context.Context, projectID string, v *T, checkRefs bool) (*connectd.ResourceRecord, error) {
	id := r.spec.id(v)
	if *id == "" {
		*id = connectd.NewID(r.spec.kind.Prefix())
	}
	ca := r.spec.createdAt(v)
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
	return &connectd.ResourceRecord{Kind: r.spec.kind, ProjectID: projectID, ID: *id, UserID: user, ParentID: parent,
		Status: status, Data: data, CreatedAt: ca.UTC().Truncate(time.Millisecond), UpdatedAt: r.b.now()}, nil
}

func (r resources[T]) Create(ctx context.Context, projectID string, v *T) error {
	rec, err := r.record(ctx, projectID, v, true)
	if err != nil {
		return err
	}
	return r.b.store.CreateResource(ctx, rec)
}

func (r resources[T]) Get(ctx context.Context, projectID, id string) (*T, error) {
	rec, err := r.b.store.GetResource(ctx, projectID, r.spec.kind, id)
	if err != nil {
		return nil, err
	}
	return r.decode(rec)
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

func (r resources[T]) Update(ctx context.Context, projectID, id string, mutate func(*T) error) (*T, error) {
	for attempt := 0; ; attempt++ {
		rec, err := r.b.store.GetResource(ctx, projectID, r.spec.kind, id)
		if err != nil {
			return nil, err
		}
		v, err := r.decode(rec)
		if err != nil {
			return nil, err
		}
		if err := mutate(v); err != nil {
			return nil, err
		}
		// The ID and creation time are not the mutator's to change.
		*r.spec.id(v), *r.spec.createdAt(v) = rec.ID, rec.CreatedAt
		next, err := r.record(ctx, projectID, v, true)
		if err != nil {
			return nil, err
		}
		next.Version = rec.Version
		err = r.b.store.WriteResources(ctx, projectID, []connectd.ResourceWrite{{Record: next}})
		if errors.Is(err, connectd.ErrConflict) && attempt < maxUpdateAttempts {
			continue // someone wrote it meanwhile: redo on the fresh copy
		}
		if err != nil {
			return nil, err
		}
		return v, nil
	}
}

func (b *Builtin) Plans() connectd.Resources[connectd.Plan] {
	return resources[connectd.Plan]{b, spec[connectd.Plan]{
		kind: connectd.KindPlan, id: func(v *connectd.Plan) *string { return &v.ID },
		createdAt: func(v *connectd.Plan) *time.Time { return &v.CreatedAt },
		index: func(_ context.Context, _ *refErrors, _ string, v *connectd.Plan) (string, string, string) {
			return "", "", v.Status
		},
	}}
}

func (b *Builtin) Addons() connectd.Resources[connectd.Addon] {
	return resources[connectd.Addon]{b, spec[connectd.Addon]{
		kind: connectd.KindAddon, id: func(v *connectd.Addon) *string { return &v.ID },
		createdAt: func(v *connectd.Addon) *time.Time { return &v.CreatedAt },
		index: func(ctx context.Context, refs *refErrors, p string, v *connectd.Addon) (string, string, string) {
			for i, plan := range v.Plans {
				refs.exists(ctx, p, connectd.KindPlan, fmt.Sprintf("plans[%d]", i), plan)
			}
			return "", "", v.Status
		},
	}}
}

func (b *Builtin) SIMs() connectd.Resources[connectd.SIM] {
	return resources[connectd.SIM]{b, spec[connectd.SIM]{
		kind: connectd.KindSIM, id: func(v *connectd.SIM) *string { return &v.ID },
		createdAt: func(v *connectd.SIM) *time.Time { return &v.CreatedAt },
		index: func(_ context.Context, _ *refErrors, _ string, v *connectd.SIM) (string, string, string) {
			return "", "", v.Status
		},
	}}
}

func (b *Builtin) Devices() connectd.Resources[connectd.Device] {
	return resources[connectd.Device]{b, spec[connectd.Device]{
		kind: connectd.KindDevice, id: func(v *connectd.Device) *string { return &v.ID },
		createdAt: func(v *connectd.Device) *time.Time { return &v.CreatedAt },
		index: func(ctx context.Context, refs *refErrors, p string, v *connectd.Device) (string, string, string) {
			user := ""
			if v.User != nil {
				user = *v.User
				refs.user(ctx, p, "user", user)
			}
			return user, "", ""
		},
	}}
}

func (b *Builtin) Subscriptions() connectd.Resources[connectd.Subscription] {
	return resources[connectd.Subscription]{b, spec[connectd.Subscription]{
		kind: connectd.KindSubscription, id: func(v *connectd.Subscription) *string { return &v.ID },
		createdAt: func(v *connectd.Subscription) *time.Time { return &v.CreatedAt },
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
	}}
}

func (b *Builtin) PaymentMethods() connectd.Resources[connectd.PaymentMethod] {
	return resources[connectd.PaymentMethod]{b, spec[connectd.PaymentMethod]{
		kind: connectd.KindPaymentMethod, id: func(v *connectd.PaymentMethod) *string { return &v.ID },
		createdAt: func(v *connectd.PaymentMethod) *time.Time { return &v.CreatedAt },
		index: func(ctx context.Context, refs *refErrors, p string, v *connectd.PaymentMethod) (string, string, string) {
			refs.user(ctx, p, "user", v.User)
			return v.User, "", ""
		},
	}}
}

func (b *Builtin) Payments() connectd.Resources[connectd.Payment] {
	return resources[connectd.Payment]{b, spec[connectd.Payment]{
		kind: connectd.KindPayment, id: func(v *connectd.Payment) *string { return &v.ID },
		createdAt: func(v *connectd.Payment) *time.Time { return &v.CreatedAt },
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
		marshal: func(v *connectd.Payment) ([]byte, error) {
			return json.Marshal(paymentData{Payment: *v, Pending: v.Pending})
		},
		unmarshal: func(data []byte, v *connectd.Payment) error {
			var d paymentData
			if err := json.Unmarshal(data, &d); err != nil {
				return err
			}
			*v = d.Payment
			v.Pending = d.Pending
			return nil
		},
	}}
}

// paymentData is how a payment is stored: with what a pending one buys,
// which its API representation does not show.
type paymentData struct {
	connectd.Payment
	Pending *connectd.PendingPurchase `json:"pending,omitempty"`
}

// portingData is how a porting is stored: with its write-only PIN, which
// the API representation never shows.
type portingData struct {
	connectd.Porting
	Pin *string `json:"accountPin"`
}

func (b *Builtin) Portings() connectd.Resources[connectd.Porting] {
	return resources[connectd.Porting]{b, spec[connectd.Porting]{
		kind: connectd.KindPorting, id: func(v *connectd.Porting) *string { return &v.ID },
		createdAt: func(v *connectd.Porting) *time.Time { return &v.CreatedAt },
		index: func(ctx context.Context, refs *refErrors, p string, v *connectd.Porting) (string, string, string) {
			// The owner is the subscription's user, never taken from the
			// caller (a seed batch sets it from the file it checks).
			if sub := refs.exists(ctx, p, connectd.KindSubscription, "subscription", v.Subscription); sub != nil {
				v.User = sub.UserID
			}
			v.AccountPinProvided = v.AccountPin != nil && *v.AccountPin != ""
			return v.User, v.Subscription, v.Status
		},
		marshal: func(v *connectd.Porting) ([]byte, error) {
			return json.Marshal(portingData{Porting: *v, Pin: v.AccountPin})
		},
		unmarshal: func(data []byte, v *connectd.Porting) error {
			var d portingData
			if err := json.Unmarshal(data, &d); err != nil {
				return err
			}
			*v = d.Porting
			v.AccountPin = d.Pin
			return nil
		},
	}}
}

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
	switch v := v.(type) {
	case *connectd.Plan:
		return b.Plans().(resources[connectd.Plan]).record(ctx, projectID, v, false)
	case *connectd.Addon:
		return b.Addons().(resources[connectd.Addon]).record(ctx, projectID, v, false)
	case *connectd.SIM:
		return b.SIMs().(resources[connectd.SIM]).record(ctx, projectID, v, false)
	case *connectd.Device:
		return b.Devices().(resources[connectd.Device]).record(ctx, projectID, v, false)
	case *connectd.Subscription:
		return b.Subscriptions().(resources[connectd.Subscription]).record(ctx, projectID, v, false)
	case *connectd.PaymentMethod:
		return b.PaymentMethods().(resources[connectd.PaymentMethod]).record(ctx, projectID, v, false)
	case *connectd.Payment:
		return b.Payments().(resources[connectd.Payment]).record(ctx, projectID, v, false)
	case *connectd.Porting:
		return b.Portings().(resources[connectd.Porting]).record(ctx, projectID, v, false)
	}
	return nil, fmt.Errorf("platform: %T is not a platform resource", v)
}
