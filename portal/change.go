package portal

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/connectd/connectd"
)

// The "Add data" page (changeSubscription): the other active plans and the
// add-ons available for the subscription's plan, one choice, then payment.

// changeOption is one thing the page offers. Key is what the form sends
// back ("plan:ID" or "addon:ID"); it is only ever looked up in the list
// the server computed for the page.
type changeOption struct {
	Key    string
	Name   string
	Detail string
	Price  connectd.Price
	plan   *connectd.Plan
	addon  *connectd.Addon
}

type changeView struct {
	purchaseView
	Card   *subscriptionCard
	Plans  []changeOption
	Addons []changeOption
	// Unavailable explains why nothing can be bought for the session's
	// subscription.
	Unavailable string
}

func (v *changeView) option(key string) *changeOption {
	for _, list := range [][]changeOption{v.Plans, v.Addons} {
		for i := range list {
			if list[i].Key == key {
				return &list[i]
			}
		}
	}
	return nil
}

// changeModel computes what the page offers for the session's subscription.
func (p *Portal) changeModel(ctx context.Context, st *state) (*changeView, error) {
	v := &changeView{}
	s, err := p.userSubscription(ctx, st, st.session.Intent.Subscription)
	if err != nil {
		return nil, err
	}
	if s == nil {
		v.Unavailable = "This subscription can't be found on your account any more. You can close this page and go back to the app."
		return v, nil
	}
	if v.Card, err = p.cardFor(ctx, st, s, nil); err != nil {
		return nil, err
	}
	if s.Status != connectd.SubscriptionActive {
		v.Unavailable = "This subscription isn't active, so its plan can't be changed and no add-ons can be bought for it."
		return v, nil
	}
	if s.EndedAt == nil {
		// A canceled subscription keeps its plan until it ends.
		plans, err := collectAll(ctx, p.plans(), st.project.ID, connectd.PlatformFilter{Status: connectd.PlanActive})
		if err != nil {
			return nil, err
		}
		for _, pl := range plans {
			if pl.ID == s.Plan || pl.Status != connectd.PlanActive {
				continue
			}
			v.Plans = append(v.Plans, changeOption{Key: "plan:" + pl.ID, Name: pl.Name, Detail: allowanceText(pl.Allowances), Price: pl.Price, plan: pl})
		}
	}
	addons, err := collectAll(ctx, p.addons(), st.project.ID, connectd.PlatformFilter{Status: connectd.PlanActive})
	if err != nil {
		return nil, err
	}
	for _, ad := range addons {
		if ad.Status != connectd.PlanActive || !slices.Contains(ad.Plans, s.Plan) {
			continue
		}
		v.Addons = append(v.Addons, changeOption{Key: "addon:" + ad.ID, Name: ad.Name, Detail: allowanceText(ad.Allowances), Price: ad.Price, addon: ad})
	}
	if len(v.Plans) == 0 && len(v.Addons) == 0 {
		v.Unavailable = "There are no other plans or add-ons for this subscription right now. You can close this page and go back to the app."
		return v, nil
	}
	if v.Pay.Saved, err = p.savedMethods(ctx, st); err != nil {
		return nil, err
	}
	return v, nil
}

var changePurchase = purchasePage[*changeView]{page: "change", title: "Add data",
	model: (*Portal).changeModel, unavailable: func(v *changeView) string { return v.Unavailable }}

func (p *Portal) changePage(w http.ResponseWriter, r *http.Request, st *state) {
	changePurchase.show(p, w, r, st)
}

// changeSubscription buys the chosen plan change or add-on.
func (p *Portal) changeSubscription(w http.ResponseWriter, r *http.Request, st *state) {
	v, ok := changePurchase.posted(p, w, r, st)
	if !ok {
		return
	}
	ctx := r.Context()
	key := strings.TrimSpace(r.PostForm.Get("choice"))
	pay, values, errs := paymentFrom(r, v.Pay.Saved)
	values["choice"] = key
	opt := v.option(key)
	if opt == nil {
		errs["choice"] = "Choose a plan or an add-on."
	}
	show := func(status int, notice string, pending *pendingView) {
		v.Pending = pending
		pd := pageData{Title: "Add data", Data: v, Errors: errs, Values: values, Notice: notice}
		if pending != nil {
			pd.Title = "Confirm your payment"
			pd.Hidden = map[string]string{"choice": key}
		}
		p.render(w, r, status, "change", st, pd)
	}
	if len(errs) > 0 {
		show(http.StatusUnprocessableEntity, "", nil)
		return
	}
	var res *connectd.Purchase
	var err error
	if opt.plan != nil {
		res, err = p.svc.ChangePlan(ctx, st.actor(), st.session.Intent.Subscription, opt.plan.ID, pay)
	} else {
		res, err = p.svc.BuyAddons(ctx, st.actor(), st.session.Intent.Subscription, []string{opt.addon.ID}, pay)
	}
	p.settlePurchase(w, r, st, res, err, errs, pendingView{Action: "/portal/change", Back: "/portal/change"}, show, "choice")
}
