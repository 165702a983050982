package portal_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/connectd/connectd"
)

func TestCheckoutAddon(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		card string
		// confirm is true when the card asks for confirmation first.
		confirm bool
	}{
		{"card succeeds", cardOK, false},
		{"card asks for confirmation", cardConfirm, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newSubFixture(t, nil)
			other := &connectd.Addon{Name: "Roaming", Status: connectd.PlanActive, Price: connectd.Price{Amount: 700, Currency: "USD"}, Plans: []string{f.basic.ID}}
			must(t, f.e.Service.Platform.Addons().Create(f.ctx, f.e.Project, other))
			b, id := f.open("checkoutAddon", map[string]any{"subscription": f.sub.ID, "addons": []string{f.gb5.ID}}, "/portal/addons")
			page := b.Get("/portal/addons")
			hasAll(t, page, http.StatusOK, "Your cart", "5 GB extra", "Total", "Pay $5.00", `data-testid="confirm"`, `data-testid="exit"`)
			hasNone(t, page, "Roaming")
			labelled(t, page)
			// The cart is the session's: add-on fields in the form are ignored.
			form := with(goodCard(tc.card), "addons", other.ID, "addon", other.ID, "choice", "addon:"+other.ID)
			r := b.Post("/portal/addons", form)
			if tc.confirm {
				hasAll(t, r, http.StatusOK, "confirm this payment of <strong>$5.00</strong>", `data-testid="confirm"`)
				if got := f.getSub(f.sub.ID).Addons; len(got) != 0 {
					t.Fatalf("add-ons %v before confirmation", got)
				}
				r = b.Post("/portal/addons", url.Values{"confirm_payment": {pendingPaymentID(t, r)}})
			}
			f.succeeded(b, r, id)
			if got := f.getSub(f.sub.ID).Addons; !slices.Equal(got, []string{f.gb5.ID}) {
				t.Fatalf("add-ons %v, want [%s]", got, f.gb5.ID)
			}
			pays := f.payments(f.user)
			if len(pays) != 1 || pays[0].Status != connectd.PaymentSucceeded || pays[0].Amount != 500 {
				t.Fatalf("payments %+v, want one succeeded of 500", pays)
			}
		})
	}
}

func TestCheckoutAddonDeclined(t *testing.T) {
	t.Parallel()
	f := newSubFixture(t, nil)
	b, id := f.open("checkoutAddon", map[string]any{"subscription": f.sub.ID, "addons": []string{f.gb5.ID}}, "/portal/addons")
	r := b.Post("/portal/addons", goodCard(cardDecline))
	hasAll(t, r, http.StatusUnprocessableEntity, "Your card was declined", `value="4000000000000002"`, `value="2040"`, "5 GB extra", `data-testid="confirm"`)
	if got := f.getSub(f.sub.ID).Addons; len(got) != 0 {
		t.Fatalf("add-ons %v after a decline", got)
	}
	pays := f.payments(f.user)
	if len(pays) != 1 || pays[0].Status != connectd.PaymentFailed {
		t.Fatalf("payments %+v, want one failed", pays)
	}
	// An invalid card is named next to its field; nothing is charged.
	r = b.Post("/portal/addons", with(goodCard("42"), "card_cvc", "1"))
	hasAll(t, r, http.StatusUnprocessableEntity, `id="card_number-error"`, "Enter the 3 or 4 digits")
	if got := len(f.payments(f.user)); got != 1 {
		t.Fatalf("%d payments, want still 1", got)
	}
	f.linkedBack(b.Post("/portal/exit", nil), id, "user_aborted", "aborted")
}

// The add-on was archived after the session was made: the page explains
// and nothing can be charged.
func TestCheckoutAddonNoLongerAvailable(t *testing.T) {
	t.Parallel()
	f := newSubFixture(t, nil)
	b, _ := f.open("checkoutAddon", map[string]any{"subscription": f.sub.ID, "addons": []string{f.gb5.ID}}, "/portal/addons")
	_, err := connectd.UpdateResource(f.ctx, f.e.Service.Platform.Addons(), f.e.Project, f.gb5.ID, func(a *connectd.Addon) error {
		a.Status = connectd.PlanArchived
		return nil
	})
	must(t, err)
	page := b.Get("/portal/addons")
	hasAll(t, page, http.StatusOK, "5 GB extra is no longer available", `data-testid="exit"`)
	hasNone(t, page, `data-testid="confirm"`)
	hasAll(t, b.Post("/portal/addons", goodCard(cardOK)), http.StatusConflict, "no longer available")
	if pays := f.payments(f.user); len(pays) != 0 {
		t.Fatalf("payments %+v, want none", pays)
	}
}
