package platform_test

import (
	"testing"
	"time"

	"github.com/connectd/connectd"
)

// TestActionsOnAnotherUsersResource: the in-place actions refuse another
// user's resource, and a missing one, with the same not-found refusal, and
// change nothing.
func TestActionsOnAnotherUsersResource(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	plan := &connectd.Plan{Name: "Basic", Status: connectd.PlanActive, Price: connectd.Price{Amount: 1000, Currency: "USD"},
		Validity: connectd.Validity{Type: connectd.ValidityRecurring}}
	check(t, "plan", f.b.Plans().Create(ctx, f.project, plan))
	renewing := &connectd.Subscription{User: f.u.ID, Plan: plan.ID, Status: connectd.SubscriptionActive, Recurring: true}
	check(t, "subscription", f.b.Subscriptions().Create(ctx, f.project, renewing))
	canceled := &connectd.Subscription{User: f.u.ID, Plan: plan.ID, Status: connectd.SubscriptionActive, Recurring: true, EndedAt: ptr(f.at.Add(time.Hour))}
	check(t, "canceled subscription", f.b.Subscriptions().Create(ctx, f.project, canceled))
	porting := &connectd.Porting{Subscription: renewing.ID, PhoneNumber: "+15550100001", Status: connectd.PortingDraft}
	check(t, "porting", f.b.Portings().Create(ctx, f.project, porting))

	acts := f.b.Actions()
	in := connectd.PortingInput{AccountNumber: ptr("123"), AccountPin: ptr("0000"), DonorProvider: ptr("Other"),
		Address: &connectd.Address{Line1: "1 Main St", City: "Springfield", PostalCode: "12345", Country: "US"}}
	for _, tc := range []struct {
		name, code string
		act        func(user, id string) error
		id         string
	}{
		{"cancel", "subscriptionNotFound", func(user, id string) error {
			_, err := acts.CancelSubscription(ctx, connectd.CancelSubscriptionCommand{Command: f.cmd(user), SubscriptionID: id})
			return err
		}, renewing.ID},
		{"resume", "subscriptionNotFound", func(user, id string) error {
			_, err := acts.ResumeSubscription(ctx, connectd.ResumeSubscriptionCommand{Command: f.cmd(user), SubscriptionID: id})
			return err
		}, canceled.ID},
		{"porting", "portingNotFound", func(user, id string) error {
			_, err := acts.SubmitPorting(ctx, connectd.SubmitPortingCommand{Command: f.cmd(user), PortingID: id, Porting: in})
			return err
		}, porting.ID},
	} {
		for _, try := range []struct{ user, id string }{{f.v.ID, tc.id}, {f.u.ID, tc.id + "x"}} {
			err := tc.act(try.user, try.id)
			if e := connectd.AsError(err); err == nil || e.Type != connectd.TypeNotFound || e.Code != tc.code {
				t.Errorf("%s by %s of %s: %v, want %s", tc.name, try.user, try.id, err, tc.code)
			}
		}
	}
	if got, err := f.b.Subscriptions().Get(ctx, f.project, renewing.ID); err != nil || got.EndedAt != nil {
		t.Errorf("renewing subscription after refusals: %+v, %v", got, err)
	}
	if got, err := f.b.Subscriptions().Get(ctx, f.project, canceled.ID); err != nil || got.EndedAt == nil {
		t.Errorf("canceled subscription after refusals: %+v, %v", got, err)
	}
	if got, err := f.b.Portings().Get(ctx, f.project, porting.ID); err != nil || got.Status != connectd.PortingDraft {
		t.Errorf("porting after refusals: %+v, %v", got, err)
	}
	// The owner may.
	if _, err := acts.CancelSubscription(ctx, connectd.CancelSubscriptionCommand{Command: f.cmd(f.u.ID), SubscriptionID: renewing.ID}); err != nil {
		t.Errorf("owner's cancel: %v", err)
	}
	if _, err := acts.ResumeSubscription(ctx, connectd.ResumeSubscriptionCommand{Command: f.cmd(f.u.ID), SubscriptionID: canceled.ID}); err != nil {
		t.Errorf("owner's resume: %v", err)
	}
	if got, err := acts.SubmitPorting(ctx, connectd.SubmitPortingCommand{Command: f.cmd(f.u.ID), PortingID: porting.ID, Porting: in}); err != nil || got.Status != connectd.PortingRequested {
		t.Errorf("owner's porting: %+v, %v", got, err)
	}
}

// A plan change or add-on bought with a card that asks for confirmation,
// abandoned in the portal and confirmed later elsewhere (a confirmPayment
// session), still delivers what was paid for: nobody is charged for
// nothing.
func TestPendingPurchaseIsDeliveredWhereverItIsConfirmed(t *testing.T) {
	t.Parallel()
	confirmCard := connectd.PaymentInput{Card: &connectd.CardInput{Number: "4000002500003155", ExpMonth: 12, ExpYear: 2040, CVC: "123"}}
	for _, name := range []string{"plan change", "add-ons"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			ctx := t.Context()
			usd := connectd.Price{Amount: 1000, Currency: "USD"}
			basic := &connectd.Plan{Name: "Basic", Status: connectd.PlanActive, Price: usd, Validity: connectd.Validity{Type: connectd.ValidityRecurring}}
			plus := &connectd.Plan{Name: "Plus", Status: connectd.PlanActive, Price: usd, Validity: connectd.Validity{Type: connectd.ValidityRecurring}}
			check(t, "basic", f.b.Plans().Create(ctx, f.project, basic))
			check(t, "plus", f.b.Plans().Create(ctx, f.project, plus))
			addon := &connectd.Addon{Name: "5 GB", Status: connectd.PlanActive, Price: usd, Plans: []string{basic.ID}}
			check(t, "addon", f.b.Addons().Create(ctx, f.project, addon))
			sub := &connectd.Subscription{User: f.u.ID, Plan: basic.ID, Status: connectd.SubscriptionActive, Recurring: true}
			check(t, "subscription", f.b.Subscriptions().Create(ctx, f.project, sub))

			var p *connectd.Purchase
			var err error
			if name == "plan change" {
				p, err = f.b.Actions().ChangePlan(ctx, connectd.ChangePlanCommand{Command: f.cmd(f.u.ID), SubscriptionID: sub.ID, PlanID: plus.ID, Pay: confirmCard})
			} else {
				p, err = f.b.Actions().BuyAddons(ctx, connectd.BuyAddonsCommand{Command: f.cmd(f.u.ID), SubscriptionID: sub.ID, AddonIDs: []string{addon.ID}, Pay: confirmCard})
			}
			check(t, "buy", err)
			if p.Payment.Status != connectd.PaymentRequiresConfirmation || p.Subscription != nil {
				t.Fatalf("before confirmation: payment %s, subscription changed: %v", p.Payment.Status, p.Subscription != nil)
			}
			before, err := f.b.Subscriptions().Get(ctx, f.project, sub.ID)
			check(t, "get", err)
			if before.Plan != basic.ID || len(before.Addons) != 0 {
				t.Fatalf("the subscription changed before the payment was confirmed: %+v", before)
			}
			if _, err := f.b.Actions().ConfirmPayment(ctx, connectd.ConfirmPaymentCommand{Command: f.cmd(f.v.ID), PaymentID: p.Payment.ID}); err == nil {
				t.Fatal("another user confirmed the payment")
			}
			paid, err := f.b.Actions().ConfirmPayment(ctx, connectd.ConfirmPaymentCommand{Command: f.cmd(f.u.ID), PaymentID: p.Payment.ID})
			check(t, "confirm", err)
			if paid.Status != connectd.PaymentSucceeded {
				t.Fatalf("confirmed payment is %s", paid.Status)
			}
			after, err := f.b.Subscriptions().Get(ctx, f.project, sub.ID)
			check(t, "get", err)
			if name == "plan change" && after.Plan != plus.ID {
				t.Errorf("plan after confirmation = %s, want %s", after.Plan, plus.ID)
			}
			if name == "add-ons" && (len(after.Addons) != 1 || after.Addons[0] != addon.ID) {
				t.Errorf("add-ons after confirmation = %v, want [%s]", after.Addons, addon.ID)
			}
			stored, err := f.b.Payments().Get(ctx, f.project, p.Payment.ID)
			check(t, "payment", err)
			if stored.Pending != nil {
				t.Errorf("a confirmed payment still holds its pending purchase %+v", stored.Pending)
			}
			if _, err := f.b.Actions().ConfirmPayment(ctx, connectd.ConfirmPaymentCommand{Command: f.cmd(f.u.ID), PaymentID: p.Payment.ID}); err == nil {
				t.Error("a payment was confirmed twice")
			}
		})
	}
}

// cmd is a command of user in the fixture's project at the fixture's time.
func (f *fixture) cmd(user string) connectd.Command {
	return connectd.Command{ProjectID: f.project, UserID: user, Now: f.at}
}
