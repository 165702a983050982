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
	Plans  []changeOption
	Addons []changeOption
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
	s, err := p.purchasable(ctx, st, &v.purchaseView, "This subscription isn't active, so its plan can't be changed and no add-ons can be bought for it.")
	if err != nil || s == nil {
		return v, err
	}
	if s.EndedAt == nil {
		// A canceled subscription keeps its plan until it ends.
		plans, err := collectAll(ctx, p.plans(), st.Project.ID, connectd.PlatformFilter{Status: connectd.PlanActive})
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
	addons, err := collectAll(ctx, p.addons(), st.Project.ID, connectd.PlatformFilter{Status: connectd.PlanActive})
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
	}
	return v, nil
}

// changePurchase buys the chosen plan change or add-on.
var changePurchase = purchasePage[*changeView]{page: "change", title: "Add data", model: (*Portal).changeModel,
	read: func(f *purchaseForm[*changeView], r *http.Request) {
		key := strings.TrimSpace(r.PostForm.Get("choice"))
		f.values["choice"] = key
		f.hidden = map[string]string{"choice": key}
		if f.v.option(key) == nil {
			f.errs["choice"] = "Choose a plan or an add-on."
		}
	},
	fields: []string{"choice"},
	buy: func(p *Portal, r *http.Request, st *state, f *purchaseForm[*changeView]) (*connectd.Purchase, error) {
		opt := f.v.option(f.values["choice"])
		if opt.plan != nil {
			return p.svc.ChangePlan(r.Context(), st.Actor(), st.Session.Intent.Subscription, opt.plan.ID, f.pay)
		}
		return p.svc.BuyAddons(r.Context(), st.Actor(), st.Session.Intent.Subscription, []string{opt.addon.ID}, f.pay)
	}}
