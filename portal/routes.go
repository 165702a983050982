package portal

import (
	"context"
	"net/http"
	"slices"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/httperr"
)

// route is one page of an active session and the guard it runs behind.
type route struct {
	pattern string
	handle  handler
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

// routes are every page of an active session, in one place.
var routes = slices.Concat(
	[]route{
		{pattern: "GET /portal/login", handle: (*Portal).loginPage},
		{pattern: "POST /portal/login", handle: (*Portal).sendCode, limited: true},
		{pattern: "POST /portal/login/code", handle: (*Portal).verifyCode, limited: true},
	},
	// The purchase pages.
	formPage("/portal/change", changePurchase.show, changePurchase.post, connectd.IntentChangeSubscription),
	formPage("/portal/addons", addonsPurchase.show, addonsPurchase.post, connectd.IntentCheckoutAddon),
	formPage("/portal/checkout", (*Portal).checkoutPage, (*Portal).checkout, connectd.IntentCheckoutNewSubscription),
	// The pages whose button is the action.
	[]route{
		{pattern: "GET /portal/subscription", handle: subscriptionPage.get, intents: subscriptionIntents},
		{pattern: "POST /portal/subscription/cancel", handle: (*Portal).cancelSubscription, intents: of(connectd.IntentCancelSubscription)},
		{pattern: "POST /portal/subscription/resume", handle: (*Portal).resumeSubscription, intents: of(connectd.IntentResumeSubscription)},
		{pattern: "POST /portal/subscription/done", handle: (*Portal).done, intents: of(connectd.IntentViewSubscription)},
	},
	buttonPage("/portal/subscriptions", "/done", (*Portal).subscriptionsPage, (*Portal).done, connectd.IntentViewSubscriptions),
	buttonPage("/portal/payment", "/confirm", paymentPage.get, (*Portal).confirmPayment, connectd.IntentConfirmPayment),
	buttonPage("/portal/esim", "/done", (*Portal).esimPage, (*Portal).done, connectd.IntentViewEsimInstallation),
	// The account pages.
	formPage("/portal/payment-methods", (*Portal).paymentMethodsPage, (*Portal).addPaymentMethod, connectd.IntentUpdatePaymentMethod),
	formPage("/portal/address", addressProfile.show, addressProfile.save, connectd.IntentUpdateUserAddress),
	formPage("/portal/name", nameProfile.show, nameProfile.save, connectd.IntentUpdateUserFullName),
	formPage("/portal/porting", (*Portal).portingPage, (*Portal).submitPorting, connectd.IntentCompletePorting),
)

// handler is a page's handler.
type handler = func(p *Portal, w http.ResponseWriter, r *http.Request, st *state)

// formPage is a page of intent whose GET shows a form and whose POST to the
// same path submits it.
func formPage(path string, show, submit handler, intent connectd.IntentType) []route {
	intents := of(intent)
	return []route{{pattern: "GET " + path, handle: show, intents: intents},
		{pattern: "POST " + path, handle: submit, intents: intents, form: true}}
}

// buttonPage is a page of intent whose one button POSTs, with no form, to
// path+button.
func buttonPage(path, button string, show, act handler, intent connectd.IntentType) []route {
	intents := of(intent)
	return []route{{pattern: "GET " + path, handle: show, intents: intents},
		{pattern: "POST " + path + button, handle: act, intents: intents}}
}

// The intents of the subscription details page, whose buttons each serve
// one of them.
var subscriptionIntents = []connectd.IntentType{connectd.IntentCancelSubscription, connectd.IntentResumeSubscription, connectd.IntentViewSubscription}

func of(t connectd.IntentType) []connectd.IntentType { return []connectd.IntentType{t} }

// guarded returns the route's handler behind its guard: the page runs only
// for the session's own user and intent, with its form read.
func (rt route) guarded(p *Portal) stateHandler {
	return func(w http.ResponseWriter, r *http.Request, st *state) {
		switch {
		case rt.intents == nil && st.User != nil:
			// Hosted login is done: on to the intent's page.
			redirect(w, r, destination(st.Session.Intent.Type))
			return
		case rt.intents == nil:
		case st.User == nil:
			redirect(w, r, "/portal/login")
			return
		case !slices.Contains(rt.intents, st.Session.Intent.Type):
			redirect(w, r, destination(st.Session.Intent.Type))
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
		p.fail(w, r, st.Session, err)
		return
	}
	show(httperr.Of(e.Type).Page, e)
}

// buttonView is a page whose button is the action, shown as it is now
// (after a refused action too): its template, and its model and title.
type buttonView[V any] struct {
	page  string
	model func(p *Portal, ctx context.Context, st *state) (v V, title string, err error)
}

// show renders the page with status and a notice for the whole page.
func (bv buttonView[V]) show(p *Portal, w http.ResponseWriter, r *http.Request, st *state, status int, notice string) {
	v, title, err := bv.model(p, r.Context(), st)
	if err != nil {
		p.fail(w, r, st.Session, err)
		return
	}
	p.render(w, r, status, bv.page, st, pageData{Title: title, Notice: notice, Data: v})
}

// get serves the GET.
func (bv buttonView[V]) get(p *Portal, w http.ResponseWriter, r *http.Request, st *state) {
	bv.show(p, w, r, st, http.StatusOK, "")
}

// acted answers the button's action: a refusal (the state changed
// meanwhile, say in another tab) shows the page as it is now, which
// explains.
func (bv buttonView[V]) acted(p *Portal, w http.ResponseWriter, r *http.Request, st *state, err error) {
	p.settle(w, r, st, err, func(status int, e *connectd.Error) { bv.show(p, w, r, st, status, e.Message) })
}

// done is the Done button of the pages where looking was the intended
// action: the session completes and links back with success.
func (p *Portal) done(w http.ResponseWriter, r *http.Request, st *state) {
	p.finish(w, r, st.Session, StatusSuccess)
}
