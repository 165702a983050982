package portal_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/apitest"
)

// Fixtures of the subscription pages' tests: a project with a user, two
// active plans, an add-on for the first, SIMs, and an active recurring
// subscription of the user on the first plan.

const subCallback = "https://app.example.com/connect/done?from=portal"

type subFixture struct {
	t     *testing.T
	e     *apitest.Env
	ctx   context.Context
	user  string
	other string // another user of the same project
	basic *connectd.Plan
	plus  *connectd.Plan
	gb5   *connectd.Addon
	sub   *connectd.Subscription
	esim  *connectd.SIM // available
	psim  *connectd.SIM // available
}

func newSubFixture(t *testing.T, settings *connectd.ProjectSettings) *subFixture {
	t.Helper()
	e := apitest.New(t, apitest.Options{Settings: settings})
	if e.Portal == nil {
		t.Fatal("the store does not keep portal state")
	}
	f := &subFixture{t: t, e: e, ctx: context.Background()}
	f.user = e.CreateUser("jerry@example.com")
	f.other = e.CreateUser("elaine@example.com")
	pl := e.Service.Platform
	gb := int64(5_000_000_000)
	f.basic = &connectd.Plan{Name: "Basic", Status: connectd.PlanActive, Price: connectd.Price{Amount: 1000, Currency: "USD"},
		Validity: connectd.Validity{Type: connectd.ValidityRecurring}, Allowances: connectd.Allowances{DataBytes: &gb}}
	f.plus = &connectd.Plan{Name: "Plus", Status: connectd.PlanActive, Price: connectd.Price{Amount: 2500, Currency: "USD"},
		Validity: connectd.Validity{Type: connectd.ValidityRecurring}}
	for _, p := range []*connectd.Plan{f.basic, f.plus} {
		must(t, pl.Plans().Create(f.ctx, e.Project, p))
	}
	f.gb5 = &connectd.Addon{Name: "5 GB extra", Status: connectd.PlanActive, Price: connectd.Price{Amount: 500, Currency: "USD"},
		Allowances: connectd.Allowances{DataBytes: &gb}, Plans: []string{f.basic.ID}}
	must(t, pl.Addons().Create(f.ctx, e.Project, f.gb5))
	used := &connectd.SIM{Type: connectd.SIMTypeESIM, ICCID: "8901000000000000001", Status: connectd.SIMAssigned}
	f.esim = &connectd.SIM{Type: connectd.SIMTypeESIM, ICCID: "8901000000000000002", Status: connectd.SIMAvailable}
	f.psim = &connectd.SIM{Type: connectd.SIMTypePSIM, ICCID: "8901000000000000003", Status: connectd.SIMAvailable}
	for _, s := range []*connectd.SIM{used, f.esim, f.psim} {
		must(t, pl.SIMs().Create(f.ctx, e.Project, s))
	}
	f.sub = f.newSubscription(f.user, f.basic.ID, &used.ID)
	return f
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// newSubscription creates an active recurring subscription.
func (f *subFixture) newSubscription(user, plan string, sim *string) *connectd.Subscription {
	f.t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	phone := "+15550100042"
	s := &connectd.Subscription{User: user, Plan: plan, SIM: sim, PhoneNumber: &phone, Status: connectd.SubscriptionActive,
		Recurring: true, CurrentPeriod: &connectd.Period{Start: now.Add(-24 * time.Hour), End: now.Add(29 * 24 * time.Hour)}}
	must(f.t, f.e.Service.Platform.Subscriptions().Create(f.ctx, f.e.Project, s))
	return s
}

// setSub changes the fixture subscription behind the portal's back.
func (f *subFixture) setSub(mutate func(*connectd.Subscription)) {
	f.t.Helper()
	_, err := connectd.UpdateResource(f.ctx, f.e.Service.Platform.Subscriptions(), f.e.Project, f.sub.ID, func(s *connectd.Subscription) error {
		mutate(s)
		return nil
	})
	must(f.t, err)
}

func (f *subFixture) getSub(id string) *connectd.Subscription {
	f.t.Helper()
	s, err := f.e.Service.Platform.Subscriptions().Get(f.ctx, f.e.Project, id)
	must(f.t, err)
	return s
}

// payments lists a user's payments.
func (f *subFixture) payments(user string) []*connectd.Payment {
	f.t.Helper()
	page, err := f.e.Service.Platform.Payments().List(f.ctx, f.e.Project, connectd.PlatformFilter{UserID: user,
		ListParams: connectd.ListParams{Limit: connectd.MaxListLimit}})
	must(f.t, err)
	return page.Items
}

func (f *subFixture) subscriptionsOf(user string) []*connectd.Subscription {
	f.t.Helper()
	page, err := f.e.Service.Platform.Subscriptions().List(f.ctx, f.e.Project, connectd.PlatformFilter{UserID: user,
		ListParams: connectd.ListParams{Limit: connectd.MaxListLimit}})
	must(f.t, err)
	return page.Items
}

// saveCard gives user a saved default card.
func (f *subFixture) saveCard(user string) *connectd.PaymentMethod {
	f.t.Helper()
	pm := &connectd.PaymentMethod{User: user, Type: "card", Card: connectd.Card{Brand: "visa", Last4: "4242", ExpMonth: 12, ExpYear: 2040}, Default: true}
	must(f.t, f.e.Service.Platform.PaymentMethods().Create(f.ctx, f.e.Project, pm))
	return pm
}

// open creates a session of intent (type and payload) for the user and
// enters it in a new browser, which lands on page.
func (f *subFixture) open(intentType string, payload map[string]any, page string) (*apitest.Browser, string) {
	f.t.Helper()
	intent := map[string]any{"type": intentType}
	if payload != nil {
		intent[intentType] = payload
	}
	id, u := f.e.CreateSession(map[string]any{"callbackUrl": subCallback, "intent": intent, "user": f.user})
	b := f.e.NewBrowser()
	r := b.Enter(u)
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != page {
		f.t.Fatalf("enter: %d to %q, want 303 to %s\n%s", r.Status, r.Header.Get("Location"), page, r.Body)
	}
	return b, id
}

// sessionStatus is the session's status as the API reports it.
func (f *subFixture) sessionStatus(id string) string {
	f.t.Helper()
	r := f.e.Get("/connectSessions/" + id)
	if r.Status != http.StatusOK {
		f.t.Fatalf("get session: %d %s", r.Status, r.Body)
	}
	return r.JSON(f.t)["status"].(string)
}

// linkedBack checks a 303 to the callbackUrl with session_id and status
// appended (its own query kept), and the session's API status.
func (f *subFixture) linkedBack(r *apitest.Response, id, status, apiStatus string) {
	f.t.Helper()
	if r.Status != http.StatusSeeOther {
		f.t.Fatalf("link back: %d, want 303\n%s", r.Status, r.Body)
	}
	loc, err := url.Parse(r.Header.Get("Location"))
	must(f.t, err)
	q := loc.Query()
	if loc.Scheme != "https" || loc.Host != "app.example.com" || loc.Path != "/connect/done" ||
		q.Get("from") != "portal" || q.Get("session_id") != id || q.Get("status") != status {
		f.t.Fatalf("link back to %s, want %s with session_id=%s status=%s", loc, subCallback, id, status)
	}
	if got := f.sessionStatus(id); got != apiStatus {
		f.t.Fatalf("session status %q, want %q", got, apiStatus)
	}
}

// succeeded checks that an action's answer goes to the done page, whose
// Continue links back with success, and that the session completed.
func (f *subFixture) succeeded(b *apitest.Browser, r *apitest.Response, id string) {
	f.t.Helper()
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/portal/done" {
		f.t.Fatalf("action: %d to %q, want 303 to /portal/done\n%s", r.Status, r.Header.Get("Location"), r.Body)
	}
	done := b.Follow(r)
	hasAll(f.t, done, http.StatusOK, `data-testid="continue"`)
	f.linkedBack(b.Post("/portal/continue", nil), id, "success", "completed")
}

// hasAll checks a page's status and that its body holds every want.
func hasAll(t *testing.T, r *apitest.Response, status int, want ...string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d\n%s", r.Status, status, r.Body)
	}
	for _, w := range want {
		if !strings.Contains(string(r.Body), w) {
			t.Fatalf("page lacks %q\n%s", w, r.Body)
		}
	}
}

// hasNone checks that a page's body holds none of unwanted.
func hasNone(t *testing.T, r *apitest.Response, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(string(r.Body), w) {
			t.Fatalf("page has %q\n%s", w, r.Body)
		}
	}
}

// labelled checks that every visible input of a page has a <label for>.
func labelled(t *testing.T, r *apitest.Response) {
	t.Helper()
	body := string(r.Body)
	for _, chunk := range strings.Split(body, "<input")[1:] {
		tag := chunk[:strings.IndexByte(chunk, '>')]
		if strings.Contains(tag, `type="hidden"`) {
			continue
		}
		i := strings.Index(tag, `id="`)
		if i < 0 {
			t.Fatalf("input without id: <input%s>", tag)
		}
		id := tag[i+4:]
		id = id[:strings.IndexByte(id, '"')]
		if !strings.Contains(body, `for="`+id+`"`) {
			t.Fatalf("input %s has no <label for>", id)
		}
	}
}

// goodCard is a form paying with a new card; number picks the outcome.
func goodCard(number string) url.Values {
	return url.Values{"pay_method": {"new"}, "card_number": {number}, "card_exp_month": {"12"}, "card_exp_year": {"2040"}, "card_cvc": {"123"}}
}

func with(v url.Values, kv ...string) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out.Set(kv[i], kv[i+1])
	}
	return out
}

const (
	cardOK      = "4242424242424242"
	cardDecline = "4000000000000002"
	cardConfirm = "4000002500003155"
)

// pendingPaymentID reads the confirm step's hidden payment ID.
func pendingPaymentID(t *testing.T, r *apitest.Response) string {
	t.Helper()
	body := string(r.Body)
	const marker = `name="confirm_payment" value="`
	i := strings.Index(body, marker)
	if i < 0 {
		t.Fatalf("no confirm step\n%s", body)
	}
	rest := body[i+len(marker):]
	return rest[:strings.IndexByte(rest, '"')]
}
