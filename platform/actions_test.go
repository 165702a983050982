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
			_, err := acts.CancelSubscription(ctx, f.project, user, id, f.at)
			return err
		}, renewing.ID},
		{"resume", "subscriptionNotFound", func(user, id string) error {
			_, err := acts.ResumeSubscription(ctx, f.project, user, id)
			return err
		}, canceled.ID},
		{"porting", "portingNotFound", func(user, id string) error {
			_, err := acts.SubmitPorting(ctx, f.project, user, id, in, f.at)
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
	if _, err := acts.CancelSubscription(ctx, f.project, f.u.ID, renewing.ID, f.at); err != nil {
		t.Errorf("owner's cancel: %v", err)
	}
	if _, err := acts.ResumeSubscription(ctx, f.project, f.u.ID, canceled.ID); err != nil {
		t.Errorf("owner's resume: %v", err)
	}
	if got, err := acts.SubmitPorting(ctx, f.project, f.u.ID, porting.ID, in, f.at); err != nil || got.Status != connectd.PortingRequested {
		t.Errorf("owner's porting: %+v, %v", got, err)
	}
}
