package portal_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/apitest"
)

// Fixtures of the subscription pages' tests: a project with a user, two
// active plans, an add-on for the first, SIMs, and an active recurring
// subscription of the user on the first plan.

const subCallback = "https://app.example.com/connect/done?from=portal"

type subFixture struct {
	fixture
	basic, plus *connectd.Plan
	gb5         *connectd.Addon
	// sub is the user's subscription on basic, with a SIM.
	sub        *connectd.Subscription
	esim, psim *connectd.SIM // available
}

func newSubFixture(t *testing.T, settings *connectd.ProjectSettings) *subFixture {
	t.Helper()
	f := &subFixture{fixture: newFixture(t, settings, subCallback)}
	e := f.e
	pl := e.Service.Platform
	gb := int64(5_000_000_000)
	f.basic = f.recurringPlan("Basic", 1000, connectd.Allowances{DataBytes: &gb})
	f.plus = f.recurringPlan("Plus", 2500, connectd.Allowances{})
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

// newSubscription creates an active recurring subscription.
func (f *subFixture) newSubscription(user, plan string, sim *string) *connectd.Subscription {
	return f.activeSubscription(user, plan, sim)
}

// setSub changes the fixture subscription behind the portal's back.
func (f *subFixture) setSub(mutate func(*connectd.Subscription)) {
	f.t.Helper()
	update(&f.fixture, f.e.Service.Platform.Subscriptions(), f.sub.ID, mutate)
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
	return listOf(&f.fixture, f.e.Service.Platform.Payments(), user)
}

func (f *subFixture) subscriptionsOf(user string) []*connectd.Subscription {
	f.t.Helper()
	return listOf(&f.fixture, f.e.Service.Platform.Subscriptions(), user)
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
	b, id, _ := f.enter(intentType, payload, page)
	return b, id
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
		i := strings.Index(tag, ` id="`)
		if i < 0 {
			t.Fatalf("input without id: <input%s>", tag)
		}
		id := tag[i+5:]
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
