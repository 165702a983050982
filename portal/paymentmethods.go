package portal

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/connectd/connectd"
)

// The payment methods page of updatePaymentMethod: the user's saved cards
// (the default one marked) and a form to add a card, which becomes the
// default. The full card number goes to the processor and nowhere else:
// only its brand, last 4 digits and expiry are kept.

type paymentMethodsView struct {
	Saved []*connectd.PaymentMethod
}

// cardFields are the processor's field names (package payments) mapped to
// the form's.
var cardFields = map[string]string{
	"card.number":   "card_number",
	"card.expMonth": "card_exp_month",
	"card.expYear":  "card_exp_year",
	"card.cvc":      "card_cvc",
}

func (p *Portal) showPaymentMethods(w http.ResponseWriter, r *http.Request, st *state, status int, data pageData) {
	saved, err := p.savedMethods(r.Context(), st)
	if err != nil {
		p.fail(w, r, st.Session, err)
		return
	}
	data.Title = "Payment methods"
	data.Data = paymentMethodsView{Saved: saved}
	p.render(w, r, status, "paymentmethods", st, data)
}

func (p *Portal) paymentMethodsPage(w http.ResponseWriter, r *http.Request, st *state) {
	p.showPaymentMethods(w, r, st, http.StatusOK, pageData{})
}

// addPaymentMethod verifies the typed card and saves it as the user's
// default. A declined or invalid card saves nothing.
func (p *Portal) addPaymentMethod(w http.ResponseWriter, r *http.Request, st *state) {
	f := r.PostForm
	// What the user typed comes back on a page with a problem, all but
	// the CVC, which is never echoed.
	values := map[string]string{
		"card_number":    strings.TrimSpace(f.Get("card_number")),
		"card_exp_month": strings.TrimSpace(f.Get("card_exp_month")),
		"card_exp_year":  strings.TrimSpace(f.Get("card_exp_year")),
	}
	month, _ := strconv.Atoi(values["card_exp_month"])
	year, _ := strconv.Atoi(values["card_exp_year"])
	card := connectd.CardInput{Number: values["card_number"], ExpMonth: month, ExpYear: year, CVC: strings.TrimSpace(f.Get("card_cvc"))}
	_, err := p.svc.AddPaymentMethod(r.Context(), st.Actor(), card)
	p.settle(w, r, st, err, func(status int, e *connectd.Error) {
		p.showPaymentMethods(w, r, st, status, cardRefusal(e, values))
	})
}

// cardRefusal is the page of a refused card: its problems next to their
// fields, what the user typed (never the CVC) and a notice.
func cardRefusal(e *connectd.Error, values map[string]string) pageData {
	errs := map[string]string{}
	notice := ""
	for _, d := range e.Details {
		if name, ok := cardFields[d.Field]; ok {
			errs[name] = d.Message
		} else {
			notice = e.Message
		}
	}
	switch {
	case e.Code == "cardDeclined":
		notice = "Your card was declined. Nothing was saved. Try another card."
	case len(e.Details) == 0:
		notice = e.Message
	case notice == "":
		notice = "Please check the highlighted fields."
	}
	return pageData{Values: values, Errors: errs, Notice: notice}
}
