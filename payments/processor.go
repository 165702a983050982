// Package payments is connectd's built-in test card processor. It charges
// nothing: it decides outcomes from well-known test card numbers, so that
// every portal flow (success, decline, confirmation) can be exercised for
// real. Full card numbers go in and never come out: callers keep only the
// brand, last 4 digits and expiry.
package payments

import (
	"time"

	"github.com/connectd/connectd"
)

// Outcome is what the processor decides for a charge.
type Outcome string

const (
	Succeeded            Outcome = "succeeded"
	Declined             Outcome = "declined"
	RequiresConfirmation Outcome = "requiresConfirmation"
)

// Test cards with a fixed outcome. Any other valid card succeeds.
const (
	CardSucceeds             = "4242424242424242"
	CardDeclined             = "4000000000000002"
	CardRequiresConfirmation = "4000002500003155"
)

// Check validates a typed card and decides the outcome of charging it. The
// FieldErrors name card.number, card.expMonth, card.expYear and card.cvc so
// that a page can show each next to its field.
func Check(in connectd.CardInput, now time.Time) (connectd.Card, Outcome, connectd.FieldErrors) {
	var fe connectd.FieldErrors
	number := digitsOnly(in.Number)
	if len(number) < 13 || len(number) > 19 || !luhn(number) {
		fe.Add("card.number", "invalidNumber", "Enter a valid card number.")
	}
	if in.ExpMonth < 1 || in.ExpMonth > 12 {
		fe.Add("card.expMonth", "invalidExpiry", "Enter the month as 1 to 12.")
	}
	year := in.ExpYear
	if year >= 0 && year < 100 {
		year += 2000
	}
	if year < 2000 || year > 2100 {
		fe.Add("card.expYear", "invalidExpiry", "Enter the year, such as 2030.")
	} else if in.ExpMonth >= 1 && in.ExpMonth <= 12 {
		// A card works through the last day of its expiry month.
		end := time.Date(year, time.Month(in.ExpMonth)+1, 1, 0, 0, 0, 0, time.UTC)
		if !now.Before(end) {
			fe.Add("card.expYear", "expired", "This card has expired.")
		}
	}
	if len(in.CVC) < 3 || len(in.CVC) > 4 || digitsOnly(in.CVC) != in.CVC {
		fe.Add("card.cvc", "invalidCvc", "Enter the 3 or 4 digits on the back of the card.")
	}
	if len(fe) > 0 {
		return connectd.Card{}, "", fe
	}
	card := connectd.Card{Brand: brand(number), Last4: number[len(number)-4:], ExpMonth: in.ExpMonth, ExpYear: year}
	switch number {
	case CardDeclined:
		return card, Declined, nil
	case CardRequiresConfirmation:
		return card, RequiresConfirmation, nil
	}
	return card, Succeeded, nil
}

// digitsOnly drops the spaces and dashes people type in card numbers; any
// other character makes the number invalid.
func digitsOnly(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			out = append(out, c)
		case c == ' ' || c == '-':
		default:
			return ""
		}
	}
	return string(out)
}

func luhn(number string) bool {
	sum := 0
	double := false
	for i := len(number) - 1; i >= 0; i-- {
		d := int(number[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

func brand(n string) string {
	switch {
	case n[0] == '4':
		return "visa"
	case n[:2] >= "51" && n[:2] <= "55", len(n) >= 4 && n[:4] >= "2221" && n[:4] <= "2720":
		return "mastercard"
	case n[:2] == "34" || n[:2] == "37":
		return "amex"
	case len(n) >= 4 && n[:4] == "6011", n[:2] == "65":
		return "discover"
	}
	return "unknown"
}
