package portal

import (
	"context"
	"errors"
	"net/http"

	"github.com/connectd/connectd"
)

// The payment confirmation page of confirmPayment: the session's payment
// (amount, description, date) and one Confirm button.

func init() {
	pageRoutes["GET /portal/payment"] = (*Portal).paymentPage
	pageRoutes["POST /portal/payment/confirm"] = (*Portal).confirmPayment
}

type paymentView struct {
	Payment *connectd.Payment // nil when it can't be found on the account
	Amount  connectd.Price
	// CanConfirm says whether the payment still needs confirming; Why says
	// in plain words why not.
	CanConfirm bool
	Why        string
}

// sessionPayment returns the session's payment when it is the signed-in
// user's, else nil.
func (p *Portal) sessionPayment(ctx context.Context, st *state) (*connectd.Payment, error) {
	pay, err := p.platform.Payments().Get(ctx, st.project.ID, st.session.Intent.Payment)
	if errors.Is(err, connectd.ErrNotFound) {
		return nil, nil
	}
	if err != nil || pay.User != st.user.ID {
		return nil, err
	}
	return pay, nil
}

func (p *Portal) showPayment(w http.ResponseWriter, r *http.Request, st *state, status int, notice string) {
	pay, err := p.sessionPayment(r.Context(), st)
	if err != nil {
		p.fail(w, r, st.session, err)
		return
	}
	v := paymentView{Payment: pay}
	switch {
	case pay == nil:
		v.Why = "This payment can't be found on your account. There is nothing to confirm. You can close this page and go back to the app."
	case pay.Status == connectd.PaymentRequiresConfirmation:
		v.CanConfirm = true
	case pay.Status == connectd.PaymentSucceeded:
		v.Why = "This payment has already been confirmed and went through. There is nothing more to do."
	case pay.Status == connectd.PaymentProcessing:
		v.Why = "This payment is already being processed. There is nothing more to do."
	case pay.Status == connectd.PaymentFailed:
		v.Why = "This payment failed and can't be confirmed any more. Nothing was charged. Go back to the app to try again."
	case pay.Status == connectd.PaymentCanceled:
		v.Why = "This payment was canceled and can't be confirmed any more. Nothing was charged."
	default:
		v.Why = "This payment doesn't need confirming."
	}
	if pay != nil {
		v.Amount = connectd.Price{Amount: pay.Amount, Currency: pay.Currency}
	}
	title := "Confirm your payment"
	if !v.CanConfirm {
		title = "Your payment"
	}
	p.render(w, r, status, "payment", st, pageData{Title: title, Notice: notice, Data: v})
}

func (p *Portal) paymentPage(w http.ResponseWriter, r *http.Request, st *state) {
	if !p.accountPage(w, r, st, connectd.IntentConfirmPayment) {
		return
	}
	p.showPayment(w, r, st, http.StatusOK, "")
}

// confirmPayment confirms the session's payment: never one named by the
// form.
func (p *Portal) confirmPayment(w http.ResponseWriter, r *http.Request, st *state) {
	if !p.accountPage(w, r, st, connectd.IntentConfirmPayment) {
		return
	}
	_, err := p.platform.Actions().ConfirmPayment(r.Context(), st.project.ID, st.user.ID, st.session.Intent.Payment, p.now())
	switch {
	case err == nil:
		p.succeed(w, r, st)
	case isRefusal(err):
		// Changed meanwhile (say, confirmed in another tab): the page explains.
		p.showPayment(w, r, st, http.StatusConflict, connectd.AsError(err).Message)
	default:
		p.fail(w, r, st.session, err)
	}
}
