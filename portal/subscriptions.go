package portal

import (
	"net/http"

	"github.com/connectd/connectd"
)

// The subscriptions overview (viewSubscriptions): the user's subscriptions
// and a Done button.

func init() {
	pageRoutes["GET /portal/subscriptions"] = (*Portal).subscriptionsPage
	pageRoutes["POST /portal/subscriptions/done"] = (*Portal).subscriptionsDone
}

type subscriptionsView struct {
	Cards []*subscriptionCard
}

func (p *Portal) subscriptionsPage(w http.ResponseWriter, r *http.Request, st *state) {
	if !p.signedIn(w, r, st) || !p.ofIntent(w, r, st, connectd.IntentViewSubscriptions) {
		return
	}
	ctx := r.Context()
	subs, err := collectAll(ctx, p.platform.Subscriptions(), st.project.ID, connectd.PlatformFilter{UserID: st.user.ID})
	if err != nil {
		p.fail(w, r, st.session, err)
		return
	}
	var v subscriptionsView
	plans := map[string]*connectd.Plan{}
	for _, s := range subs {
		if s.User != st.user.ID {
			continue // the filter already says so; never show another user's
		}
		c, err := p.cardFor(ctx, st, s, plans)
		if err != nil {
			p.fail(w, r, st.session, err)
			return
		}
		v.Cards = append(v.Cards, c)
	}
	p.render(w, r, http.StatusOK, "subscriptions", st, pageData{Title: "Your subscriptions", Data: v})
}

// subscriptionsDone is the Done button: the session completes and links
// back with success.
func (p *Portal) subscriptionsDone(w http.ResponseWriter, r *http.Request, st *state) {
	if !p.signedIn(w, r, st) || !p.ofIntent(w, r, st, connectd.IntentViewSubscriptions) {
		return
	}
	p.finish(w, r, st.session, StatusSuccess)
}
