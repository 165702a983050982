package platform

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/payments"
)

// Actions returns the portal's user actions on the built-in platform.
//
// The built-in platform lives in connectd's own database and applies each
// command in one atomic write, so it only carries a command's
// IdempotencyKey: a resubmitted action finds the state it left (a
// subscription already canceled, a payment already confirmed) and is
// refused, never applied twice. A remote platform would key its writes
// with it.
func (b *Builtin) Actions() connectd.Actions { return actions{b} }

type actions struct{ b *Builtin }

var _ connectd.Actions = actions{}

// billingPeriod is the length of a subscription period.
const billingPeriod = 30 * 24 * time.Hour

func refuse(t connectd.ErrorType, code, format string, args ...any) error {
	return connectd.Errorf(t, code, format, args...)
}

// loaded is a resource read with its version, for a compare-and-swap write.
type loaded[T any] struct {
	v   *T
	rec *connectd.ResourceRecord
}

func load[T any](ctx context.Context, r connectd.Resources[T], projectID, id string) (loaded[T], error) {
	rs := r.(resources[T])
	rec, err := rs.b.store.GetResource(ctx, projectID, rs.spec.kind, id)
	if err != nil {
		return loaded[T]{}, err
	}
	v, err := rs.decode(rec)
	if err != nil {
		return loaded[T]{}, err
	}
	return loaded[T]{v: v, rec: rec}, nil
}

// notYours hides whether another user's resource exists.
func notYours(kind, id string) error {
	return refuse(connectd.TypeNotFound, kind+"NotFound", "No %s %s was found for this account.", kind, id)
}

func loadOwned[T any](ctx context.Context, r connectd.Resources[T], projectID, userID, kind, id string, owner func(*T) string) (loaded[T], error) {
	l, err := load(ctx, r, projectID, id)
	if errors.Is(err, connectd.ErrNotFound) {
		return l, notYours(kind, id)
	}
	if err != nil {
		return l, err
	}
	if owner(l.v) != userID {
		return l, notYours(kind, id)
	}
	return l, nil
}

// batch collects the writes of one action, applied in one transaction.
type batch struct {
	b       *Builtin
	project string
	writes  []connectd.ResourceWrite
}

func (bt *batch) put(ctx context.Context, v any, version int64) error {
	rec, err := bt.b.SeedRecord(ctx, bt.project, v)
	if err != nil {
		return err
	}
	rec.UpdatedAt = bt.b.now()
	if version == 0 {
		bt.writes = append(bt.writes, connectd.ResourceWrite{Create: true, Record: rec})
		return nil
	}
	rec.Version = version
	bt.writes = append(bt.writes, connectd.ResourceWrite{Record: rec})
	return nil
}

// commit writes the batch; a concurrent change to anything it read is a
// conflict the user can retry. A subscription whose SIM another one took
// meanwhile (the database's unique index) is simNotAvailable.
func (bt *batch) commit(ctx context.Context) error {
	err := bt.b.store.WriteResources(ctx, bt.project, bt.writes)
	var kt *connectd.KeyTakenError
	switch {
	case errors.As(err, &kt) && kt.Kind == connectd.KindSubscription:
		return errSIMNotAvailable()
	case errors.Is(err, connectd.ErrConflict):
		return refuse(connectd.TypeConflict, "concurrentChange", "Something changed while this was being saved. Please try again.")
	}
	return err
}

// errSIMNotAvailable refuses a checkout whose SIM is on another
// subscription.
func errSIMNotAvailable() error {
	return &connectd.Error{Type: connectd.TypeConflict, Code: "simNotAvailable", Message: "That SIM is no longer available.",
		Details: []connectd.FieldError{{Field: "sim", Code: "assigned", Message: "the SIM is on another subscription"}}}
}

// updateOwned is Update of the user's resource id: ownership is checked on
// the copy being changed, every attempt, so one read serves both.
func updateOwned[T any](ctx context.Context, r connectd.Resources[T], projectID, userID, kind, id string, owner func(*T) string, mutate func(*T) error) (*T, error) {
	v, err := r.(resources[T]).update(ctx, projectID, id, func(v *T) error {
		if owner(v) != userID {
			return notYours(kind, id)
		}
		return mutate(v)
	})
	if errors.Is(err, connectd.ErrNotFound) {
		return nil, notYours(kind, id)
	}
	return v, err
}

func (a actions) CancelSubscription(ctx context.Context, c connectd.CancelSubscriptionCommand) (*connectd.Subscription, error) {
	projectID, userID, id, now := c.ProjectID, c.UserID, c.SubscriptionID, c.Now
	return updateOwned(ctx, a.b.Subscriptions(), projectID, userID, "subscription", id, subOwner, func(s *connectd.Subscription) error {
		if !s.Cancelable() {
			return refuse(connectd.TypeConflict, "subscriptionNotCancelable", "This subscription can't be canceled: it doesn't renew or has already been canceled.")
		}
		end := now
		if s.CurrentPeriod != nil && s.CurrentPeriod.End.After(now) {
			end = s.CurrentPeriod.End // it runs until the period it was paid for ends
		}
		s.EndedAt = &end
		return nil
	})
}

func (a actions) ResumeSubscription(ctx context.Context, c connectd.ResumeSubscriptionCommand) (*connectd.Subscription, error) {
	projectID, userID, id := c.ProjectID, c.UserID, c.SubscriptionID
	return updateOwned(ctx, a.b.Subscriptions(), projectID, userID, "subscription", id, subOwner, func(s *connectd.Subscription) error {
		if !s.Resumable() {
			return refuse(connectd.TypeConflict, "subscriptionNotResumable", "This subscription can't be resumed: it isn't canceled.")
		}
		s.EndedAt = nil
		if s.Status == connectd.SubscriptionEnded {
			s.Status = connectd.SubscriptionActive
		}
		return nil
	})
}

func subOwner(s *connectd.Subscription) string { return s.User }
func payOwner(p *connectd.Payment) string      { return p.User }
func pmOwner(p *connectd.PaymentMethod) string { return p.User }
func portingOwner(p *connectd.Porting) string  { return p.User }
func deviceOwner(d *connectd.Device) string    { return deref(d.User) }
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// charge decides a purchase's payment: a new charge of a card or saved
// method, or the confirmation of the payment an earlier attempt left. It
// adds the payment (and a saved card) to bt and returns the payment, and
// whether the purchase's effect may be applied now.
//
// subscriptionID is the subscription the payment is for; subExists says
// whether it exists yet (a checkout creates it only with the payment, so
// a declined payment must not point at it).
//
// pending is what the purchase changes on the subscription; a payment
// left waiting for confirmation keeps it, so that confirming it anywhere
// (here, or in a confirmPayment session) delivers what was paid for.
func (a actions) charge(ctx context.Context, bt *batch, userID string, price connectd.Price, description string, subscriptionID *string, subExists bool, pending *connectd.PendingPurchase, pay connectd.PaymentInput, now time.Time) (*connectd.Purchase, bool, error) {
	out := &connectd.Purchase{}
	p := &connectd.Payment{User: userID, Subscription: subscriptionID, Amount: price.Amount, Currency: price.Currency,
		Description: &description, CreatedAt: now}
	switch {
	case pay.ConfirmPaymentID != "":
		l, err := loadOwned(ctx, a.b.Payments(), bt.project, userID, "payment", pay.ConfirmPaymentID, payOwner)
		if err != nil {
			return nil, false, err
		}
		// The pending payment must be the one this same action left: same
		// amount, same purpose, same subscription.
		if l.v.Status != connectd.PaymentRequiresConfirmation || l.v.Amount != price.Amount || l.v.Currency != price.Currency ||
			deref(l.v.Description) != description || deref(l.v.Subscription) != deref(subscriptionID) {
			return nil, false, refuse(connectd.TypeConflict, "paymentNotConfirmable", "This payment can no longer be confirmed. Please pay again.")
		}
		l.v.Status = connectd.PaymentSucceeded
		l.v.Subscription = subscriptionID
		l.v.Pending = nil // the caller applies the purchase in this batch
		if err := bt.put(ctx, l.v, l.rec.Version); err != nil {
			return nil, false, err
		}
		out.Payment = l.v
		return out, true, nil
	case pay.PaymentMethodID != "":
		l, err := loadOwned(ctx, a.b.PaymentMethods(), bt.project, userID, "paymentMethod", pay.PaymentMethodID, pmOwner)
		if err != nil {
			return nil, false, err
		}
		p.PaymentMethod = &l.v.ID
		p.Status = connectd.PaymentSucceeded // a saved card was verified when it was added
	case pay.Card != nil:
		card, outcome, fe := payments.Check(*pay.Card, now)
		if err := fe.Err(); err != nil {
			return nil, false, err
		}
		switch outcome {
		case payments.Succeeded:
			p.Status = connectd.PaymentSucceeded
			if pay.SaveCard {
				pm, err := a.savedCard(ctx, bt, userID, card, now)
				if err != nil {
					return nil, false, err
				}
				p.PaymentMethod = &pm.ID
				out.PaymentMethod = pm
			}
		case payments.Declined:
			p.Status = connectd.PaymentFailed
		case payments.RequiresConfirmation:
			p.Status = connectd.PaymentRequiresConfirmation
			p.Pending = pending
		}
	default:
		return nil, false, refuse(connectd.TypeUnprocessable, "paymentRequired", "Choose how to pay.")
	}
	if p.Status == connectd.PaymentFailed && !subExists {
		p.Subscription = nil // nothing was bought: no subscription will exist
	}
	p.ID = connectd.NewID(connectd.PrefixPayment)
	if err := bt.put(ctx, p, 0); err != nil {
		return nil, false, err
	}
	out.Payment = p
	return out, p.Status == connectd.PaymentSucceeded, nil
}

// savedCard adds card as the user's new default payment method to bt, and
// makes their other methods non-default.
func (a actions) savedCard(ctx context.Context, bt *batch, userID string, card connectd.Card, now time.Time) (*connectd.PaymentMethod, error) {
	pm := &connectd.PaymentMethod{ID: connectd.NewID(connectd.PrefixPaymentMethod), User: userID, Type: "card", Card: card, Default: true, CreatedAt: now}
	if err := bt.put(ctx, pm, 0); err != nil {
		return nil, err
	}
	rs := a.b.PaymentMethods().(resources[connectd.PaymentMethod])
	after := ""
	for {
		page, err := a.b.store.ListResources(ctx, bt.project, connectd.ResourceFilter{Kind: connectd.KindPaymentMethod, UserID: userID,
			ListParams: connectd.ListParams{Limit: connectd.MaxListLimit, After: after}})
		if err != nil {
			return nil, err
		}
		for _, rec := range page.Items {
			old, err := rs.decode(rec)
			if err != nil {
				return nil, err
			}
			if old.Default {
				old.Default = false
				if err := bt.put(ctx, old, rec.Version); err != nil {
					return nil, err
				}
			}
		}
		if !page.MoreAfter || len(page.Items) == 0 {
			return pm, nil
		}
		after = page.Items[len(page.Items)-1].ID
	}
}

func (a actions) ChangePlan(ctx context.Context, c connectd.ChangePlanCommand) (*connectd.Purchase, error) {
	projectID, userID, subID, planID, pay, now := c.ProjectID, c.UserID, c.SubscriptionID, c.PlanID, c.Pay, c.Now
	sub, err := loadOwned(ctx, a.b.Subscriptions(), projectID, userID, "subscription", subID, subOwner)
	if err != nil {
		return nil, err
	}
	if sub.v.Status != connectd.SubscriptionActive || sub.v.EndedAt != nil {
		return nil, refuse(connectd.TypeConflict, "subscriptionNotActive", "Only an active subscription that isn't canceled can change plan.")
	}
	if sub.v.Plan == planID {
		return nil, refuse(connectd.TypeConflict, "samePlan", "This subscription is already on that plan.")
	}
	plan, err := a.b.Plans().Get(ctx, projectID, planID)
	if errors.Is(err, connectd.ErrNotFound) || err == nil && plan.Status != connectd.PlanActive {
		return nil, refuse(connectd.TypeUnprocessable, "planNotAvailable", "That plan is not available.")
	}
	if err != nil {
		return nil, err
	}
	bt := &batch{b: a.b, project: projectID}
	out, apply, err := a.charge(ctx, bt, userID, plan.Price, "Change to "+plan.Name, &sub.v.ID, true, &connectd.PendingPurchase{Plan: plan.ID}, pay, now)
	if err != nil {
		return nil, err
	}
	if apply {
		changePlan(sub.v, plan, now)
		if err := bt.put(ctx, sub.v, sub.rec.Version); err != nil {
			return nil, err
		}
		out.Subscription = sub.v
	}
	return out, bt.commit(ctx)
}

func (a actions) BuyAddons(ctx context.Context, c connectd.BuyAddonsCommand) (*connectd.Purchase, error) {
	projectID, userID, subID, addonIDs, pay, now := c.ProjectID, c.UserID, c.SubscriptionID, c.AddonIDs, c.Pay, c.Now
	if len(addonIDs) == 0 {
		return nil, refuse(connectd.TypeUnprocessable, "addonsRequired", "Choose at least one add-on.")
	}
	sub, err := loadOwned(ctx, a.b.Subscriptions(), projectID, userID, "subscription", subID, subOwner)
	if err != nil {
		return nil, err
	}
	if sub.v.Status != connectd.SubscriptionActive {
		return nil, refuse(connectd.TypeConflict, "subscriptionNotActive", "Add-ons can be bought only for an active subscription.")
	}
	total, names, err := a.addonsPrice(ctx, projectID, sub.v.Plan, addonIDs, connectd.Price{})
	if err != nil {
		return nil, err
	}
	bt := &batch{b: a.b, project: projectID}
	out, apply, err := a.charge(ctx, bt, userID, total, names, &sub.v.ID, true, &connectd.PendingPurchase{Addons: addonIDs}, pay, now)
	if err != nil {
		return nil, err
	}
	if apply {
		sub.v.Addons = append(sub.v.Addons, addonIDs...)
		if err := bt.put(ctx, sub.v, sub.rec.Version); err != nil {
			return nil, err
		}
		out.Subscription = sub.v
	}
	return out, bt.commit(ctx)
}

// changePlan moves sub to plan, starting a new period.
func changePlan(sub *connectd.Subscription, plan *connectd.Plan, now time.Time) {
	sub.Plan = plan.ID
	sub.Recurring = plan.Validity.Type == connectd.ValidityRecurring
	sub.Addons = nil // add-ons belong to the old plan
	sub.CurrentPeriod = &connectd.Period{Start: now, End: now.Add(billingPeriod)}
}

// addonsPrice adds up add-ons that must be active and offered for plan.
func (a actions) addonsPrice(ctx context.Context, projectID, plan string, ids []string, total connectd.Price) (connectd.Price, string, error) {
	names := ""
	for _, id := range ids {
		ad, err := a.b.Addons().Get(ctx, projectID, id)
		if errors.Is(err, connectd.ErrNotFound) || err == nil && (ad.Status != connectd.PlanActive || !slices.Contains(ad.Plans, plan)) {
			return total, "", refuse(connectd.TypeUnprocessable, "addonNotAvailable", "Add-on %s is not available for this plan.", id)
		}
		if err != nil {
			return total, "", err
		}
		if total.Currency == "" {
			total.Currency = ad.Price.Currency
		}
		if ad.Price.Currency != total.Currency {
			return total, "", refuse(connectd.TypeUnprocessable, "currencyMismatch", "These items are priced in different currencies.")
		}
		total.Amount += ad.Price.Amount
		if names != "" {
			names += ", "
		}
		names += ad.Name
	}
	return total, names, nil
}

// Checkout buys a plan on a new subscription. When the checkout picked the
// SIM itself and another checkout took it meanwhile (the database refused
// the second holder, or the SIM's version moved on), it starts again and
// picks another; nothing of the failed attempt was written.
func (a actions) Checkout(ctx context.Context, c connectd.CheckoutCommand) (*connectd.Purchase, error) {
	// tried holds the SIMs earlier attempts picked, so that a retry never
	// picks again a SIM the database refused (one whose status still says
	// available although a subscription holds it, say).
	tried := map[string]bool{}
	for attempt := 0; ; attempt++ {
		out, err := a.checkoutOnce(ctx, c, tried)
		var ce *connectd.Error
		if c.Order.SIMID != "" || attempt == maxLinkedAttempts || !errors.As(err, &ce) ||
			ce.Code != "simNotAvailable" && ce.Code != "concurrentChange" {
			return out, err
		}
	}
}

func (a actions) checkoutOnce(ctx context.Context, c connectd.CheckoutCommand, tried map[string]bool) (*connectd.Purchase, error) {
	projectID, userID, in, pay, now := c.ProjectID, c.UserID, c.Order, c.Pay, c.Now
	plan, err := a.b.Plans().Get(ctx, projectID, in.PlanID)
	if errors.Is(err, connectd.ErrNotFound) || err == nil && plan.Status != connectd.PlanActive {
		return nil, refuse(connectd.TypeUnprocessable, "planNotAvailable", "That plan is not available.")
	}
	if err != nil {
		return nil, err
	}
	user, err := a.b.store.GetUser(ctx, projectID, userID)
	if err != nil {
		return nil, err
	}
	var missing connectd.FieldErrors
	if plan.Requirements.FullName && user.FullName == nil {
		missing.Add("fullName", "required", "This plan needs your full name.")
	}
	if plan.Requirements.Address && user.Address == nil {
		missing.Add("address", "required", "This plan needs your address.")
	}
	if err := missing.Err(); err != nil {
		return nil, err
	}
	total, names, err := a.addonsPrice(ctx, projectID, plan.ID, in.Addons, plan.Price)
	if err != nil {
		return nil, err
	}
	description := plan.Name
	if names != "" {
		description += " with " + names
	}
	// Confirming comes before picking a SIM: the pending subscription
	// already holds one.
	if pay.ConfirmPaymentID != "" {
		return a.confirmCheckout(ctx, c.Command, pay.ConfirmPaymentID, total, description)
	}
	bt := &batch{b: a.b, project: projectID}
	sim, err := a.pickSIM(ctx, projectID, in, tried)
	if err != nil {
		return nil, err
	}
	var deviceID *string
	switch {
	case in.DeviceID != "":
		if _, err := loadOwned(ctx, a.b.Devices(), projectID, userID, "device", in.DeviceID, func(d *connectd.Device) string {
			if d.User == nil {
				return userID // an unowned device may be used by anyone
			}
			return *d.User
		}); err != nil {
			return nil, err
		}
		deviceID = &in.DeviceID
	case in.IMEI != "":
		if !connectd.ValidIMEI(in.IMEI) {
			return nil, refuse(connectd.TypeUnprocessable, "invalidImei", "The IMEI is not valid.")
		}
		// A device for the IMEI is created below, only with a successful charge.
		id := connectd.NewID(connectd.PrefixDevice)
		deviceID = &id
	}
	subID := connectd.NewID(connectd.PrefixSubscription)
	out, apply, err := a.charge(ctx, bt, userID, total, description, &subID, false, nil, pay, now)
	if err != nil {
		return nil, err
	}
	// A payment that waits for confirmation reserves its SIM on a pending
	// subscription, which the confirmation activates (here or through a
	// confirmPayment session): the user is never charged for nothing.
	pending := out.Payment.Status == connectd.PaymentRequiresConfirmation
	if apply || pending {
		if in.DeviceID == "" && in.IMEI != "" {
			imei := in.IMEI
			dev := &connectd.Device{ID: *deviceID, User: &userID, Manufacturer: "Unknown", Model: "Unknown",
				EsimCapable: sim.v.Type == connectd.SIMTypeESIM, IMEI: &imei, CreatedAt: now}
			if err := bt.put(ctx, dev, 0); err != nil {
				return nil, err
			}
		}
		phone := testPhoneNumber()
		sub := &connectd.Subscription{ID: subID, User: userID, Plan: plan.ID, SIM: &sim.v.ID, Device: deviceID, PhoneNumber: &phone,
			Status: connectd.SubscriptionActive, Recurring: plan.Validity.Type == connectd.ValidityRecurring,
			CurrentPeriod: &connectd.Period{Start: now, End: now.Add(billingPeriod)}, Addons: in.Addons, CreatedAt: now}
		if pending {
			sub.Status, sub.CurrentPeriod = connectd.SubscriptionPending, nil
		}
		// The subscription before its SIM: a concurrent checkout that took
		// the SIM is then told by the unique index (simNotAvailable).
		if err := bt.put(ctx, sub, 0); err != nil {
			return nil, err
		}
		sim.v.Status = connectd.SIMAssigned
		if err := bt.put(ctx, sim.v, sim.rec.Version); err != nil {
			return nil, err
		}
		out.Subscription = sub
	}
	return out, bt.commit(ctx)
}

// confirmCheckout completes a checkout whose card asked for confirmation:
// the pending payment must be this checkout's (same user, amount and
// purpose, on a pending subscription), and confirming it activates the
// subscription.
func (a actions) confirmCheckout(ctx context.Context, c connectd.Command, paymentID string, total connectd.Price, description string) (*connectd.Purchase, error) {
	projectID, userID := c.ProjectID, c.UserID
	pay, err := loadOwned(ctx, a.b.Payments(), projectID, userID, "payment", paymentID, payOwner)
	if err != nil {
		return nil, err
	}
	if pay.v.Status != connectd.PaymentRequiresConfirmation || pay.v.Amount != total.Amount || pay.v.Currency != total.Currency ||
		deref(pay.v.Description) != description || pay.v.Subscription == nil {
		return nil, refuse(connectd.TypeConflict, "paymentNotConfirmable", "This payment can no longer be confirmed. Please pay again.")
	}
	confirmed, err := a.ConfirmPayment(ctx, connectd.ConfirmPaymentCommand{Command: c, PaymentID: paymentID})
	if err != nil {
		return nil, err
	}
	sub, err := a.b.Subscriptions().Get(ctx, projectID, *confirmed.Subscription)
	if err != nil {
		return nil, err
	}
	return &connectd.Purchase{Payment: confirmed, Subscription: sub}, nil
}

// pickSIM returns the given SIM, which must be available, or the first
// available SIM of the wanted type that is not in tried; it adds the SIM it
// picks to tried.
func (a actions) pickSIM(ctx context.Context, projectID string, in connectd.CheckoutInput, tried map[string]bool) (loaded[connectd.SIM], error) {
	if in.SIMID != "" {
		l, err := load(ctx, a.b.SIMs(), projectID, in.SIMID)
		if errors.Is(err, connectd.ErrNotFound) || err == nil && l.v.Status != connectd.SIMAvailable {
			return l, errSIMNotAvailable()
		}
		return l, err
	}
	want := in.SIMType
	if want == "" {
		want = connectd.SIMTypeESIM
	}
	after := ""
	for {
		page, err := a.b.store.ListResources(ctx, projectID, connectd.ResourceFilter{Kind: connectd.KindSIM, Status: connectd.SIMAvailable,
			ListParams: connectd.ListParams{Limit: connectd.MaxListLimit, After: after}})
		if err != nil {
			return loaded[connectd.SIM]{}, err
		}
		rs := a.b.SIMs().(resources[connectd.SIM])
		for _, rec := range page.Items {
			s, err := rs.decode(rec)
			if err != nil {
				return loaded[connectd.SIM]{}, err
			}
			if s.Type == want && !tried[s.ID] {
				tried[s.ID] = true
				return loaded[connectd.SIM]{v: s, rec: rec}, nil
			}
		}
		if !page.MoreAfter || len(page.Items) == 0 {
			return loaded[connectd.SIM]{}, refuse(connectd.TypeConflict, "noSimAvailable", "No %s is available right now. Please try again later.", want)
		}
		after = page.Items[len(page.Items)-1].ID
	}
}

// testPhoneNumber returns a number in the 555-01xx range reserved for
// fiction, so that demo data never names a real line.
func testPhoneNumber() string {
	var b [8]byte
	rand.Read(b[:])
	return fmt.Sprintf("+1555010%04d", binary.LittleEndian.Uint64(b[:])%10000)
}

func (a actions) ConfirmPayment(ctx context.Context, c connectd.ConfirmPaymentCommand) (*connectd.Payment, error) {
	projectID, userID, paymentID, now := c.ProjectID, c.UserID, c.PaymentID, c.Now
	pay, err := loadOwned(ctx, a.b.Payments(), projectID, userID, "payment", paymentID, payOwner)
	if err != nil {
		return nil, err
	}
	if pay.v.Status != connectd.PaymentRequiresConfirmation {
		return nil, refuse(connectd.TypeConflict, "paymentNotConfirmable", "This payment doesn't need confirming any more.")
	}
	bt := &batch{b: a.b, project: projectID}
	pending := pay.v.Pending
	pay.v.Pending = nil
	pay.v.Status = connectd.PaymentSucceeded // the test processor always accepts a confirmation
	if err := bt.put(ctx, pay.v, pay.rec.Version); err != nil {
		return nil, err
	}
	if pay.v.Subscription != nil {
		sub, err := load(ctx, a.b.Subscriptions(), projectID, *pay.v.Subscription)
		if err != nil && !errors.Is(err, connectd.ErrNotFound) {
			return nil, err
		}
		switch {
		case pending != nil:
			// A portal purchase whose card asked for confirmation: deliver
			// what it pays for with the payment, or confirm nothing.
			if err != nil || sub.v.User != userID || sub.v.Status != connectd.SubscriptionActive {
				return nil, refuse(connectd.TypeConflict, "paymentNotConfirmable", "What this payment was for can no longer be done, so it was not taken. Please start again.")
			}
			if pending.Plan != "" {
				plan, err := a.b.Plans().Get(ctx, projectID, pending.Plan)
				if errors.Is(err, connectd.ErrNotFound) || err == nil && plan.Status != connectd.PlanActive {
					return nil, refuse(connectd.TypeConflict, "paymentNotConfirmable", "The plan this payment was for is no longer available, so it was not taken.")
				}
				if err != nil {
					return nil, err
				}
				changePlan(sub.v, plan, now)
			}
			sub.v.Addons = append(sub.v.Addons, pending.Addons...)
			if err := bt.put(ctx, sub.v, sub.rec.Version); err != nil {
				return nil, err
			}
		case err == nil && sub.v.Status == connectd.SubscriptionPending && sub.v.User == userID:
			// A pending subscription waiting for this payment starts now.
			sub.v.Status = connectd.SubscriptionActive
			if sub.v.CurrentPeriod == nil {
				sub.v.CurrentPeriod = &connectd.Period{Start: now, End: now.Add(billingPeriod)}
			}
			if err := bt.put(ctx, sub.v, sub.rec.Version); err != nil {
				return nil, err
			}
		}
	}
	return pay.v, bt.commit(ctx)
}

func (a actions) AddPaymentMethod(ctx context.Context, c connectd.AddPaymentMethodCommand) (*connectd.PaymentMethod, error) {
	projectID, userID, in, now := c.ProjectID, c.UserID, c.Card, c.Now
	card, outcome, fe := payments.Check(in, now)
	if err := fe.Err(); err != nil {
		return nil, err
	}
	if outcome == payments.Declined {
		return nil, &connectd.Error{Type: connectd.TypeUnprocessable, Code: "cardDeclined", Message: "Your card was declined. Try another card.",
			Details: []connectd.FieldError{{Field: "card.number", Code: "declined", Message: "This card was declined."}}}
	}
	bt := &batch{b: a.b, project: projectID}
	pm, err := a.savedCard(ctx, bt, userID, card, now)
	if err != nil {
		return nil, err
	}
	return pm, bt.commit(ctx)
}

func (a actions) SubmitPorting(ctx context.Context, c connectd.SubmitPortingCommand) (*connectd.Porting, error) {
	projectID, userID, portingID, in := c.ProjectID, c.UserID, c.PortingID, c.Porting
	return updateOwned(ctx, a.b.Portings(), projectID, userID, "porting", portingID, portingOwner, func(p *connectd.Porting) error {
		if !p.WaitingForUser() {
			return refuse(connectd.TypeConflict, "portingNotWaiting", "This number transfer doesn't need anything from you right now.")
		}
		if p.Status == connectd.PortingDeclined && (p.DeclinedCode == nil || !connectd.RetryableDeclinedCodes[*p.DeclinedCode]) {
			return refuse(connectd.TypeConflict, "portingNotRetryable", "This number transfer can't be fixed here. Please contact support.")
		}
		// What the user gave replaces what the porting had.
		replace(&p.AccountNumber, in.AccountNumber)
		replace(&p.AccountPin, in.AccountPin)
		replace(&p.DonorProvider, in.DonorProvider)
		replace(&p.Address, in.Address)
		var fe connectd.FieldErrors
		if p.AccountNumber == nil || *p.AccountNumber == "" {
			fe.Add("accountNumber", "required", "Enter the account number from your current provider.")
		}
		if p.AccountPin == nil || *p.AccountPin == "" {
			fe.Add("accountPin", "required", "Enter the account PIN from your current provider.")
		}
		if p.DonorProvider == nil || *p.DonorProvider == "" {
			fe.Add("donorProvider", "required", "Enter the name of your current provider.")
		}
		if p.Address == nil {
			fe.Add("address", "required", "Enter the address your current provider has on file.")
		}
		if err := fe.Err(); err != nil {
			return err
		}
		p.Status = connectd.PortingRequested
		p.DeclinedCode = nil
		return nil
	})
}

// replace sets *dst to v when v is given.
func replace[T any](dst **T, v *T) {
	if v != nil {
		*dst = v
	}
}
