package browser

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/connectd/connectd"
)

const (
	cardOK    = "4242424242424242"
	esimCode  = "LPA:1$smdp.example.com$K2-1A2B3C-4D5E6F"
	newName   = "Jerome Seinfeld"
	donorName = "Other Mobile"
)

func strp(s string) *string { return &s }

// intentCase is one intent's way through the portal.
type intentCase struct {
	intent string
	dest   string
	// settings change the project's defaults, when set.
	settings func(*connectd.ProjectSettings)
	// setup creates the intent's platform data and returns its payload
	// (nil for an intent without one).
	setup func(f *fixture) map[string]any
	// act does the action on the destination page and leaves the tab on
	// the page with the continue button. Nil for a view intent, whose
	// page has the button already.
	act func(f *fixture, b *tab)
	// check verifies the changed data, after act.
	check func(f *fixture)
	// unchanged verifies, after an exit, that nothing was changed.
	unchanged func(f *fixture)
}

// payWithCard fills the payment fields of a purchase form with a new card.
func payWithCard(b *tab) {
	b.t.Helper()
	if b.has("#pay_method-new") {
		b.check("pay_method-new")
	}
	b.fields("card_number", cardOK, "card_exp_month", "12", "card_exp_year", "2040", "card_cvc", "123")
}

// confirmed presses the page's confirm button and expects the done page.
func confirmed(b *tab) {
	b.t.Helper()
	if st := b.click("confirm"); st != http.StatusOK {
		b.t.Fatalf("confirm: %d\n%s", st, b.text())
	}
	b.at("/portal/done")
	b.shows("All set")
}

// onePaymentSucceeded checks that the user has one succeeded payment of
// amount, through the API.
func (f *fixture) onePaymentSucceeded(amount float64) map[string]any {
	f.t.Helper()
	pays := f.list("/payments?user=" + f.user)
	if len(pays) != 1 || pays[0]["status"] != "succeeded" || pays[0]["amount"] != amount {
		f.t.Fatalf("payments %v, want one succeeded of %v", pays, amount)
	}
	return pays[0]
}

func (f *fixture) noPayments() {
	f.t.Helper()
	if pays := f.list("/payments?user=" + f.user); len(pays) != 0 {
		f.t.Fatalf("payments %v, want none", pays)
	}
}

// pendingPayment creates a payment that needs confirming, for a pending
// subscription of the user.
func (f *fixture) pendingPayment() *connectd.Payment {
	f.t.Helper()
	sub := f.subscription(nil)
	f.updateSub(sub.ID, func(s *connectd.Subscription) { s.Status, s.CurrentPeriod = connectd.SubscriptionPending, nil })
	pay := &connectd.Payment{User: f.user, Subscription: &sub.ID, Amount: 1999, Currency: "USD",
		Status: connectd.PaymentRequiresConfirmation, Description: strp("Basic plan, first month")}
	f.ok(f.e.Service.Platform.Payments().Create(f.ctx, f.e.Project, pay))
	return pay
}

// porting creates a porting of the fixture's subscription.
func (f *fixture) porting(p *connectd.Porting) *connectd.Porting {
	f.t.Helper()
	p.Subscription = f.sub.ID
	if p.PhoneNumber == "" {
		p.PhoneNumber = "+15550100077"
	}
	f.ok(f.e.Service.Platform.Portings().Create(f.ctx, f.e.Project, p))
	return p
}

func (f *fixture) getPorting(id string) *connectd.Porting {
	f.t.Helper()
	p, err := f.e.Service.Platform.Portings().Get(f.ctx, f.e.Project, id)
	f.ok(err)
	return p
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func retrySettings(s *connectd.ProjectSettings) { s.PortingRetry = true }

// The 13 intents. Each case's data lives in its own fixture; ids found
// during setup are kept in the closures' variables.
func intentCases() []intentCase {
	var payID, portingID, esimSub, oldCard string
	return []intentCase{{
		intent: "cancelSubscription", dest: "/portal/subscription",
		setup: func(f *fixture) map[string]any { return map[string]any{"subscription": f.sub.ID} },
		act: func(f *fixture, b *tab) {
			b.shows("Basic", "Cancel subscription")
			confirmed(b)
		},
		check: func(f *fixture) {
			if s := f.api("/subscriptions/" + f.sub.ID); s["endedAt"] == nil {
				f.t.Fatalf("endedAt not set after canceling: %v", s)
			}
		},
		unchanged: func(f *fixture) {
			if s := f.api("/subscriptions/" + f.sub.ID); s["endedAt"] != nil {
				f.t.Fatalf("endedAt set after leaving: %v", s)
			}
		},
	}, {
		intent: "changeSubscription", dest: "/portal/change",
		setup: func(f *fixture) map[string]any { return map[string]any{"subscription": f.sub.ID} },
		act: func(f *fixture, b *tab) {
			b.shows("Plus", "$25.00", "5 GB extra")
			b.check("choice-plan-0")
			payWithCard(b)
			confirmed(b)
		},
		check: func(f *fixture) {
			if s := f.api("/subscriptions/" + f.sub.ID); s["plan"] != f.plus.ID {
				f.t.Fatalf("plan %v after changing, want %s", s["plan"], f.plus.ID)
			}
			f.onePaymentSucceeded(2500)
		},
		unchanged: func(f *fixture) {
			if s := f.api("/subscriptions/" + f.sub.ID); s["plan"] != f.basic.ID {
				f.t.Fatalf("plan %v after leaving", s["plan"])
			}
			f.noPayments()
		},
	}, {
		intent: "checkoutAddon", dest: "/portal/addons",
		setup: func(f *fixture) map[string]any {
			return map[string]any{"subscription": f.sub.ID, "addons": []string{f.gb5.ID}}
		},
		act: func(f *fixture, b *tab) {
			b.shows("Your cart", "5 GB extra", "Pay $5.00")
			payWithCard(b)
			confirmed(b)
		},
		check: func(f *fixture) {
			s := f.api("/subscriptions/" + f.sub.ID)
			if got := fmt.Sprint(s["addons"]); got != "["+f.gb5.ID+"]" {
				f.t.Fatalf("add-ons %s after checkout, want [%s]", got, f.gb5.ID)
			}
			f.onePaymentSucceeded(500)
		},
		unchanged: func(f *fixture) { f.noPayments() },
	}, {
		intent: "checkoutNewSubscription", dest: "/portal/checkout",
		setup: func(f *fixture) map[string]any { return map[string]any{"plan": f.plus.ID} },
		act: func(f *fixture, b *tab) {
			b.shows("Plus", "eSIM", "Physical SIM")
			b.check("sim_type-esim")
			b.click("confirm")
			b.at("/portal/checkout")
			b.fill("imei", "490154203237518")
			b.click("confirm")
			b.at("/portal/checkout")
			b.shows("Pay $25.00")
			payWithCard(b)
			confirmed(b)
		},
		check: func(f *fixture) {
			var got map[string]any
			for _, s := range f.list("/subscriptions?user=" + f.user) {
				if s["id"] != f.sub.ID {
					got = s
				}
			}
			if got == nil || got["plan"] != f.plus.ID || got["status"] != "active" || got["sim"] != f.esim.ID || got["device"] == nil {
				f.t.Fatalf("new subscription %v, want active on %s with SIM %s and a device", got, f.plus.ID, f.esim.ID)
			}
			if pay := f.onePaymentSucceeded(2500); pay["subscription"] != got["id"] {
				f.t.Fatalf("payment %v is not for the new subscription %v", pay, got["id"])
			}
		},
		unchanged: func(f *fixture) {
			if subs := f.list("/subscriptions?user=" + f.user); len(subs) != 1 {
				f.t.Fatalf("subscriptions %v after leaving", subs)
			}
			f.noPayments()
		},
	}, {
		intent: "completePorting", dest: "/portal/porting",
		setup: func(f *fixture) map[string]any {
			portingID = f.porting(&connectd.Porting{Status: connectd.PortingDraft}).ID
			return map[string]any{"subscription": f.sub.ID}
		},
		act: func(f *fixture, b *tab) {
			b.shows("+15550100077")
			b.fields("donor_provider", donorName, "account_number", "A-123", "account_pin", "9876",
				"address_line1", "129 West 81st Street", "address_city", "New York", "address_postal_code", "10024", "address_country", "US")
			confirmed(b)
		},
		check: func(f *fixture) {
			p := f.api("/portings/" + portingID)
			if p["status"] != "requested" || p["accountNumber"] != "A-123" || p["donorProvider"] != donorName || p["accountPinProvided"] != true {
				f.t.Fatalf("porting after submitting: %v", p)
			}
			if got := f.getPorting(portingID); deref(got.AccountPin) != "9876" || got.Address == nil || got.Address.City != "New York" {
				f.t.Fatalf("porting after submitting: %+v", got)
			}
		},
		unchanged: func(f *fixture) {
			if got := f.getPorting(portingID); got.Status != connectd.PortingDraft {
				f.t.Fatalf("porting %s after leaving", got.Status)
			}
		},
	}, {
		intent: "confirmPayment", dest: "/portal/payment",
		setup: func(f *fixture) map[string]any {
			payID = f.pendingPayment().ID
			return map[string]any{"payment": payID}
		},
		act: func(f *fixture, b *tab) {
			b.shows("$19.99", "Basic plan, first month")
			confirmed(b)
		},
		check: func(f *fixture) {
			if p := f.api("/payments/" + payID); p["status"] != "succeeded" {
				f.t.Fatalf("payment %v after confirming", p["status"])
			}
		},
		unchanged: func(f *fixture) {
			if p := f.api("/payments/" + payID); p["status"] != "requiresConfirmation" {
				f.t.Fatalf("payment %v after leaving", p["status"])
			}
		},
	}, {
		intent: "resumeSubscription", dest: "/portal/subscription",
		setup: func(f *fixture) map[string]any {
			f.updateSub(f.sub.ID, func(s *connectd.Subscription) { s.EndedAt = &s.CurrentPeriod.End })
			return map[string]any{"subscription": f.sub.ID}
		},
		act: func(f *fixture, b *tab) {
			b.shows("Resume subscription")
			confirmed(b)
		},
		check: func(f *fixture) {
			if s := f.api("/subscriptions/" + f.sub.ID); s["endedAt"] != nil {
				f.t.Fatalf("endedAt %v after resuming, want null", s["endedAt"])
			}
		},
		unchanged: func(f *fixture) {
			if s := f.api("/subscriptions/" + f.sub.ID); s["endedAt"] == nil {
				f.t.Fatalf("endedAt cleared after leaving")
			}
		},
	}, {
		intent: "updatePaymentMethod", dest: "/portal/payment-methods",
		setup: func(f *fixture) map[string]any {
			pm := &connectd.PaymentMethod{User: f.user, Type: "card", Card: connectd.Card{Brand: "visa", Last4: "1881", ExpMonth: 1, ExpYear: 2030}, Default: true}
			f.ok(f.e.Service.Platform.PaymentMethods().Create(f.ctx, f.e.Project, pm))
			oldCard = pm.ID
			return nil
		},
		act: func(f *fixture, b *tab) {
			b.shows("1881")
			b.fields("card_number", cardOK, "card_exp_month", "12", "card_exp_year", "2040", "card_cvc", "123")
			confirmed(b)
		},
		check: func(f *fixture) {
			var def []string
			for _, pm := range f.list("/paymentMethods?user=" + f.user) {
				card := pm["card"].(map[string]any)
				if pm["default"] == true {
					def = append(def, fmt.Sprint(card["last4"]))
				}
				if pm["id"] == oldCard && pm["default"] == true {
					f.t.Fatalf("the old card is still the default")
				}
			}
			if !slices.Equal(def, []string{"4242"}) {
				f.t.Fatalf("default cards %v, want the new 4242", def)
			}
		},
		unchanged: func(f *fixture) {
			if pms := f.list("/paymentMethods?user=" + f.user); len(pms) != 1 || pms[0]["default"] != true {
				f.t.Fatalf("payment methods after leaving: %v", pms)
			}
		},
	}, {
		intent: "updateUserAddress", dest: "/portal/address",
		setup: func(f *fixture) map[string]any { return nil },
		act: func(f *fixture, b *tab) {
			b.fields("line1", "129 West 81st Street", "line2", "Apt 5A", "city", "New York", "postal_code", "10024", "state", "NY", "country", "US")
			confirmed(b)
		},
		check: func(f *fixture) {
			a, _ := f.api("/users/" + f.user)["address"].(map[string]any)
			if a == nil || a["line1"] != "129 West 81st Street" || a["line2"] != "Apt 5A" || a["city"] != "New York" ||
				a["postalCode"] != "10024" || a["state"] != "NY" || a["country"] != "US" {
				f.t.Fatalf("address after saving: %v", a)
			}
		},
		unchanged: func(f *fixture) {
			if a := f.api("/users/" + f.user)["address"]; a != nil {
				f.t.Fatalf("address after leaving: %v", a)
			}
		},
	}, {
		intent: "updateUserFullName", dest: "/portal/name",
		setup: func(f *fixture) map[string]any { return nil },
		act: func(f *fixture, b *tab) {
			b.fill("full_name", newName)
			confirmed(b)
			b.screenshot("done")
		},
		check: func(f *fixture) {
			if got := f.api("/users/" + f.user)["fullName"]; got != newName {
				f.t.Fatalf("fullName %v after saving, want %s", got, newName)
			}
		},
		unchanged: func(f *fixture) {
			if got := f.api("/users/" + f.user)["fullName"]; got != nil {
				f.t.Fatalf("fullName %v after leaving", got)
			}
		},
	}, {
		intent: "viewEsimInstallation", dest: "/portal/esim",
		setup: func(f *fixture) map[string]any {
			sim := &connectd.SIM{Type: connectd.SIMTypeESIM, ICCID: "8901000000000000011", Status: connectd.SIMAssigned, ActivationCode: strp(esimCode)}
			f.ok(f.e.Service.Platform.SIMs().Create(f.ctx, f.e.Project, sim))
			esimSub = f.subscription(&sim.ID).ID
			return map[string]any{"subscription": esimSub}
		},
		act: func(f *fixture, b *tab) {
			b.shows("smdp.example.com", "K2-1A2B3C-4D5E6F")
			// The QR code is drawn: an image of real size on the page.
			size, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]float64](
				`(() => { const r = document.querySelector('svg[data-testid="qr"]').getBoundingClientRect(); return [r.width, r.height]; })()`))
			if err != nil {
				f.t.Fatalf("QR code: %v", err)
			}
			if size[0] < 100 || size[1] < 100 || size[0] > 375 {
				f.t.Fatalf("QR code is %vx%v pixels on a 375-pixel-wide page", size[0], size[1])
			}
		},
	}, {
		intent: "viewSubscription", dest: "/portal/subscription",
		setup: func(f *fixture) map[string]any { return map[string]any{"subscription": f.sub.ID} },
		act: func(f *fixture, b *tab) {
			b.shows("Basic", "$10.00", "+15550100042")
		},
	}, {
		intent: "viewSubscriptions", dest: "/portal/subscriptions",
		setup: func(f *fixture) map[string]any { return nil },
		act: func(f *fixture, b *tab) {
			b.shows("Basic", "+15550100042")
		},
	}}
}

// newCase makes the fixture of an intent case.
func (c intentCase) fixture(t *testing.T) (*fixture, map[string]any) {
	t.Helper()
	var settings *connectd.ProjectSettings
	if c.settings != nil {
		s := connectd.DefaultProjectSettings()
		c.settings(&s)
		settings = &s
	}
	f := newFixture(t, settings)
	return f, c.setup(f)
}

// open creates the case's session, enters it in a new tab (shot: with
// screenshots of the entry) and waits for the intent's page.
func (c intentCase) open(t *testing.T, shot bool) (*fixture, string, *tab) {
	t.Helper()
	f, payload := c.fixture(t)
	id, u := f.session(c.intent, payload)
	b := newTab(t)
	f.enter(b, u, shot)
	b.at(c.dest)
	return f, id, b
}

// Each intent, done for real in a browser: entry, destination, action,
// changed data, continue, link back with success.
func TestIntents(t *testing.T) {
	t.Parallel()
	for _, c := range intentCases() {
		t.Run(c.intent, func(t *testing.T) {
			t.Parallel()
			f, id, b := c.open(t, c.intent == "cancelSubscription")
			if !b.has(`[data-testid="exit"]`) {
				t.Fatalf("destination has no way out\n%s", b.text())
			}
			if got := f.sessionStatus(id); got != "active" {
				t.Fatalf("API session status %q after entering, want active", got)
			}
			b.screenshot(c.intent)
			if c.act != nil {
				c.act(f, b)
			}
			if c.check != nil {
				c.check(f)
			}
			b.click("continue")
			f.linkedBack(b, id, "success", "completed")
		})
	}
}

// Each intent's way out: exit links back with user_aborted and changes
// nothing.
func TestIntentsExit(t *testing.T) {
	t.Parallel()
	for _, c := range intentCases() {
		t.Run(c.intent, func(t *testing.T) {
			t.Parallel()
			f, id, b := c.open(t, false)
			b.click("exit")
			f.linkedBack(b, id, "user_aborted", "aborted")
			if c.unchanged != nil {
				c.unchanged(f)
			}
		})
	}
}

// An expired link links back with auth_expired, whether the project's
// sessionTTL passed or the application expired it through the API.
func TestExpiredLink(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, intent string
		expire       func(t *testing.T, f *fixture, id string)
	}{
		{"ttl_passed", "viewSubscriptions", func(t *testing.T, f *fixture, id string) { f.advance(2 * time.Minute) }},
		{"expired_through_the_api", "updateUserFullName", func(t *testing.T, f *fixture, id string) {
			if r := f.e.Post("/connectSessions/"+id+"/expire", nil); r.Status != http.StatusOK {
				t.Fatalf("expire: %d %s", r.Status, r.Body)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := connectd.DefaultProjectSettings()
			s.SessionTTL = connectd.Duration(time.Minute)
			f := newFixture(t, &s)
			id, u := f.session(c.intent, nil)
			c.expire(t, f, id)
			b := newTab(t)
			b.open(u)
			f.linkedBack(b, id, "auth_expired", "expired")
		})
	}
}

// The link confirmed in a second browser after the first entered it is a
// replay: auth_expired there, the first browser's portal session is
// revoked, and the session reads expired (issue 11.6). The second browser
// loaded the entry page before the first confirmed (a forwarded link): a
// GET of a used link only shows the already-used page (issue 11.8).
func TestReplayInAnotherBrowser(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	id, u := f.session("updateUserFullName", nil)
	second := newTab(t)
	if st := second.open(u); st != http.StatusOK {
		t.Fatalf("entry page in the second browser: %d", st)
	}
	first := newTab(t)
	f.enter(first, u, false)
	first.at("/portal/name")
	// In the browser that entered it, the link goes on working.
	first.open(u)
	first.at("/portal/name")

	second.click("confirm")
	f.linkedBack(second, id, "auth_expired", "expired")

	if st := first.reload(); st != http.StatusUnauthorized {
		t.Fatalf("first browser after the replay: %d, want 401\n%s", st, first.text())
	}
	first.shows("This link has expired")
	if first.has(`[data-testid="confirm"]`) || first.has("#full_name") {
		t.Fatalf("the revoked browser still shows the form\n%s", first.text())
	}
	if got := f.api("/users/" + f.user)["fullName"]; got != nil {
		t.Fatalf("fullName %v changed", got)
	}
}

// A link scanner that fetches the used link later (issue 11.8) sees the
// already-used page; the user's live session goes on and finishes.
func TestLinkScannerAfterEntry(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	id, u := f.session("updateUserFullName", nil)
	user := newTab(t)
	f.enter(user, u, false)
	user.at("/portal/name")

	scanner := newTab(t)
	if st := scanner.open(u); st != http.StatusGone {
		t.Fatalf("scanner GET of the used link: %d, want 410\n%s", st, scanner.text())
	}
	scanner.shows("This link was already used")
	if got := f.cb.requests(); len(got) != 0 {
		t.Fatalf("the scanner was sent to the callback: %v", got)
	}

	if st := user.reload(); st != http.StatusOK {
		t.Fatalf("the user's browser after the scanner: %d, want 200\n%s", st, user.text())
	}
	user.at("/portal/name")
	if got := f.sessionStatus(id); got != "active" {
		t.Fatalf("after the scanner the session is %s, want active", got)
	}
	user.fill("full_name", "Jerry Seinfeld")
	confirmed(user)
	if got := f.sessionStatus(id); got != "completed" {
		t.Fatalf("the session is %s, want completed\n%s", got, user.text())
	}
}

// A double tap on "Continue" (issue 11.7): the browser sends the
// confirming POST twice before the first answer (and its cookie) is
// stored. Both carry the pre-consumption cookie the entry page set, so the
// second is not a replay: the user is signed in, not locked out.
func TestDoubleTapOnContinue(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	id, u := f.session("updateUserFullName", nil)
	b := newTab(t)
	// The pages allow no script and no fetch (CSP): let the test's own
	// script send the taps, as the browser's form would.
	if _, err := chromedp.Run(b.ctx, func(ctx context.Context, tg *chromedp.Target) (cdp.Empty, error) {
		return cdp.Call(ctx, tg, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true})
	}); err != nil {
		t.Fatal(err)
	}
	if st := b.open(u); st != http.StatusOK || !b.has(`[data-testid="confirm"]`) {
		t.Fatalf("entry page: %d\n%s", st, b.text())
	}
	// Two POSTs of the confirmation form, sent by the page's browser with
	// its cookies. Chromium holds both answers (DevTools Fetch interception)
	// until the server has answered both: neither answer's cookie is stored
	// before the second POST leaves, as on a slow network.
	paused := make(chan fetch.RequestID, 4)
	if err := chromedp.Listen(b.ctx, func(ev any) {
		if e, ok := ev.(*fetch.EventRequestPaused); ok {
			paused <- e.RequestID
		}
	}); err != nil {
		t.Fatal(err)
	}
	call := func(f func(ctx context.Context, tg *chromedp.Target) (cdp.Empty, error)) {
		t.Helper()
		if _, err := chromedp.Run(b.ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	call(func(ctx context.Context, tg *chromedp.Target) (cdp.Empty, error) {
		return cdp.Call(ctx, tg, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{
			{URLPattern: "*/checkout/entry", RequestStage: fetch.RequestStageResponse}}})
	})
	type result struct {
		got string
		err error
	}
	done := make(chan result, 1)
	go func() {
		got, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(async () => {
			const form = document.querySelector('form[action="/checkout/entry"]');
			const tap = () => fetch(form.action, {method: 'POST', body: new URLSearchParams(new FormData(form)),
				credentials: 'same-origin'}).then(r => new URL(r.url).pathname + ' ' + r.status, e => 'failed: ' + e);
			return (await Promise.all([tap(), tap()])).join(', ');
		})()`, chromedp.EvalAwaitPromise))
		done <- result{got, err}
	}()
	var held []fetch.RequestID
	for len(held) < 2 {
		select {
		case id := <-paused:
			held = append(held, id)
		case <-time.After(30 * time.Second):
			t.Fatalf("%d of the 2 taps reached the server", len(held))
		}
	}
	for _, rid := range held {
		call(func(ctx context.Context, tg *chromedp.Target) (cdp.Empty, error) {
			return cdp.Call(ctx, tg, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: rid})
		})
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("double tap: %v", r.err)
	}
	// Each tap, the last one the browser shows included, lands on the
	// intent's page, signed in.
	if r.got != "/portal/name 200, /portal/name 200" {
		t.Fatalf("the taps ended at %q, want both at /portal/name", r.got)
	}
	call(func(ctx context.Context, tg *chromedp.Target) (cdp.Empty, error) {
		return cdp.Call(ctx, tg, fetch.Disable, cdp.Empty{})
	})
	if st := b.open(f.e.URL + "/portal/name"); st != http.StatusOK {
		t.Fatalf("after the double tap /portal/name answers %d, want 200\n%s", st, b.text())
	}
	b.at("/portal/name")
	if !b.has("#full_name") {
		t.Fatalf("after the double tap the form is not shown\n%s", b.text())
	}
	if got := f.sessionStatus(id); got != "active" {
		t.Fatalf("after the double tap the session is %s, want active", got)
	}
	if got := f.cb.requests(); len(got) != 0 {
		t.Fatalf("a tap linked back to the app: %v", got)
	}
	b.fill("full_name", "Jerry Seinfeld")
	confirmed(b)
	if got := f.sessionStatus(id); got != "completed" {
		t.Fatalf("the session is %s, want completed\n%s", got, b.text())
	}
}

// enterDeclinedPorting starts a project with porting retries on and a
// porting of f.sub declined with code, and enters a completePorting
// session for it in a new tab.
func enterDeclinedPorting(t *testing.T, code string, address *connectd.Address) (f *fixture, pt *connectd.Porting, id string, b *tab) {
	t.Helper()
	s := connectd.DefaultProjectSettings()
	retrySettings(&s)
	f = newFixture(t, &s)
	pt = f.porting(&connectd.Porting{Status: connectd.PortingDeclined, DeclinedCode: strp(code),
		DonorProvider: strp(donorName), AccountNumber: strp("A-1"), AccountPin: strp("1111"), Address: address})
	id, u := f.session("completePorting", map[string]any{"subscription": f.sub.ID})
	b = newTab(t)
	f.enter(b, u, false)
	return f, pt, id, b
}

// A porting declined with a code the user can fix: the page asks for the
// fix, a wrong answer is refused, the fixed one is sent again.
func TestPortingRetry(t *testing.T) {
	t.Parallel()
	f, pt, id, b := enterDeclinedPorting(t, "portingAccountPinRequiredOrInvalid",
		&connectd.Address{Line1: "1 Donor Way", City: "Springfield", PostalCode: "12345", Country: "US"})
	b.at("/portal/porting")
	b.shows("account PIN is wrong")
	if !b.has(`[data-testid="declined"]`) || !b.has("#account_pin") || b.has("#account_number") {
		t.Fatalf("the page does not ask for the PIN alone\n%s", b.text())
	}
	b.screenshot("completePorting-retry")
	if st := b.click("confirm"); st != http.StatusUnprocessableEntity {
		t.Fatalf("empty PIN: %d, want 422\n%s", st, b.text())
	}
	b.at("/portal/porting")
	b.shows("Enter the account PIN")
	b.fill("account_pin", "2468")
	confirmed(b)
	got := f.getPorting(pt.ID)
	if got.Status != connectd.PortingRequested || got.DeclinedCode != nil || deref(got.AccountPin) != "2468" || deref(got.AccountNumber) != "A-1" {
		t.Fatalf("porting after sending again: %+v", got)
	}
	b.click("continue")
	f.linkedBack(b, id, "success", "completed")
}

// A porting declined with a code the user cannot fix ends on entry with
// bad_configuration.
func TestPortingNotRetryable(t *testing.T) {
	t.Parallel()
	f, pt, id, b := enterDeclinedPorting(t, "portingNumberNotEligible", nil)
	f.linkedBack(b, id, "bad_configuration", "failed")
	if got := f.getPorting(pt.ID); got.Status != connectd.PortingDeclined {
		t.Fatalf("porting %s", got.Status)
	}
}

// A session without a user goes through hosted login: email, the code
// from the mail, then the destination.
func TestHostedLogin(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	id, u := f.sessionFor("updateUserFullName", nil, "")
	b := newTab(t)
	f.enter(b, u, false)
	b.at("/portal/login")
	b.screenshot("login")
	b.fill("email", f.email)
	b.click("confirm")
	b.shows("We sent a 6-digit code")
	code := f.e.Mail.Code(f.email)
	if len(code) != 6 {
		t.Fatalf("no code was mailed to %s", f.email)
	}
	b.fill("code", code)
	b.click("confirm")
	b.at("/portal/name")
	b.fill("full_name", newName)
	confirmed(b)
	if got := f.api("/users/" + f.user)["fullName"]; got != newName {
		t.Fatalf("fullName %v, want %s", got, newName)
	}
	b.click("continue")
	f.linkedBack(b, id, "success", "completed")
	if got := f.api("/connectSessions/" + id)["user"]; got != f.user {
		t.Fatalf("session user %v after login, want %s", got, f.user)
	}
}

// A page of another origin that frames the portal gets nothing: Chromium
// refuses to render the portal in the frame (X-Frame-Options DENY,
// frame-ancestors 'none'), and the link is not used.
func TestFramingRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	id, u := f.session("updateUserFullName", nil)
	framer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>Framer</title><h1 id="framer">Framer</h1><iframe id="victim" src="%s" width="375" height="600"></iframe>`,
			strings.ReplaceAll(u, "&", "&amp;"))
	}))
	defer framer.Close()

	b := newTab(t)
	console := chromedp.Console(b.ctx)
	b.open(framer.URL)
	b.do(chromedp.WaitVisible(chromedp.ID("framer")))

	// The browser says why it refused the frame.
	refused := make(chan string, 1)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			if strings.Contains(m.Text, "frame-ancestors 'none'") || strings.Contains(m.Text, "X-Frame-Options") {
				refused <- m.Text
				return
			}
		}
	}()
	select {
	case msg := <-refused:
		t.Logf("Chromium: %s", msg)
	case <-time.After(10 * time.Second):
		t.Fatalf("no refused-frame message from Chromium")
	}

	// The frame holds Chromium's error page, not the portal's page.
	tree, err := chromedp.Run(b.ctx, func(ctx context.Context, tg *chromedp.Target) (page.GetFrameTreeResult, error) {
		return cdp.Call(ctx, tg, page.GetFrameTree, cdp.Empty{})
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(tree.FrameTree.ChildFrames); n != 1 {
		t.Fatalf("%d child frames, want 1", n)
	}
	fr := tree.FrameTree.ChildFrames[0].Frame
	if strings.HasPrefix(fr.URL, f.e.URL) || fr.UnreachableURL != u {
		t.Fatalf("frame at %q (unreachable %q), want an error page for the portal's url", fr.URL, fr.UnreachableURL)
	}
	nodes, err := chromedp.Run(b.ctx, chromedp.Nodes(chromedp.ID("victim"), chromedp.Populate(-1, true)))
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 1 {
		t.Fatalf("%d iframes", len(nodes))
	}
	if doc := nodes[0].ContentDocument; doc != nil {
		if html := doc.Dump("", " ", false); strings.Contains(html, "data-testid") || strings.Contains(html, "Continue") {
			t.Fatalf("the portal rendered in the frame:\n%s", html)
		}
	}
	if got := f.sessionStatus(id); got != "open" {
		t.Fatalf("session %s after being framed, want open", got)
	}
}
