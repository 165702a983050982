package portal

import (
	"context"
	"net/http"

	"github.com/connectd/connectd"
)

// The subscription details page: cancelSubscription (Cancel button),
// resumeSubscription (Resume button) and viewSubscription (Done button).

type subscriptionView struct {
	Card *subscriptionCard // nil when the session's subscription is not there
	// Intent is the session's intent: cancelSubscription shows Cancel,
	// resumeSubscription Resume, viewSubscription Done.
	Intent connectd.IntentType
	// CanAct says whether the intended action is possible now; Why says in
	// plain words why not.
	CanAct bool
	Why    string
}

func (p *Portal) subscriptionView(ctx context.Context, st *state) (subscriptionView, error) {
	v := subscriptionView{Intent: st.Session.Intent.Type}
	s, err := p.userSubscription(ctx, st, st.Session.Intent.Subscription)
	if err != nil || s == nil {
		v.Why = "This subscription can't be found on your account any more. You can close this page and go back to the app."
		return v, err
	}
	if v.Card, err = p.cardFor(ctx, st, s, nil); err != nil {
		return v, err
	}
	switch v.Intent {
	case connectd.IntentCancelSubscription:
		v.CanAct = s.Cancelable()
		switch {
		case v.CanAct:
		case s.EndedAt != nil:
			v.Why = "This subscription is already canceled, so there is nothing to cancel."
		case s.Status == connectd.SubscriptionEnded:
			v.Why = "This subscription has ended, so there is nothing to cancel."
		default:
			v.Why = "This subscription doesn't renew, so there is nothing to cancel: it ends by itself when its period is over."
		}
	case connectd.IntentResumeSubscription:
		v.CanAct = s.Resumable()
		switch {
		case v.CanAct:
		case s.EndedAt == nil:
			v.Why = "This subscription isn't canceled, so there is nothing to resume: it keeps renewing."
		default:
			v.Why = "This subscription doesn't renew, so it can't be resumed."
		}
	case connectd.IntentViewSubscription:
		v.CanAct = true
	}
	return v, nil
}

var subscriptionPage = buttonView[subscriptionView]{page: "subscription", model: (*Portal).subscriptionModel}

func (p *Portal) subscriptionModel(ctx context.Context, st *state) (subscriptionView, string, error) {
	v, err := p.subscriptionView(ctx, st)
	title := "Your subscription"
	switch {
	case v.Intent == connectd.IntentCancelSubscription && v.CanAct:
		title = "Cancel your subscription"
	case v.Intent == connectd.IntentResumeSubscription && v.CanAct:
		title = "Resume your subscription"
	}
	return v, title, err
}

// cancelSubscription cancels the session's subscription: it runs until the
// end of the period it was paid for.
func (p *Portal) cancelSubscription(w http.ResponseWriter, r *http.Request, st *state) {
	_, err := p.svc.CancelSubscription(r.Context(), st.Actor(), st.Session.Intent.Subscription)
	subscriptionPage.acted(p, w, r, st, err)
}

// resumeSubscription resumes the session's canceled subscription.
func (p *Portal) resumeSubscription(w http.ResponseWriter, r *http.Request, st *state) {
	_, err := p.svc.ResumeSubscription(r.Context(), st.Actor(), st.Session.Intent.Subscription)
	subscriptionPage.acted(p, w, r, st, err)
}
