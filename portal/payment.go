package portal

import (
	"context"
	"net/http"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/service"
)

// The payment confirmation page of confirmPayment: the session's payment
// (amount, description, date) and one Confirm button.

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
	pay, err := service.ResourcesOf[connectd.Payment](p.svc).Get(ctx, st.Project.ID, st.Session.Intent.Payment)
	if notFound(err) {
		return nil, nil
	}
	if err != nil || pay.User != st.User.ID {
		return nil, err
	}
	return pay, nil
}

var paymentPage = buttonView[paymentView]{page: "payment", model: (*Portal).paymentModel}

func (p *Portal) paymentModel(ctx context.Context, st *state) (paymentView, string, error) {
	pay, err := p.sessionPayment(ctx, st)
	if err != nil {
		return paymentView{}, "", err
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
	return v, title, nil
}

// confirmPayment confirms the session's payment: never one named by the
// form.
func (p *Portal) confirmPayment(w http.ResponseWriter, r *http.Request, st *state) {
	_, err := p.svc.ConfirmPayment(r.Context(), st.Actor(), st.Session.Intent.Payment)
	paymentPage.acted(p, w, r, st, err)
}
