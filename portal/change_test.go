package portal_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/connectd/connectd"
)

func TestChangeSubscription(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		form  func(f *subFixture) url.Values
		check func(t *testing.T, f *subFixture, after *connectd.Subscription, pays []*connectd.Payment)
	}{{
		name: "switch plan with a new card",
		form: func(f *subFixture) url.Values {
			return with(goodCard(cardOK), "choice", "plan:"+f.plus.ID, "save_card", "1")
		},
		check: func(t *testing.T, f *subFixture, after *connectd.Subscription, pays []*connectd.Payment) {
			if after.Plan != f.plus.ID {
				t.Fatalf("plan %s, want %s", after.Plan, f.plus.ID)
			}
			if len(pays) != 1 || pays[0].Status != connectd.PaymentSucceeded || pays[0].Amount != 2500 {
				t.Fatalf("payments %+v, want one succeeded of 2500", pays)
			}
		},
	}, {
		name: "add-on with a saved card",
		form: func(f *subFixture) url.Values {
			f.saveCard(f.user)
			return url.Values{"choice": {"addon:" + f.gb5.ID}, "pay_method": {"saved:0"}}
		},
		check: func(t *testing.T, f *subFixture, after *connectd.Subscription, pays []*connectd.Payment) {
			if after.Plan != f.basic.ID || !slices.Equal(after.Addons, []string{f.gb5.ID}) {
				t.Fatalf("plan %s add-ons %v, want %s with %s", after.Plan, after.Addons, f.basic.ID, f.gb5.ID)
			}
			if len(pays) != 1 || pays[0].Status != connectd.PaymentSucceeded || pays[0].Amount != 500 || pays[0].PaymentMethod == nil {
				t.Fatalf("payments %+v, want one succeeded of 500 with the saved card", pays)
			}
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newSubFixture(t, nil)
			form := tc.form(f)
			b, id := f.open("changeSubscription", map[string]any{"subscription": f.sub.ID}, "/portal/change")
			page := b.Get("/portal/change")
			hasAll(t, page, http.StatusOK, "Add data", `data-testid="confirm"`, `data-testid="exit"`,
				`value="plan:`+f.plus.ID+`"`, "Plus", "$25.00", `value="addon:`+f.gb5.ID+`"`, "5 GB extra", "$5.00", `for="card_number"`)
			hasNone(t, page, `value="plan:`+f.basic.ID+`"`)
			labelled(t, page)
			f.succeeded(b, b.Post("/portal/change", form), id)
			tc.check(t, f, f.getSub(f.sub.ID), f.payments(f.user))
		})
	}
}

func TestChangeDeclinedThenRetry(t *testing.T) {
	t.Parallel()
	f := newSubFixture(t, nil)
	b, id := f.open("changeSubscription", map[string]any{"subscription": f.sub.ID}, "/portal/change")
	r := b.Post("/portal/change", with(goodCard(cardDecline), "choice", "plan:"+f.plus.ID))
	hasAll(t, r, http.StatusUnprocessableEntity, "Your card was declined", `value="4000000000000002"`,
		`value="plan:`+f.plus.ID+`" checked`, `data-testid="confirm"`)
	hasNone(t, r, `value="123"`) // the CVC is never echoed
	if got := f.getSub(f.sub.ID).Plan; got != f.basic.ID {
		t.Fatalf("plan changed to %s by a declined card", got)
	}
	pays := f.payments(f.user)
	if len(pays) != 1 || pays[0].Status != connectd.PaymentFailed {
		t.Fatalf("payments %+v, want one failed", pays)
	}
	if got := f.sessionStatus(id); got != "active" {
		t.Fatalf("session %s after a decline, want active", got)
	}
	f.succeeded(b, b.Post("/portal/change", with(goodCard(cardOK), "choice", "plan:"+f.plus.ID)), id)
	if got := f.getSub(f.sub.ID).Plan; got != f.plus.ID {
		t.Fatalf("plan %s after retry, want %s", got, f.plus.ID)
	}
}

func TestChangeInvalidCard(t *testing.T) {
	t.Parallel()
	f := newSubFixture(t, nil)
	b, _ := f.open("changeSubscription", map[string]any{"subscription": f.sub.ID}, "/portal/change")
	r := b.Post("/portal/change", with(goodCard("4242424242424241"), "choice", "addon:"+f.gb5.ID, "card_exp_month", "13"))
	hasAll(t, r, http.StatusUnprocessableEntity, `id="card_number-error"`, "Enter a valid card number", "Enter the month as 1 to 12",
		`value="4242424242424241"`, `value="13"`, `value="addon:`+f.gb5.ID+`" checked`)
	if pays := f.payments(f.user); len(pays) != 0 {
		t.Fatalf("payments %+v after an invalid card, want none", pays)
	}
}

func TestChangeConfirmation(t *testing.T) {
	t.Parallel()
	f := newSubFixture(t, nil)
	b, id := f.open("changeSubscription", map[string]any{"subscription": f.sub.ID}, "/portal/change")
	r := b.Post("/portal/change", with(goodCard(cardConfirm), "choice", "plan:"+f.plus.ID))
	hasAll(t, r, http.StatusOK, "Your bank asks you to confirm this payment of <strong>$25.00</strong>", `data-testid="confirm"`,
		`name="choice" value="plan:`+f.plus.ID+`"`, `data-testid="exit"`)
	payID := pendingPaymentID(t, r)
	if got := f.getSub(f.sub.ID).Plan; got != f.basic.ID {
		t.Fatal("plan changed before confirmation")
	}
	f.succeeded(b, b.Post("/portal/change", url.Values{"choice": {"plan:" + f.plus.ID}, "confirm_payment": {payID}}), id)
	if got := f.getSub(f.sub.ID).Plan; got != f.plus.ID {
		t.Fatalf("plan %s after confirmation, want %s", got, f.plus.ID)
	}
	pays := f.payments(f.user)
	if len(pays) != 1 || pays[0].ID != payID || pays[0].Status != connectd.PaymentSucceeded {
		t.Fatalf("payments %+v, want %s succeeded and nothing else", pays, payID)
	}
}

// A form that names something the page did not offer, another user's
// card or payment, changes nothing.
func TestChangeTamperedForm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		form  func(f *subFixture) url.Values
		field string // the problem shows next to this field, or in the notice
	}{
		{"the current plan", func(f *subFixture) url.Values { return with(goodCard(cardOK), "choice", "plan:"+f.basic.ID) }, `id="choice-error"`},
		{"a bare plan ID", func(f *subFixture) url.Values { return with(goodCard(cardOK), "choice", f.plus.ID) }, `id="choice-error"`},
		{"a draft plan", func(f *subFixture) url.Values {
			draft := &connectd.Plan{Name: "Secret", Status: connectd.PlanDraft, Price: connectd.Price{Amount: 1, Currency: "USD"}, Validity: connectd.Validity{Type: connectd.ValidityRecurring}}
			must(f.t, f.e.Service.Platform.Plans().Create(f.ctx, f.e.Project, draft))
			return with(goodCard(cardOK), "choice", "plan:"+draft.ID)
		}, `id="choice-error"`},
		{"an add-on of another plan", func(f *subFixture) url.Values {
			ad := &connectd.Addon{Name: "Plus only", Status: connectd.PlanActive, Price: connectd.Price{Amount: 100, Currency: "USD"}, Plans: []string{f.plus.ID}}
			must(f.t, f.e.Service.Platform.Addons().Create(f.ctx, f.e.Project, ad))
			return with(goodCard(cardOK), "choice", "addon:"+ad.ID)
		}, `id="choice-error"`},
		{"no choice", func(f *subFixture) url.Values { return goodCard(cardOK) }, `id="choice-error"`},
		{"a saved card out of range", func(f *subFixture) url.Values {
			f.saveCard(f.user)
			f.saveCard(f.other)
			return url.Values{"choice": {"plan:" + f.plus.ID}, "pay_method": {"saved:1"}}
		}, "Choose a card."},
		{"another user's pending payment", func(f *subFixture) url.Values {
			desc := "theirs"
			p := &connectd.Payment{User: f.other, Amount: 2500, Currency: "USD", Status: connectd.PaymentRequiresConfirmation, Description: &desc}
			must(f.t, f.e.Service.Platform.Payments().Create(f.ctx, f.e.Project, p))
			return url.Values{"choice": {"plan:" + f.plus.ID}, "confirm_payment": {p.ID}}
		}, "was found for this account"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newSubFixture(t, nil)
			form := tc.form(f)
			theirs := f.payments(f.other)
			b, id := f.open("changeSubscription", map[string]any{"subscription": f.sub.ID}, "/portal/change")
			r := b.Post("/portal/change", form)
			if r.Status < 400 {
				t.Fatalf("tampered form: %d, want a refusal\n%s", r.Status, r.Body)
			}
			hasAll(t, r, r.Status, tc.field, `data-testid="exit"`)
			after := f.getSub(f.sub.ID)
			if after.Plan != f.basic.ID || len(after.Addons) != 0 {
				t.Fatalf("subscription changed: plan %s add-ons %v", after.Plan, after.Addons)
			}
			if pays := f.payments(f.user); len(pays) != 0 {
				t.Fatalf("payments %+v, want none", pays)
			}
			for i, p := range f.payments(f.other) {
				if p.Status != theirs[i].Status {
					t.Fatalf("the other user's payment %s changed to %s", p.ID, p.Status)
				}
			}
			if got := f.sessionStatus(id); got != "active" {
				t.Fatalf("session %s, want active", got)
			}
		})
	}
}

// Nothing to offer (the subscription was canceled and no add-ons exist
// for its plan), or the subscription is gone: a plain explanation.
func TestChangeNothingToOffer(t *testing.T) {
	t.Parallel()
	f := newSubFixture(t, nil)
	b, _ := f.open("changeSubscription", map[string]any{"subscription": f.sub.ID}, "/portal/change")
	_, err := connectd.UpdateResource(f.ctx, f.e.Service.Platform.Addons(), f.e.Project, f.gb5.ID, func(a *connectd.Addon) error {
		a.Status = connectd.PlanArchived
		return nil
	})
	must(t, err)
	f.setSub(func(s *connectd.Subscription) { end := s.CurrentPeriod.End; s.EndedAt = &end })
	page := b.Get("/portal/change")
	hasAll(t, page, http.StatusOK, "no other plans or add-ons", `data-testid="exit"`)
	hasNone(t, page, `data-testid="confirm"`, "card_number")
	r := b.Post("/portal/change", with(goodCard(cardOK), "choice", "plan:"+f.plus.ID))
	hasAll(t, r, http.StatusConflict, "no other plans or add-ons")
	if pays := f.payments(f.user); len(pays) != 0 {
		t.Fatalf("payments %+v, want none", pays)
	}
	f.setSub(func(s *connectd.Subscription) { s.Status = connectd.SubscriptionEnded })
	hasAll(t, b.Get("/portal/change"), http.StatusOK, "isn&#39;t active")
}
