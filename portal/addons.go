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
	Card  *subscriptionCard
	Items []*connectd.Addon
	Total connectd.Price
	// Unavailable explains why the cart can't be bought.
	Unavailable string
}

func (p *Portal) addonsModel(ctx context.Context, st *state) (*addonsView, error) {
	v := &addonsView{}
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
		v.Unavailable = "This subscription isn't active, so no add-ons can be bought for it."
		return v, nil
	}
	for _, id := range st.session.Intent.Addons {
		ad, err := getOptional(ctx, p.addons(), st.project.ID, id)
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
		return v, nil
	}
	if v.Pay.Saved, err = p.savedMethods(ctx, st); err != nil {
		return nil, err
	}
	return v, nil
}

var addonsPurchase = purchasePage[*addonsView]{page: "addons", title: "Checkout",
	model: (*Portal).addonsModel, unavailable: func(v *addonsView) string { return v.Unavailable }}

func (p *Portal) addonsPage(w http.ResponseWriter, r *http.Request, st *state) {
	addonsPurchase.show(p, w, r, st)
}

// buyAddons pays for the session's add-ons and adds them to its
// subscription.
func (p *Portal) buyAddons(w http.ResponseWriter, r *http.Request, st *state) {
	v, ok := addonsPurchase.posted(p, w, r, st)
	if !ok {
		return
	}
	ctx := r.Context()
	pay, values, errs := paymentFrom(r, v.Pay.Saved)
	show := func(status int, notice string, pending *pendingView) {
		v.Pending = pending
		pd := pageData{Title: "Checkout", Data: v, Errors: errs, Values: values, Notice: notice}
		if pending != nil {
			pd.Title = "Confirm your payment"
		}
		p.render(w, r, status, "addons", st, pd)
	}
	if len(errs) > 0 {
		show(http.StatusUnprocessableEntity, "", nil)
		return
	}
	res, err := p.svc.BuyAddons(ctx, st.actor(), st.session.Intent.Subscription, st.session.Intent.Addons, pay)
	p.settlePurchase(w, r, st, res, err, errs, pendingView{Action: "/portal/addons", Back: "/portal/addons"}, show)
}
