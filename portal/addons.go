package portal

import (
	"context"
	"net/http"
	"slices"

	"github.com/connectd/connectd"
)

// The add-on checkout (checkoutAddon): the session's add-ons in the cart,
// their total, and payment. The cart comes from the session, never from
// the form.

type addonsView struct {
	purchaseView
	Items []*connectd.Addon
	Total connectd.Price
}

func (p *Portal) addonsModel(ctx context.Context, st *state) (*addonsView, error) {
	v := &addonsView{}
	s, err := p.purchasable(ctx, st, &v.purchaseView, "This subscription isn't active, so no add-ons can be bought for it.")
	if err != nil || s == nil {
		return v, err
	}
	for _, id := range st.Session.Intent.Addons {
		ad, err := getOptional(ctx, p.addons(), st.Project.ID, id)
		if err != nil {
			return nil, err
		}
		if ad == nil || ad.Status != connectd.PlanActive || !slices.Contains(ad.Plans, s.Plan) {
			name := "One of the add-ons"
			if ad != nil {
				name = ad.Name
			}
			v.Unavailable = name + " is no longer available for this subscription, so nothing can be bought here. You can close this page and go back to the app."
			return v, nil
		}
		if v.Total.Currency == "" {
			v.Total.Currency = ad.Price.Currency
		}
		if ad.Price.Currency != v.Total.Currency {
			v.Unavailable = "These add-ons are priced in different currencies and can't be bought together."
			return v, nil
		}
		v.Total.Amount += ad.Price.Amount
		v.Items = append(v.Items, ad)
	}
	if len(v.Items) == 0 {
		v.Unavailable = "There is nothing in the cart. You can close this page and go back to the app."
	}
	return v, nil
}

// addonsPurchase pays for the session's add-ons and adds them to its
// subscription.
var addonsPurchase = purchasePage[*addonsView]{page: "addons", title: "Checkout", model: (*Portal).addonsModel,
	buy: func(p *Portal, r *http.Request, st *state, f *purchaseForm[*addonsView]) (*connectd.Purchase, error) {
		return p.svc.BuyAddons(r.Context(), st.Actor(), st.Session.Intent.Subscription, st.Session.Intent.Addons, f.pay)
	}}
