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
	subs, err := collectAll(ctx, p.subscriptions(), st.Project.ID, connectd.PlatformFilter{UserID: st.User.ID})
	if err != nil {
		p.fail(w, r, st.Session, err)
		return
	}
	var v subscriptionsView
	plans := map[string]*connectd.Plan{}
	for _, s := range subs {
		if s.User != st.User.ID {
			continue // the filter already says so; never show another user's
		}
		c, err := p.cardFor(ctx, st, s, plans)
		if err != nil {
			p.fail(w, r, st.Session, err)
			return
		}
		v.Cards = append(v.Cards, c)
	}
	p.render(w, r, http.StatusOK, "subscriptions", st, pageData{Title: "Your subscriptions", Data: v})
}
