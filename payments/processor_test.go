package payments

import (
	"testing"
	"time"

	"github.com/connectd/connectd"
)

func TestCheckOutcomes(t *testing.T) {
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		in        connectd.CardInput
		outcome   Outcome
		brand     string
		errFields []string
	}{
		{"succeeds", connectd.CardInput{Number: CardSucceeds, ExpMonth: 12, ExpYear: 2030, CVC: "123"}, Succeeded, "visa", nil},
		{"spaces are fine", connectd.CardInput{Number: "4242 4242 4242 4242", ExpMonth: 1, ExpYear: 30, CVC: "123"}, Succeeded, "visa", nil},
		{"declined", connectd.CardInput{Number: CardDeclined, ExpMonth: 12, ExpYear: 2030, CVC: "123"}, Declined, "visa", nil},
		{"needs confirmation", connectd.CardInput{Number: CardRequiresConfirmation, ExpMonth: 12, ExpYear: 2030, CVC: "123"}, RequiresConfirmation, "visa", nil},
		{"mastercard", connectd.CardInput{Number: "5555555555554444", ExpMonth: 12, ExpYear: 2030, CVC: "123"}, Succeeded, "mastercard", nil},
		{"amex", connectd.CardInput{Number: "378282246310005", ExpMonth: 12, ExpYear: 2030, CVC: "1234"}, Succeeded, "amex", nil},
		{"bad luhn", connectd.CardInput{Number: "4242424242424241", ExpMonth: 12, ExpYear: 2030, CVC: "123"}, "", "", []string{"card.number"}},
		{"letters", connectd.CardInput{Number: "4242x", ExpMonth: 12, ExpYear: 2030, CVC: "123"}, "", "", []string{"card.number"}},
		{"expired last month", connectd.CardInput{Number: CardSucceeds, ExpMonth: 10, ExpYear: 2026, CVC: "123"}, "", "", []string{"card.expYear"}},
		{"valid through its month", connectd.CardInput{Number: CardSucceeds, ExpMonth: 11, ExpYear: 2026, CVC: "123"}, Succeeded, "visa", nil},
		{"every problem at once", connectd.CardInput{Number: "1", ExpMonth: 13, ExpYear: 1999, CVC: "1"}, "", "", []string{"card.number", "card.expMonth", "card.expYear", "card.cvc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			card, outcome, fe := Check(tt.in, now)
			if len(tt.errFields) > 0 {
				if len(fe) != len(tt.errFields) {
					t.Fatalf("errors = %v, want fields %v", fe, tt.errFields)
				}
				for i, f := range tt.errFields {
					if fe[i].Field != f {
						t.Errorf("error %d field = %s, want %s", i, fe[i].Field, f)
					}
				}
				return
			}
			if len(fe) > 0 {
				t.Fatalf("unexpected errors %v", fe)
			}
			if outcome != tt.outcome || card.Brand != tt.brand {
				t.Errorf("outcome %s brand %s, want %s %s", outcome, card.Brand, tt.outcome, tt.brand)
			}
			if want := digitsOnly(tt.in.Number); card.Last4 != want[len(want)-4:] {
				t.Errorf("last4 = %s", card.Last4)
			}
		})
	}
}
