package portal_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/platform"
)

// pendingPayment creates a payment of user that needs confirming, for a
// pending subscription.
func (f *acctFixture) pendingPayment(user string) (*connectd.Payment, *connectd.Subscription) {
	f.t.Helper()
	sub := f.subscription(user, nil)
	_, err := connectd.UpdateResource(f.ctx, f.e.Service.Platform.Subscriptions(), f.e.Project, sub.ID, func(s *connectd.Subscription) error {
		s.Status, s.CurrentPeriod = connectd.SubscriptionPending, nil
		return nil
	})
	f.ok(err)
	desc := "Basic plan, first month"
	pay := &connectd.Payment{User: user, Subscription: &sub.ID, Amount: 1999, Currency: "USD",
		Status: connectd.PaymentRequiresConfirmation, Description: &desc}
	f.ok(f.e.Service.Platform.Payments().Create(f.ctx, f.e.Project, pay))
	return pay, sub
}

func (f *acctFixture) payment(id string) *connectd.Payment {
	f.t.Helper()
	p, err := f.e.Service.Platform.Payments().Get(f.ctx, f.e.Project, id)
	f.ok(err)
	return p
}

func TestConfirmPayment(t *testing.T) {
	t.Parallel()
	f := newAcctFixture(t, nil)
	pay, sub := f.pendingPayment(f.user)
	b, id, page := f.open("confirmPayment", map[string]any{"payment": pay.ID}, "/portal/payment")
	acctPage(t, page, http.StatusOK, "$19.99", "Basic plan, first month", pay.CreatedAt.Format("2 Jan 2006"),
		`action="/portal/payment/confirm"`, `data-testid="confirm"`)

	// The form names no payment: the session's is the one confirmed, and
	// an ID slipped into the form changes nothing.
	r := b.Post("/portal/payment/confirm", url.Values{"payment": {"pay_other"}})
	f.succeeded(b, r, id)
	if got := f.payment(pay.ID).Status; got != connectd.PaymentSucceeded {
		t.Fatalf("payment %s after confirming", got)
	}
	s, err := f.e.Service.Platform.Subscriptions().Get(f.ctx, f.e.Project, sub.ID)
	f.ok(err)
	if s.Status != connectd.SubscriptionActive {
		t.Fatalf("the subscription waiting for the payment is %s", s.Status)
	}
	f.apiShows("/payments/"+pay.ID, "status", "succeeded")
}

func TestConfirmPaymentNoLongerNeeded(t *testing.T) {
	t.Parallel()
	f := newAcctFixture(t, nil)
	pay, _ := f.pendingPayment(f.user)
	id, u := f.session("confirmPayment", map[string]any{"payment": pay.ID})
	// Confirmed elsewhere after the session was made.
	_, err := f.e.Service.Platform.Actions().ConfirmPayment(f.ctx, connectd.ConfirmPaymentCommand{
		Command: connectd.Command{ProjectID: f.e.Project, UserID: f.user, Now: pay.CreatedAt}, PaymentID: pay.ID})
	f.ok(err)
	b := f.e.NewBrowser()
	page := b.Follow(b.Enter(u))
	acctPage(t, page, http.StatusOK, "already been confirmed", "$19.99", `data-testid="exit"`)
	hasNone(t, page, `data-testid="confirm"`)
	r := b.Post("/portal/payment/confirm", nil)
	acctPage(t, r, http.StatusConflict, "doesn&#39;t need confirming")
	if got := f.sessionStatus(id); got != "active" {
		t.Fatalf("session %s after a refused confirmation", got)
	}
	f.exited(b, id)
}

func TestConfirmPaymentExit(t *testing.T) {
	t.Parallel()
	f := newAcctFixture(t, nil)
	pay, _ := f.pendingPayment(f.user)
	b, id, _ := f.open("confirmPayment", map[string]any{"payment": pay.ID}, "/portal/payment")
	f.exited(b, id)
	if got := f.payment(pay.ID).Status; got != connectd.PaymentRequiresConfirmation {
		t.Fatalf("leaving changed the payment to %s", got)
	}
	// The session is over: the confirm button no longer acts.
	b.Post("/portal/payment/confirm", nil)
	if got := f.payment(pay.ID).Status; got != connectd.PaymentRequiresConfirmation {
		t.Fatalf("an aborted session confirmed the payment: %s", got)
	}
}

// methods lists user's payment methods, default first.
func (f *acctFixture) methods(user string) []*connectd.PaymentMethod {
	f.t.Helper()
	var out []*connectd.PaymentMethod
	for _, m := range listOf(&f.fixture, f.e.Service.Platform.PaymentMethods(), user) {
		if m.Default {
			out = append([]*connectd.PaymentMethod{m}, out...)
		} else {
			out = append(out, m)
		}
	}
	return out
}

// storedNowhere checks that none of secrets is in any stored platform
// resource, user, or log line.
func (f *acctFixture) storedNowhere(secrets ...string) {
	f.t.Helper()
	rs, ok := f.e.Store.(platform.Store)
	if !ok {
		f.t.Fatal("the store keeps no resources")
	}
	var stored []string
	for _, kind := range connectd.ResourceKinds {
		after := ""
		for {
			page, err := rs.ListResources(f.ctx, f.e.Project, connectd.ResourceFilter{Kind: kind,
				ListParams: connectd.ListParams{Limit: connectd.MaxListLimit, After: after}})
			f.ok(err)
			for _, rec := range page.Items {
				stored = append(stored, string(kind)+" "+rec.ID+": "+string(rec.Data))
			}
			if !page.MoreAfter || len(page.Items) == 0 {
				break
			}
			after = page.Items[len(page.Items)-1].ID
		}
	}
	for _, u := range []string{f.user, f.other} {
		usr := f.getUser(u)
		stored = append(stored, "user "+u+": "+usr.Email+" "+strings.Join(mapValues(usr.Metadata), " "))
	}
	stored = append(stored, "logs: "+f.e.Logs.String())
	for _, s := range stored {
		for _, secret := range secrets {
			if strings.Contains(s, secret) {
				f.t.Fatalf("%q is stored: %s", secret, s)
			}
		}
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func TestAddPaymentMethod(t *testing.T) {
	t.Parallel()
	f := newAcctFixture(t, nil)
	old := &connectd.PaymentMethod{User: f.user, Type: "card", Default: true,
		Card: connectd.Card{Brand: "mastercard", Last4: "4444", ExpMonth: 3, ExpYear: 2031}}
	f.ok(f.e.Service.Platform.PaymentMethods().Create(f.ctx, f.e.Project, old))
	// Someone else's card is not shown.
	f.ok(f.e.Service.Platform.PaymentMethods().Create(f.ctx, f.e.Project, &connectd.PaymentMethod{User: f.other, Type: "card",
		Default: true, Card: connectd.Card{Brand: "amex", Last4: "0005", ExpMonth: 1, ExpYear: 2032}}))
	b, id, page := f.open("updatePaymentMethod", nil, "/portal/payment-methods")
	acctPage(t, page, http.StatusOK, "mastercard •••• 4444, expires 3/2031", `data-testid="default"`,
		`<label for="card_number">`, `<label for="card_exp_month">`, `<label for="card_exp_year">`, `<label for="card_cvc">`,
		`data-testid="confirm"`)
	hasNone(t, page, "•••• 0005")

	// Every problem at once, each next to its field; what was typed comes
	// back, but never the CVC.
	r := b.Post("/portal/payment-methods", url.Values{"card_number": {"4242424242424241"}, "card_exp_month": {"13"},
		"card_exp_year": {"2040"}, "card_cvc": {"98"}})
	acctPage(t, r, http.StatusUnprocessableEntity)
	fieldError(t, r, "card_number", "Enter a valid card number.")
	fieldError(t, r, "card_exp_month", "Enter the month as 1 to 12.")
	fieldError(t, r, "card_cvc", "Enter the 3 or 4 digits")
	for name, want := range map[string]string{"card_number": "4242424242424241", "card_exp_month": "13", "card_exp_year": "2040", "card_cvc": ""} {
		if v := inputValue(t, r, name); v != want {
			t.Fatalf("%s shows %q, want %q", name, v, want)
		}
	}
	r = b.Post("/portal/payment-methods", url.Values{"card_number": {"4242424242424242"}, "card_exp_month": {"1"},
		"card_exp_year": {"2020"}, "card_cvc": {"123"}})
	acctPage(t, r, http.StatusUnprocessableEntity)
	fieldError(t, r, "card_exp_year", "This card has expired.")

	// A declined card: the notice says so, nothing is saved.
	r = b.Post("/portal/payment-methods", url.Values{"card_number": {"4000000000000002"}, "card_exp_month": {"12"},
		"card_exp_year": {"2040"}, "card_cvc": {"123"}})
	acctPage(t, r, http.StatusUnprocessableEntity, "Your card was declined. Nothing was saved.")
	if v := inputValue(t, r, "card_cvc"); v != "" {
		t.Fatalf("CVC echoed: %q", v)
	}
	if ms := f.methods(f.user); len(ms) != 1 || ms[0].ID != old.ID || !ms[0].Default {
		t.Fatalf("refused cards changed the payment methods: %+v", ms)
	}
	if got := f.sessionStatus(id); got != "active" {
		t.Fatalf("session %s after refused cards", got)
	}

	r = b.Post("/portal/payment-methods", url.Values{"card_number": {"4242 4242 4242 4242"}, "card_exp_month": {"12"},
		"card_exp_year": {"2040"}, "card_cvc": {"123"}})
	f.succeeded(b, r, id)
	ms := f.methods(f.user)
	if len(ms) != 2 {
		t.Fatalf("%d payment methods, want 2", len(ms))
	}
	if nw := ms[0]; !nw.Default || nw.ID == old.ID || nw.Card != (connectd.Card{Brand: "visa", Last4: "4242", ExpMonth: 12, ExpYear: 2040}) {
		t.Fatalf("new default card %+v", nw)
	}
	if ms[1].ID != old.ID || ms[1].Default {
		t.Fatalf("old card %+v, want it kept and no longer default", ms[1])
	}
	// The API shows brand, last 4 and expiry, and nothing else of the card.
	card := f.e.Get("/paymentMethods/" + ms[0].ID).JSON(t)["card"].(map[string]any)
	if len(card) != 4 || card["last4"] != "4242" {
		t.Fatalf("API card %v", card)
	}
	f.storedNowhere("4242424242424242", "4242 4242 4242 4242", "4242424242424241", "4000000000000002")
}
