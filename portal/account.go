package portal

import (
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/connectd/connectd"
)

// Helpers of the account pages (payment.go, paymentmethods.go,
// profile.go, porting.go, esim.go): the words for problems that
// connectd's content rules (rules.go, the API's and the seed loader's)
// find in typed values. The guard every page runs behind is in routes.go.

// messageBadForm answers a form that could not be read (too large, or
// malformed): a page like every other, never a bare text answer.
var messageBadForm = message{"The form could not be read",
	"What the form sent could not be read. Go back, check what you typed, and try again."}

// textProblem checks one line of text typed by a user with connectd's text
// rule (not blank, at most max characters, no control characters) and says
// what is wrong in plain words, or "". what names the field for the message.
func textProblem(s string, max int, what string) string {
	switch connectd.CheckTextFault(s, max) {
	case connectd.TextEmpty:
		return "Enter " + what + "."
	case connectd.TextTooLong:
		return fmt.Sprintf("This is too long: use at most %d characters.", max)
	case connectd.TextControl:
		if !utf8.ValidString(s) {
			return "This contains characters that can't be used."
		}
		return "This contains characters that can't be used, such as line breaks or tabs."
	}
	return ""
}

// The form names of the address fields whose JSON names differ, and how
// the messages name the required ones.
var (
	addressFormNames = map[string]string{"postalCode": "postal_code"}
	addressWhat      = map[string]string{"line1": "the street address", "city": "the city or town", "postalCode": "the postal code"}
)

func addressFormName(jsonName string) string {
	if n, ok := addressFormNames[jsonName]; ok {
		return n
	}
	return jsonName
}

// addressValues returns the form values that show a; prefix is put before
// each field name ("" for the user's address, "address_" on the porting
// form).
func addressValues(a *connectd.Address, prefix string, into map[string]string) {
	if a == nil {
		return
	}
	into[prefix+"line1"] = a.Line1
	into[prefix+"line2"] = derefString(a.Line2)
	into[prefix+"city"] = a.City
	into[prefix+"postal_code"] = a.PostalCode
	into[prefix+"state"] = derefString(a.State)
	into[prefix+"country"] = a.Country
}

// readAddressForm reads and checks an address from a parsed form with the
// API's rules: line1, city, postalCode and country required, lengths, no
// control characters, country an ISO 3166-1 alpha-2 code. Typed values go
// into values (spaces trimmed; the country upper-cased) and problems into
// errs, both keyed by prefixed field name. It returns nil when there is a
// problem.
func readAddressForm(r *http.Request, prefix string, values, errs map[string]string) *connectd.Address {
	get := func(name string) string {
		v := strings.TrimSpace(r.PostForm.Get(prefix + name))
		values[prefix+name] = v
		return v
	}
	a := &connectd.Address{}
	n := len(errs)
	for _, f := range connectd.AddressFields {
		name := addressFormName(f.Name)
		v := get(name)
		if v == "" && !f.Required {
			continue
		}
		if msg := textProblem(v, f.Max, addressWhat[f.Name]); msg != "" {
			errs[prefix+name] = msg
			continue
		}
		f.Set(a, &v)
	}
	country := strings.ToUpper(get("country"))
	values[prefix+"country"] = country
	switch {
	case country == "":
		errs[prefix+"country"] = "Enter the country as a 2-letter code, such as US."
	case !connectd.ValidCountry(country):
		errs[prefix+"country"] = "Enter the country as a 2-letter code, such as US, GB or DE."
	default:
		a.Country = country
	}
	if len(errs) > n {
		return nil
	}
	return a
}

func derefString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// addressForm is what the addressfields partial shows.
type addressForm struct {
	// Prefix is put before each field name: "" for the user's address,
	// "address_" on the porting form.
	Prefix string
	Fields []addressField
}

type addressField struct {
	Name, Label, Autocomplete, Hint string
	Required                        bool
	Max                             int
}

func newAddressForm(prefix string) addressForm {
	return addressForm{Prefix: prefix, Fields: []addressField{
		{Name: "line1", Label: "Street address", Autocomplete: "address-line1", Required: true, Max: connectd.MaxAddressLineLength},
		{Name: "line2", Label: "Apartment, suite, etc.", Autocomplete: "address-line2", Max: connectd.MaxAddressLineLength},
		{Name: "city", Label: "City or town", Autocomplete: "address-level2", Required: true, Max: connectd.MaxAddressCityLength},
		{Name: "postal_code", Label: "Postal code", Autocomplete: "postal-code", Required: true, Max: connectd.MaxPostalCodeLength},
		{Name: "state", Label: "State, province or region", Autocomplete: "address-level1", Max: connectd.MaxAddressStateLength},
		{Name: "country", Label: "Country", Autocomplete: "country", Required: true, Max: 2,
			Hint: "The 2-letter country code, such as US, GB or DE."},
	}}
}
