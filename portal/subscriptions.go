package portal

import (
	"net/http"

	"github.com/connectd/connectd"
)

// The subscriptions overview (viewSubscriptions): the user's subscriptions
// and a Done button.

type subscriptionsView struct {
	Cards []*subscriptionCard
}

func (p *Portal) subscriptionsPage(w http.ResponseWriter, r *http.Request, st *state) {
	ctx := r.Context()
	subs, err := collectAll(ctx, p.subscriptions(), st.project.ID, connectd.PlatformFilter{UserID: st.user.ID})
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
