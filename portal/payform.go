package portal

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/service"
)

// payView is what the payform partial shows: the user's saved cards.
type payView struct {
	Saved []*connectd.PaymentMethod
}

// savedMethods lists the signed-in user's payment methods, default first.
func (p *Portal) savedMethods(ctx context.Context, st *state) ([]*connectd.PaymentMethod, error) {
	page, err := service.ResourcesOf[connectd.PaymentMethod](p.svc).List(ctx, st.Project.ID, connectd.PlatformFilter{UserID: st.User.ID,
		ListParams: connectd.ListParams{Limit: connectd.MaxListLimit}})
	if err != nil {
		return nil, err
	}
	out := make([]*connectd.PaymentMethod, 0, len(page.Items))
	for _, m := range page.Items {
		if m.Default {
			out = append([]*connectd.PaymentMethod{m}, out...)
		} else {
			out = append(out, m)
		}
	}
	return out, nil
}

// readPayment reads the payform fields of a parsed form. A saved card is
// chosen by its place in saved, the list the page showed, never by an ID
// from the form. It also returns what the user typed, to show again when
// the page comes back with a problem (all but the CVC, which is never
// echoed), and problems found before any charge.
func readPayment(r *http.Request, saved []*connectd.PaymentMethod) (connectd.PaymentInput, map[string]string, map[string]string) {
	f := r.PostForm
	values := map[string]string{
		"pay_method":     f.Get("pay_method"),
		"card_number":    f.Get("card_number"),
		"card_exp_month": f.Get("card_exp_month"),
		"card_exp_year":  f.Get("card_exp_year"),
		"save_card":      f.Get("save_card"),
	}
	errs := map[string]string{}
	choice := f.Get("pay_method")
	if choice == "" && len(saved) > 0 {
		choice = "saved:0"
	}
	if i, ok := strings.CutPrefix(choice, "saved:"); ok {
		n, err := strconv.Atoi(i)
		if err != nil || n < 0 || n >= len(saved) {
			errs["pay_method"] = "Choose a card."
			return connectd.PaymentInput{}, values, errs
		}
		return connectd.PaymentInput{PaymentMethodID: saved[n].ID}, values, errs
	}
	month, _ := strconv.Atoi(strings.TrimSpace(f.Get("card_exp_month")))
	year, _ := strconv.Atoi(strings.TrimSpace(f.Get("card_exp_year")))
	card := &connectd.CardInput{Number: strings.TrimSpace(f.Get("card_number")), ExpMonth: month, ExpYear: year, CVC: strings.TrimSpace(f.Get("card_cvc"))}
	return connectd.PaymentInput{Card: card, SaveCard: f.Get("save_card") == "1"}, values, errs
}

// fieldErrors turns a refusal's details into the per-field messages a page
// shows next to each field; it returns the message for the whole form when
// the refusal names no field.
func fieldErrors(e *connectd.Error, into map[string]string) (notice string) {
	if len(e.Details) == 0 {
		return e.Message
	}
	for _, d := range e.Details {
		into[d.Field] = d.Message
	}
	return ""
}
