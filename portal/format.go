package portal

import (
	"fmt"
	"time"

	"github.com/connectd/connectd"
)

// formatMoney writes a price in minor units, such as "$12.50" or "12.50 EUR".
func formatMoney(p connectd.Price) string {
	major, minor := p.Amount/100, p.Amount%100
	switch p.Currency {
	case "USD":
		return fmt.Sprintf("$%d.%02d", major, minor)
	case "EUR":
		return fmt.Sprintf("€%d.%02d", major, minor)
	case "GBP":
		return fmt.Sprintf("£%d.%02d", major, minor)
	}
	return fmt.Sprintf("%d.%02d %s", major, minor, p.Currency)
}

// formatDate writes a date for people: "22 Nov 2026".
func formatDate(t any) string {
	switch v := t.(type) {
	case time.Time:
		return v.Format("2 Jan 2006")
	case *time.Time:
		if v == nil {
			return ""
		}
		return v.Format("2 Jan 2006")
	}
	return ""
}
