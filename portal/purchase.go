package portal

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/service"
)

// Helpers shared by the subscription pages (subscription.go,
// subscriptions.go, change.go, addons.go, checkout.go): platform reads
// through the service, the subscription card, and the outcome of a paid
// action.

// lister is the service's list of one kind of platform resource
// (service.ResourcesOf).
type lister[T any] interface {
	List(ctx context.Context, projectID string, f connectd.PlatformFilter) (connectd.Page[*T], error)
}

// getter is the service's get of one kind of platform resource.
type getter[T any] interface {
	Get(ctx context.Context, projectID, id string) (*T, error)
}

// collectAll lists every resource that f selects, across pages.
func collectAll[T any, P interface {
	*T
	connectd.Resource
}](ctx context.Context, rs lister[T], projectID string, f connectd.PlatformFilter) ([]*T, error) {
	var out []*T
	f.Limit = connectd.MaxListLimit
	f.Before = ""
	for {
		page, err := rs.List(ctx, projectID, f)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		if !page.MoreAfter || len(page.Items) == 0 {
			return out, nil
		}
		f.After = P(page.Items[len(page.Items)-1]).ResourceID()
	}
}

// getOptional returns the resource, or nil when it does not exist.
func getOptional[T any](ctx context.Context, rs getter[T], projectID, id string) (*T, error) {
	if id == "" {
		return nil, nil
	}
	v, err := rs.Get(ctx, projectID, id)
	if notFound(err) {
		return nil, nil
	}
	return v, err
}

// notFound reports whether err says a resource does not exist: the
// service's not-found answer or the platform's sentinel.
func notFound(err error) bool {
	var e *connectd.Error
	return errors.Is(err, connectd.ErrNotFound) || errors.As(err, &e) && e.Type == connectd.TypeNotFound
}

// Platform reads of the pages, through the service.
func (p *Portal) plans() service.Resources[connectd.Plan] {
	return service.ResourcesOf[connectd.Plan](p.svc)
}
func (p *Portal) addons() service.Resources[connectd.Addon] {
	return service.ResourcesOf[connectd.Addon](p.svc)
}
func (p *Portal) sims() service.Resources[connectd.SIM] {
	return service.ResourcesOf[connectd.SIM](p.svc)
}
func (p *Portal) subscriptions() service.Resources[connectd.Subscription] {
	return service.ResourcesOf[connectd.Subscription](p.svc)
}

// subscriptionCard is what a page shows of a subscription.
type subscriptionCard struct {
	Sub  *connectd.Subscription
	Plan *connectd.Plan // nil when the plan no longer exists
	// SIMType is "eSIM", "Physical SIM" or "" when it has no SIM.
	SIMType string
	Status  string
	// Ended is true when EndedAt is in the past ("Ended on" rather than
	// "Ends on").
	Ended bool
}

// userSubscription returns the signed-in user's subscription id, or nil
// when it does not exist or is someone else's: pages then explain, in
// plain words, that there is nothing to show.
func (p *Portal) userSubscription(ctx context.Context, st *state, id string) (*connectd.Subscription, error) {
	s, err := getOptional(ctx, p.subscriptions(), st.Project.ID, id)
	if err != nil || s == nil || st.User == nil || s.User != st.User.ID {
		return nil, err
	}
	return s, nil
}

// cardFor builds the card of s; plans caches plans by ID across cards.
func (p *Portal) cardFor(ctx context.Context, st *state, s *connectd.Subscription, plans map[string]*connectd.Plan) (*subscriptionCard, error) {
	c := &subscriptionCard{Sub: s, Status: subscriptionStatusText(s.Status)}
	plan, ok := plans[s.Plan]
	if !ok {
		var err error
		if plan, err = getOptional(ctx, p.plans(), st.Project.ID, s.Plan); err != nil {
			return nil, err
		}
		if plans != nil {
			plans[s.Plan] = plan
		}
	}
	c.Plan = plan
	if s.SIM != nil {
		sim, err := getOptional(ctx, p.sims(), st.Project.ID, *s.SIM)
		if err != nil {
			return nil, err
		}
		if sim != nil {
			c.SIMType = simTypeText(sim.Type)
		}
	}
	c.Ended = s.EndedAt != nil && !s.EndedAt.After(p.now())
	return c, nil
}

func subscriptionStatusText(s string) string {
	switch s {
	case connectd.SubscriptionActive:
		return "Active"
	case connectd.SubscriptionPending, connectd.SubscriptionInitiated:
		return "Being set up"
	case connectd.SubscriptionEnded:
		return "Ended"
	}
	return s
}

func simTypeText(t string) string {
	if t == connectd.SIMTypePSIM {
		return "Physical SIM"
	}
	return t
}

// allowanceText sums up what a plan or add-on includes: "5 GB data, 100
// minutes, 100 texts".
func allowanceText(a connectd.Allowances) string {
	var parts []string
	if a.DataBytes != nil {
		b := *a.DataBytes
		switch {
		case b >= 1_000_000_000:
			parts = append(parts, fmt.Sprintf("%s GB data", trimZero(float64(b)/1e9)))
		default:
			parts = append(parts, fmt.Sprintf("%s MB data", trimZero(float64(b)/1e6)))
		}
	}
	if a.VoiceSeconds != nil {
		parts = append(parts, fmt.Sprintf("%d minutes", *a.VoiceSeconds/60))
	}
	if a.SMSMessages != nil {
		parts = append(parts, fmt.Sprintf("%d texts", *a.SMSMessages))
	}
	return strings.Join(parts, ", ")
}

func trimZero(f float64) string {
	s := fmt.Sprintf("%.1f", f)
	return strings.TrimSuffix(s, ".0")
}

// pendingView is the confirm step of a purchase whose card asked for
// confirmation: one button that confirms the pending payment and completes
// the same purchase.
type pendingView struct {
	PaymentID string
	Amount    connectd.Price
	// Action is the form's target, Back the page to pay another way.
	Action, Back string
}

// purchaseView is the part of a paid page's model that the payform and
// purchase-confirm partials read.
type purchaseView struct {
	// Card is the subscription the purchase is for (nil on checkout, which
	// makes one).
	Card    *subscriptionCard
	Pay     payView
	Pending *pendingView
	// Unavailable explains why nothing can be bought here.
	Unavailable string
}

// paymentFrom reads how the user pays: the confirmation of the payment an
// earlier attempt left pending (the confirm step's hidden field; the action
// checks it is the user's, pending and of the same amount), or the payform.
func paymentFrom(r *http.Request, saved []*connectd.PaymentMethod) (connectd.PaymentInput, map[string]string, map[string]string) {
	if id := r.PostForm.Get("confirm_payment"); id != "" {
		return connectd.PaymentInput{ConfirmPaymentID: id}, map[string]string{}, map[string]string{}
	}
	return readPayment(r, saved)
}

// payformFields are the fields the payform partial shows problems next to.
var payformFields = []string{"pay_method", "card.number", "card.expMonth", "card.expYear", "card.cvc"}

// declinedNotice is what a page says after a declined card.
const declinedNotice = "Your card was declined. Nothing was changed. Try again or use another card."

// refusalNotice puts a refusal's field problems into errs and returns the
// message for the whole form: the refusal's own message when it names no
// field, the messages of fields the page does not show, or a pointer to
// the fields it does.
func refusalNotice(e *connectd.Error, errs map[string]string, shown ...string) string {
	got := map[string]string{}
	if notice := fieldErrors(e, got); notice != "" {
		return notice
	}
	var other []string
	for _, d := range e.Details {
		if slices.Contains(shown, d.Field) || slices.Contains(payformFields, d.Field) {
			errs[d.Field] = got[d.Field]
		} else {
			other = append(other, d.Message)
		}
	}
	if len(other) > 0 {
		return strings.Join(other, " ")
	}
	return "Please check the highlighted fields."
}

// purchaseShow renders a paid page again: with a status, a notice for the
// whole form and, for a card that asked for confirmation, the confirm step.
type purchaseShow func(status int, notice string, pending *pendingView)

// settlePurchase answers the outcome of a paid action. Success completes
// the session's action (the done page with Continue); a declined card
// shows the page again with a notice (the failed payment exists, nothing
// else changed); a card that asks for confirmation shows the confirm step;
// a refusal shows the page again with its problems next to their fields;
// anything else ends the session with status=error.
func (p *Portal) settlePurchase(w http.ResponseWriter, r *http.Request, st *state, res *connectd.Purchase, err error,
	errs map[string]string, pending pendingView, show purchaseShow, shown ...string) {
	if err != nil {
		p.refused(w, r, st, err, func(status int, e *connectd.Error) { show(status, refusalNotice(e, errs, shown...), nil) })
		return
	}
	switch res.Payment.Status {
	case connectd.PaymentSucceeded:
		p.succeed(w, r, st)
	case connectd.PaymentFailed:
		show(http.StatusUnprocessableEntity, declinedNotice, nil)
	case connectd.PaymentRequiresConfirmation:
		pending.PaymentID = res.Payment.ID
		pending.Amount = connectd.Price{Amount: res.Payment.Amount, Currency: res.Payment.Currency}
		show(http.StatusOK, "", &pending)
	default:
		p.fail(w, r, st.Session, fmt.Errorf("payment %s is %s after a purchase", res.Payment.ID, res.Payment.Status))
	}
}

// purchasePage is what the add-ons and change pages have in common: their
// template and title, and their model, which says why there is nothing to
// buy.
type purchasePage[V purchaseModel] struct {
	page, title string
	model       func(p *Portal, ctx context.Context, st *state) (V, error)
	// read reads the page's own fields (besides the payform's) into the
	// form; nil when it has none. fields names them.
	read   func(f *purchaseForm[V], r *http.Request)
	fields []string
	// buy makes the purchase the form asks for.
	buy func(p *Portal, r *http.Request, st *state, f *purchaseForm[V]) (*connectd.Purchase, error)
}

// purchaseModel is the model of a purchase page: its purchaseView.
type purchaseModel interface{ purchase() *purchaseView }

func (v *purchaseView) purchase() *purchaseView { return v }

// load computes the page's model and, when there is something to buy, the
// user's saved cards.
func (pp purchasePage[V]) load(p *Portal, ctx context.Context, st *state) (V, error) {
	v, err := pp.model(p, ctx, st)
	if err != nil || v.purchase().Unavailable != "" {
		return v, err
	}
	pv := v.purchase()
	pv.Pay.Saved, err = p.savedMethods(ctx, st)
	return v, err
}

// show serves the page's GET: the model, rendered.
func (pp purchasePage[V]) show(p *Portal, w http.ResponseWriter, r *http.Request, st *state) {
	v, err := pp.load(p, r.Context(), st)
	if err != nil {
		p.fail(w, r, st.Session, err)
		return
	}
	p.render(w, r, http.StatusOK, pp.page, st, pageData{Title: pp.title, Data: v})
}

// purchaseForm is a purchase page's POST: the model, how the user pays,
// what they typed and the problems found before any charge.
type purchaseForm[V purchaseModel] struct {
	v            V
	pay          connectd.PaymentInput
	values, errs map[string]string
	// hidden carries the page's own answers to the confirm step.
	hidden map[string]string
}

// posted starts the page's POST: it returns the form when there is
// something to buy; otherwise it has answered (409 when unavailable).
func (pp purchasePage[V]) posted(p *Portal, w http.ResponseWriter, r *http.Request, st *state) (*purchaseForm[V], bool) {
	v, err := pp.load(p, r.Context(), st)
	if err != nil {
		p.fail(w, r, st.Session, err)
		return nil, false
	}
	if v.purchase().Unavailable != "" {
		p.render(w, r, http.StatusConflict, pp.page, st, pageData{Title: pp.title, Data: v})
		return nil, false
	}
	f := &purchaseForm[V]{v: v}
	f.pay, f.values, f.errs = paymentFrom(r, v.purchase().Pay.Saved)
	return f, true
}

// post serves the page's POST: the page again with the form's problems,
// or the outcome of the purchase (settlePurchase).
func (pp purchasePage[V]) post(p *Portal, w http.ResponseWriter, r *http.Request, st *state) {
	f, ok := pp.posted(p, w, r, st)
	if !ok {
		return
	}
	if pp.read != nil {
		pp.read(f, r)
	}
	show := func(status int, notice string, pending *pendingView) {
		f.v.purchase().Pending = pending
		pd := pageData{Title: pp.title, Data: f.v, Errors: f.errs, Values: f.values, Notice: notice}
		if pending != nil {
			pd.Title = "Confirm your payment"
			pd.Hidden = f.hidden
		}
		p.render(w, r, status, pp.page, st, pd)
	}
	if len(f.errs) > 0 {
		show(http.StatusUnprocessableEntity, "", nil)
		return
	}
	res, err := pp.buy(p, r, st, f)
	here := "/portal/" + pp.page
	p.settlePurchase(w, r, st, res, err, f.errs, pendingView{Action: here, Back: here}, show, pp.fields...)
}

// purchasable starts the model of a page that buys for the session's
// subscription: the subscription and its card, or nil and why nothing can
// be bought (inactive says it for a subscription that isn't active).
func (p *Portal) purchasable(ctx context.Context, st *state, pv *purchaseView, inactive string) (*connectd.Subscription, error) {
	s, err := p.userSubscription(ctx, st, st.Session.Intent.Subscription)
	if err != nil {
		return nil, err
	}
	if s == nil {
		pv.Unavailable = "This subscription can't be found on your account any more. You can close this page and go back to the app."
		return nil, nil
	}
	if pv.Card, err = p.cardFor(ctx, st, s, nil); err != nil {
		return nil, err
	}
	if s.Status != connectd.SubscriptionActive {
		pv.Unavailable = inactive
		return nil, nil
	}
	return s, nil
}
