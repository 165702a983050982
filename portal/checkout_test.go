package portal_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/connectd/connectd"
)

const testIMEI = "490154203237518"

// checkoutState is what a checkout left behind.
func (f *subFixture) checkoutState() (subs []*connectd.Subscription, pays []*connectd.Payment) {
	return f.subscriptionsOf(f.user), f.payments(f.user)
}

func (f *subFixture) simStatus(id string) string {
	f.t.Helper()
	s, err := f.e.Service.Platform.SIMs().Get(f.ctx, f.e.Project, id)
	must(f.t, err)
	return s.Status
}

// newSubscriptionOf returns the user's subscription other than the
// fixture's, failing when there is not exactly one.
func (f *subFixture) newSubscriptionOf(user string) *connectd.Subscription {
	f.t.Helper()
	var out []*connectd.Subscription
	for _, s := range f.subscriptionsOf(user) {
		if s.ID != f.sub.ID {
			out = append(out, s)
		}
	}
	if len(out) != 1 {
		f.t.Fatalf("%d new subscriptions, want 1", len(out))
	}
	return out[0]
}

func TestCheckoutAllSteps(t *testing.T) {
	t.Parallel()
	if !connectd.ValidIMEI(testIMEI) {
		t.Fatal("test IMEI is not valid")
	}
	f := newSubFixture(t, nil)
	b, id := f.open("checkoutNewSubscription", map[string]any{"plan": f.plus.ID, "addons": []string{}}, "/portal/checkout")

	sim := b.Get("/portal/checkout")
	hasAll(t, sim, http.StatusOK, "Choose your SIM", "Plus", "$25.00", `name="sim_type" value="eSIM"`, `name="sim_type" value="pSIM"`,
		`name="step" value="sim"`, `data-testid="confirm"`, `data-testid="exit"`)
	labelled(t, sim)

	device := b.Post("/portal/checkout", url.Values{"step": {"sim"}, "sim_type": {"pSIM"}})
	hasAll(t, device, http.StatusOK, "Your phone", `for="imei"`, `name="step" value="device"`, `name="sim_type" value="pSIM"`, "Physical SIM", `data-testid="confirm"`)
	labelled(t, device)

	pay := b.Post("/portal/checkout", url.Values{"step": {"device"}, "sim_type": {"pSIM"}, "imei": {testIMEI}})
	hasAll(t, pay, http.StatusOK, "Checkout", `for="card_number"`, `name="step" value="pay"`, `name="sim_type" value="pSIM"`,
		`name="imei" value="`+testIMEI+`"`, "Pay $25.00", `data-testid="confirm"`)
	labelled(t, pay)

	f.succeeded(b, b.Post("/portal/checkout", with(goodCard(cardOK), "step", "pay", "sim_type", "pSIM", "imei", testIMEI)), id)
	s := f.newSubscriptionOf(f.user)
	if s.Plan != f.plus.ID || s.Status != connectd.SubscriptionActive || s.SIM == nil || *s.SIM != f.psim.ID || s.Device == nil {
		t.Fatalf("new subscription %+v, want active on %s with SIM %s and a device", s, f.plus.ID, f.psim.ID)
	}
	if got := f.simStatus(f.psim.ID); got != connectd.SIMAssigned {
		t.Fatalf("SIM %s, want assigned", got)
	}
	if got := f.simStatus(f.esim.ID); got != connectd.SIMAvailable {
		t.Fatalf("the eSIM is %s, want still available", got)
	}
	d, err := f.e.Service.Platform.Devices().Get(f.ctx, f.e.Project, *s.Device)
	must(t, err)
	if d.IMEI == nil || *d.IMEI != testIMEI {
		t.Fatalf("device IMEI %v, want %s", d.IMEI, testIMEI)
	}
	pays := f.payments(f.user)
	if len(pays) != 1 || pays[0].Status != connectd.PaymentSucceeded || pays[0].Amount != 2500 ||
		pays[0].Subscription == nil || *pays[0].Subscription != s.ID {
		t.Fatalf("payments %+v, want one succeeded of 2500 for %s", pays, s.ID)
	}
}

// Each field the session gives skips its step.
func TestCheckoutSkipsGivenSteps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		payload func(f *subFixture) map[string]any
		first   string // the step the page opens on
	}{
		{"sim given", func(f *subFixture) map[string]any { return map[string]any{"plan": f.basic.ID, "sim": f.esim.ID} }, "device"},
		{"imei given", func(f *subFixture) map[string]any { return map[string]any{"plan": f.basic.ID, "imei": testIMEI} }, "sim"},
		{"sim and imei given", func(f *subFixture) map[string]any {
			return map[string]any{"plan": f.basic.ID, "sim": f.esim.ID, "imei": testIMEI, "addons": []string{f.gb5.ID}}
		}, "pay"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newSubFixture(t, nil)
			b, id := f.open("checkoutNewSubscription", tc.payload(f), "/portal/checkout")
			page := b.Get("/portal/checkout")
			hasAll(t, page, http.StatusOK, `name="step" value="`+tc.first+`"`, `data-testid="confirm"`)
			if tc.first != "sim" {
				hasNone(t, page, `name="sim_type" value="eSIM"`)
			}
			if tc.first == "pay" {
				hasAll(t, page, http.StatusOK, "5 GB extra", "Pay $15.00", "eSIM", testIMEI)
				hasNone(t, page, `id="imei"`)
				f.succeeded(b, b.Post("/portal/checkout", with(goodCard(cardOK), "step", "pay")), id)
				s := f.newSubscriptionOf(f.user)
				if *s.SIM != f.esim.ID || len(s.Addons) != 1 || s.Addons[0] != f.gb5.ID {
					t.Fatalf("new subscription %+v, want SIM %s with add-on %s", s, f.esim.ID, f.gb5.ID)
				}
				if pays := f.payments(f.user); len(pays) != 1 || pays[0].Amount != 1500 || pays[0].Status != connectd.PaymentSucceeded {
					t.Fatalf("payments %+v, want one succeeded of 1500", pays)
				}
			}
		})
	}
}

// Answers are checked on every POST, hidden ones included: a bad one goes
// back to its step with the problem next to its field, and nothing is
// bought.
func TestCheckoutBadAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		form   url.Values
		status int
		want   []string
	}{
		{"no SIM type", url.Values{"step": {"sim"}}, 422, []string{`id="sim_type-error"`, `name="step" value="sim"`}},
		{"tampered SIM type at payment", with(goodCard(cardOK), "step", "pay", "sim_type", "auto", "imei", ""), 422,
			[]string{`id="sim_type-error"`, `name="step" value="sim"`}},
		{"invalid IMEI", url.Values{"step": {"device"}, "sim_type": {"eSIM"}, "imei": {"490154203237519"}}, 422,
			[]string{`id="imei-error"`, `value="490154203237519"`, `name="step" value="device"`, `name="sim_type" value="eSIM"`}},
		{"tampered IMEI at payment", with(goodCard(cardOK), "step", "pay", "sim_type", "eSIM", "imei", "123"), 422,
			[]string{`id="imei-error"`, `name="step" value="device"`}},
		{"invalid card", with(goodCard("4000000000000001"), "step", "pay", "sim_type", "eSIM", "imei", ""), 422,
			[]string{`id="card_number-error"`, `value="4000000000000001"`, `name="step" value="pay"`}},
		{"an unknown step counts as the first", url.Values{"step": {"done"}, "sim_type": {"eSIM"}}, 200, []string{`name="step" value="device"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newSubFixture(t, nil)
			b, _ := f.open("checkoutNewSubscription", map[string]any{"plan": f.plus.ID}, "/portal/checkout")
			r := b.Post("/portal/checkout", tc.form)
			hasAll(t, r, tc.status, append(tc.want, `data-testid="exit"`)...)
			labelled(t, r)
			subs, pays := f.checkoutState()
			if len(subs) != 1 || len(pays) != 0 {
				t.Fatalf("%d subscriptions and %d payments, want the fixture's 1 and none", len(subs), len(pays))
			}
		})
	}
}

func TestCheckoutDeclinedThenConfirmation(t *testing.T) {
	t.Parallel()
	f := newSubFixture(t, nil)
	b, id := f.open("checkoutNewSubscription", map[string]any{"plan": f.plus.ID, "sim": f.esim.ID, "imei": testIMEI}, "/portal/checkout")
	r := b.Post("/portal/checkout", with(goodCard(cardDecline), "step", "pay"))
	hasAll(t, r, http.StatusUnprocessableEntity, "Your card was declined", `value="4000000000000002"`, `data-testid="confirm"`)
	subs, pays := f.checkoutState()
	if len(subs) != 1 || len(pays) != 1 || pays[0].Status != connectd.PaymentFailed {
		t.Fatalf("after a decline: %d subscriptions, payments %+v; want the fixture's and one failed payment", len(subs), pays)
	}
	if got := f.simStatus(f.esim.ID); got != connectd.SIMAvailable {
		t.Fatalf("SIM %s after a decline, want available", got)
	}

	r = b.Post("/portal/checkout", with(goodCard(cardConfirm), "step", "pay"))
	hasAll(t, r, http.StatusOK, "confirm this payment of <strong>$25.00</strong>", `name="step" value="pay"`, `data-testid="confirm"`)
	// Before confirmation the SIM is reserved on a pending subscription,
	// which the confirmation activates: never charged for nothing.
	if s := f.newSubscriptionOf(f.user); s.Status != connectd.SubscriptionPending {
		t.Fatalf("before confirmation the new subscription is %s, want pending", s.Status)
	}
	payID := pendingPaymentID(t, r)
	f.succeeded(b, b.Post("/portal/checkout", url.Values{"step": {"pay"}, "confirm_payment": {payID}}), id)
	s := f.newSubscriptionOf(f.user)
	if *s.SIM != f.esim.ID || f.simStatus(f.esim.ID) != connectd.SIMAssigned || s.Status != connectd.SubscriptionActive {
		t.Fatalf("new subscription %+v, want SIM %s assigned", s, f.esim.ID)
	}
	for _, p := range f.payments(f.user) {
		if p.ID == payID && (p.Status != connectd.PaymentSucceeded || p.Subscription == nil || *p.Subscription != s.ID) {
			t.Fatalf("confirmed payment %+v, want succeeded for %s", p, s.ID)
		}
	}
}

// A plan that needs the user's name or address, when the account lacks
// them: the page says so instead of taking a payment.
func TestCheckoutRequirementsMissing(t *testing.T) {
	t.Parallel()
	f := newSubFixture(t, nil)
	needy := &connectd.Plan{Name: "Postpaid", Status: connectd.PlanActive, Price: connectd.Price{Amount: 3000, Currency: "USD"},
		Validity: connectd.Validity{Type: connectd.ValidityRecurring}, Requirements: connectd.Requirements{FullName: true, Address: true}}
	must(t, f.e.Service.Platform.Plans().Create(f.ctx, f.e.Project, needy))
	b, id := f.open("checkoutNewSubscription", map[string]any{"plan": needy.ID, "sim": f.esim.ID, "imei": testIMEI}, "/portal/checkout")
	page := b.Get("/portal/checkout")
	hasAll(t, page, http.StatusOK, "your full name and your address", "Go back to the app", `data-testid="exit"`)
	hasNone(t, page, `data-testid="confirm"`, "card_number")
	hasAll(t, b.Post("/portal/checkout", with(goodCard(cardOK), "step", "pay")), http.StatusConflict, "your full name")
	subs, pays := f.checkoutState()
	if len(subs) != 1 || len(pays) != 0 {
		t.Fatalf("%d subscriptions and %d payments, want nothing bought", len(subs), len(pays))
	}
	f.linkedBack(b.Post("/portal/exit", nil), id, "user_aborted", "aborted")
}

// The plan or SIM no longer fits (archived, assigned meanwhile): a plain
// explanation.
func TestCheckoutNoLongerAvailable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(f *subFixture)
		want   string
	}{
		{"plan archived", func(f *subFixture) {
			update(&f.fixture, f.e.Service.Platform.Plans(), f.plus.ID, func(p *connectd.Plan) { p.Status = connectd.PlanArchived })
		}, "This plan is no longer available."},
		{"SIM assigned", func(f *subFixture) {
			update(&f.fixture, f.e.Service.Platform.SIMs(), f.esim.ID, func(s *connectd.SIM) { s.Status = connectd.SIMAssigned })
		}, "The SIM picked for this order is no longer available."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newSubFixture(t, nil)
			b, _ := f.open("checkoutNewSubscription", map[string]any{"plan": f.plus.ID, "sim": f.esim.ID, "imei": testIMEI}, "/portal/checkout")
			tc.change(f)
			page := b.Get("/portal/checkout")
			hasAll(t, page, http.StatusOK, tc.want, `data-testid="exit"`)
			hasNone(t, page, `data-testid="confirm"`)
			hasAll(t, b.Post("/portal/checkout", with(goodCard(cardOK), "step", "pay")), http.StatusConflict, tc.want)
			if pays := f.payments(f.user); len(pays) != 0 {
				t.Fatalf("payments %+v, want none", pays)
			}
		})
	}
}
