package portal

import (
	"net/http"
	"slices"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/httperr"
)

// route is one page of an active session and the guard it runs behind.
type route struct {
	pattern string
	handle  func(p *Portal, w http.ResponseWriter, r *http.Request, st *state)
	// intents are the session intents the page serves: a user must be
	// signed in (else the browser goes to hosted login) and the session
	// made for one of them (else the browser goes to its own intent's
	// page). A session only ever lets its user do what it was made for.
	// None: a hosted login page, which a signed-in browser skips.
	intents []connectd.IntentType
	// form: the POST carries a small form, read before the page runs.
	form bool
	// limited: the page sends or checks login codes and is limited per
	// client address.
	limited bool
}

// The intents of the subscription details page.
var subscriptionIntents = []connectd.IntentType{connectd.IntentCancelSubscription, connectd.IntentResumeSubscription, connectd.IntentViewSubscription}

// routes are every page of an active session, in one place.
var routes = []route{
	{pattern: "GET /portal/login", handle: (*Portal).loginPage},
	{pattern: "POST /portal/login", handle: (*Portal).sendCode, limited: true},
	{pattern: "POST /portal/login/code", handle: (*Portal).verifyCode, limited: true},

	{pattern: "GET /portal/subscription", handle: (*Portal).subscriptionPage, intents: subscriptionIntents},
	{pattern: "POST /portal/subscription/cancel", handle: (*Portal).cancelSubscription, intents: of(connectd.IntentCancelSubscription)},
	{pattern: "POST /portal/subscription/resume", handle: (*Portal).resumeSubscription, intents: of(connectd.IntentResumeSubscription)},
	{pattern: "POST /portal/subscription/done", handle: (*Portal).done, intents: of(connectd.IntentViewSubscription)},
	{pattern: "GET /portal/subscriptions", handle: (*Portal).subscriptionsPage, intents: of(connectd.IntentViewSubscriptions)},
	{pattern: "POST /portal/subscriptions/done", handle: (*Portal).done, intents: of(connectd.IntentViewSubscriptions)},
	{pattern: "GET /portal/change", handle: (*Portal).changePage, intents: of(connectd.IntentChangeSubscription)},
	{pattern: "POST /portal/change", handle: (*Portal).changeSubscription, intents: of(connectd.IntentChangeSubscription), form: true},
	{pattern: "GET /portal/addons", handle: (*Portal).addonsPage, intents: of(connectd.IntentCheckoutAddon)},
	{pattern: "POST /portal/addons", handle: (*Portal).buyAddons, intents: of(connectd.IntentCheckoutAddon), form: true},
	{pattern: "GET /portal/checkout", handle: (*Portal).checkoutPage, intents: of(connectd.IntentCheckoutNewSubscription)},
	{pattern: "POST /portal/checkout", handle: (*Portal).checkout, intents: of(connectd.IntentCheckoutNewSubscription), form: true},

	{pattern: "GET /portal/payment", handle: (*Portal).paymentPage, intents: of(connectd.IntentConfirmPayment)},
	{pattern: "POST /portal/payment/confirm", handle: (*Portal).confirmPayment, intents: of(connectd.IntentConfirmPayment)},
	{pattern: "GET /portal/payment-methods", handle: (*Portal).paymentMethodsPage, intents: of(connectd.IntentUpdatePaymentMethod)},
	{pattern: "POST /portal/payment-methods", handle: (*Portal).addPaymentMethod, intents: of(connectd.IntentUpdatePaymentMethod), form: true},
	{pattern: "GET /portal/address", handle: (*Portal).addressPage, intents: of(connectd.IntentUpdateUserAddress)},
	{pattern: "POST /portal/address", handle: (*Portal).saveAddress, intents: of(connectd.IntentUpdateUserAddress), form: true},
	{pattern: "GET /portal/name", handle: (*Portal).namePage, intents: of(connectd.IntentUpdateUserFullName)},
	{pattern: "POST /portal/name", handle: (*Portal).saveName, intents: of(connectd.IntentUpdateUserFullName), form: true},
	{pattern: "GET /portal/porting", handle: (*Portal).portingPage, intents: of(connectd.IntentCompletePorting)},
	{pattern: "POST /portal/porting", handle: (*Portal).submitPorting, intents: of(connectd.IntentCompletePorting), form: true},
	{pattern: "GET /portal/esim", handle: (*Portal).esimPage, intents: of(connectd.IntentViewEsimInstallation)},
	{pattern: "POST /portal/esim/done", handle: (*Portal).done, intents: of(connectd.IntentViewEsimInstallation)},
}

func of(t ...connectd.IntentType) []connectd.IntentType { return t }

// guarded returns the route's handler behind its guard: the page runs only
// for the session's own user and intent, with its form read.
func (rt route) guarded(p *Portal) stateHandler {
	return func(w http.ResponseWriter, r *http.Request, st *state) {
		switch {
		case rt.intents == nil && st.user != nil:
			// Hosted login is done: on to the intent's page.
			redirect(w, r, destination(st.session.Intent.Type))
			return
		case rt.intents == nil:
		case st.user == nil:
			redirect(w, r, "/portal/login")
			return
		case !slices.Contains(rt.intents, st.session.Intent.Type):
			redirect(w, r, destination(st.session.Intent.Type))
			return
		}
		if rt.form && !p.readPageForm(w, r, st) {
			return
		}
		rt.handle(p, w, r, st)
	}
}

// redirect sends the browser on to target with a 303, the portal's one
// kind of redirect: the next request is a GET.
func redirect(w http.ResponseWriter, r *http.Request, target string) {
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// readPageForm parses a page's small urlencoded form. On failure it answers
// 400 with a page and returns false.
func (p *Portal) readPageForm(w http.ResponseWriter, r *http.Request, st *state) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		p.renderMessage(w, r, http.StatusBadRequest, st, messageBadForm)
		return false
	}
	return true
}

// refusedPage shows a refused action's page again, with the status the
// error table gives a refused page and the refusal itself.
type refusedPage func(status int, e *connectd.Error)

// settle answers the outcome of a user's action, the portal's one HTML
// rendering of the error table: success completes the session's action
// (the done page with Continue); a refusal (httperr.Refusal) shows the
// page again; any other error is a fault, logged, and the session ends
// with status=error.
func (p *Portal) settle(w http.ResponseWriter, r *http.Request, st *state, err error, show refusedPage) {
	if err == nil {
		p.succeed(w, r, st)
		return
	}
	p.refused(w, r, st, err, show)
}

// refused is settle for an error: the refusal shown, or the fault.
func (p *Portal) refused(w http.ResponseWriter, r *http.Request, st *state, err error, show refusedPage) {
	e := httperr.Refusal(err)
	if e == nil {
		p.fail(w, r, st.session, err)
		return
	}
	show(httperr.Of(e.Type).Page, e)
}

// done is the Done button of the pages where looking was the intended
// action: the session completes and links back with success.
func (p *Portal) done(w http.ResponseWriter, r *http.Request, st *state) {
	p.finish(w, r, st.session, StatusSuccess)
}
