package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/connectd/connectd"
)

// PlatformResource lists the platform resource types the REST API serves.
type PlatformResource interface {
	connectd.Plan | connectd.Addon | connectd.SIM | connectd.Device |
		connectd.Subscription | connectd.PaymentMethod | connectd.Payment | connectd.Porting
}

// Resources is the service's access to one kind of platform resource: thin
// methods over s.Platform that turn its sentinel errors into the documented
// answers.
type Resources[T PlatformResource] struct{ s *Service }

// ResourcesOf returns the service's access to the platform resources of
// type T.
func ResourcesOf[T PlatformResource](s *Service) Resources[T] { return Resources[T]{s} }

// resource is v as the connectd.Resource every PlatformResource is.
func resource[T PlatformResource](v *T) connectd.Resource { return any(v).(connectd.Resource) }

// Kind returns the kind of T.
func (r Resources[T]) Kind() connectd.ResourceKind { return resource(new(T)).Kind() }

// kindNames are the kinds in words, for messages.
var kindNames = map[connectd.ResourceKind]string{
	connectd.KindPlan:          "plan",
	connectd.KindAddon:         "add-on",
	connectd.KindSIM:           "SIM",
	connectd.KindDevice:        "device",
	connectd.KindSubscription:  "subscription",
	connectd.KindPaymentMethod: "payment method",
	connectd.KindPayment:       "payment",
	connectd.KindPorting:       "porting",
}

// CheckPlatform answers an error when this server keeps no platform
// resources (its store does not implement connectd.ResourceStore and no
// other platform was configured).
func (s *Service) CheckPlatform() error {
	if s.Platform == nil {
		return connectd.Errorf(connectd.TypeNotFound, "platformDisabled",
			"This server keeps no platform resources: its storage backend does not support them.")
	}
	return nil
}

// platformResources pick a platform's typed access to each kind.
var platformResources = map[connectd.ResourceKind]func(connectd.Platform) any{
	connectd.KindPlan:          func(p connectd.Platform) any { return p.Plans() },
	connectd.KindAddon:         func(p connectd.Platform) any { return p.Addons() },
	connectd.KindSIM:           func(p connectd.Platform) any { return p.SIMs() },
	connectd.KindDevice:        func(p connectd.Platform) any { return p.Devices() },
	connectd.KindSubscription:  func(p connectd.Platform) any { return p.Subscriptions() },
	connectd.KindPaymentMethod: func(p connectd.Platform) any { return p.PaymentMethods() },
	connectd.KindPayment:       func(p connectd.Platform) any { return p.Payments() },
	connectd.KindPorting:       func(p connectd.Platform) any { return p.Portings() },
}

// of returns the platform's typed access to T.
func (r Resources[T]) of() (connectd.Resources[T], error) {
	if err := r.s.CheckPlatform(); err != nil {
		return nil, err
	}
	return platformResources[r.Kind()](r.s.Platform).(connectd.Resources[T]), nil
}

func (r Resources[T]) notFound(id string) error {
	k := r.Kind()
	return connectd.Errorf(connectd.TypeNotFound, string(k)+"NotFound", "No %s %s exists in this project.", kindNames[k], nameID(k.Prefix(), id))
}

// fail maps an error of the platform: ErrNotFound is the 404 of the path's
// resource, a *connectd.Error (a reference problem, a rule) passes through,
// anything else is the opaque 500.
func (r Resources[T]) fail(ctx context.Context, op, id string, err error) error {
	var ce *connectd.Error
	switch {
	case errors.As(err, &ce):
		return ce
	case errors.Is(err, connectd.ErrNotFound):
		return r.notFound(id)
	}
	return r.s.internal(ctx, op+" "+string(r.Kind()), err)
}

// Create stores v, whose shape package api checked; its ID is generated.
// With idem, a retry of the same request returns what the first one
// created: the key is completed in the transaction of the insert.
func (r Resources[T]) Create(ctx context.Context, projectID string, v *T, idem *Idempotency) (*T, error) {
	res, err := r.of()
	if err != nil {
		return nil, err
	}
	replay := func(id string) (*T, error) { return r.Get(ctx, projectID, id) }
	return idempotent(ctx, r.s, projectID, idem, replay, func(held connectd.Idem) (*T, error) {
		err := res.CreateIdem(ctx, projectID, v, held)
		var ce *connectd.Error
		switch {
		case errors.As(err, &ce):
			return nil, ce
		case errors.Is(err, connectd.ErrClaimLost):
			return nil, err // idempotent answers it
		case errors.Is(err, connectd.ErrConflict):
			k, id := r.Kind(), resource(v).ResourceID()
			return nil, connectd.Errorf(connectd.TypeConflict, string(k)+"Exists", "A %s with id %s already exists in this project.", kindNames[k], nameID(k.Prefix(), id))
		case err != nil:
			return nil, r.s.internal(ctx, "create "+string(r.Kind()), err)
		}
		return v, nil
	})
}

// Get returns resource id of the project.
func (r Resources[T]) Get(ctx context.Context, projectID, id string) (*T, error) {
	res, err := r.of()
	if err != nil {
		return nil, err
	}
	v, err := res.Get(ctx, projectID, id)
	if err != nil {
		return nil, r.fail(ctx, "get", id, err)
	}
	return v, nil
}

// List lists the project's resources, newest first.
func (r Resources[T]) List(ctx context.Context, projectID string, f connectd.PlatformFilter) (connectd.Page[*T], error) {
	res, err := r.of()
	if err != nil {
		return connectd.Page[*T]{}, err
	}
	page, err := res.List(ctx, projectID, f)
	if errors.Is(err, connectd.ErrCursorNotFound) {
		return page, cursorNotFound(f.ListParams)
	}
	if err != nil {
		return page, r.s.internal(ctx, "list "+string(r.Kind()), err)
	}
	return page, nil
}

// Update lets mutate change resource id and writes it back without
// overwriting a concurrent write (connectd.UpdateResource). An error from
// mutate (a *connectd.Error) is returned as is and nothing is written.
// Rules on state transitions (a payment in a final status keeps it) are
// checked here, between the version read and the one written.
func (r Resources[T]) Update(ctx context.Context, projectID, id string, mutate func(*T) error) (*T, error) {
	res, err := r.of()
	if err != nil {
		return nil, err
	}
	v, err := connectd.UpdateResource(ctx, res, projectID, id, func(v *T) error {
		before := *v
		if err := mutate(v); err != nil {
			return err
		}
		return checkTransition(&before, v)
	})
	switch {
	case err == nil:
		return v, nil
	case errors.Is(err, connectd.ErrConflict):
		return nil, connectd.Errorf(connectd.TypeConflict, "concurrentUpdate",
			"The %s was changed by another request at the same time; retry.", kindNames[r.Kind()])
	}
	return nil, r.fail(ctx, "update", id, err)
}

// PaymentFinal reports whether a payment status is terminal.
func PaymentFinal(status string) bool {
	switch status {
	case connectd.PaymentSucceeded, connectd.PaymentFailed, connectd.PaymentCanceled:
		return true
	}
	return false
}

// checkTransition holds the update rules between two versions of a
// resource: a payment leaves requiresConfirmation or processing, never a
// final status.
func checkTransition(before, after any) error {
	switch b := before.(type) {
	case *connectd.Payment:
		a := after.(*connectd.Payment)
		if a.Status != b.Status && PaymentFinal(b.Status) {
			return &connectd.Error{Type: connectd.TypeConflict, Code: "paymentFinal",
				Message: fmt.Sprintf("Payment %s is %s, a final status; its status can no longer change.", b.ID, b.Status),
				Details: []connectd.FieldError{{Field: "status", Code: "final", Message: "the payment is " + b.Status + " and keeps that status"}}}
		}
	}
	return nil
}
