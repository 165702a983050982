package portal_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/apitest"
	"github.com/connectd/connectd/service"
)

func strp(s string) *string { return &s }

// porting creates a porting on a new subscription of the fixture's user.
func (f *acctFixture) porting(p *connectd.Porting) *connectd.Porting {
	f.t.Helper()
	sub := f.subscription(f.user, nil)
	p.Subscription = sub.ID
	if p.PhoneNumber == "" {
		p.PhoneNumber = "+15550100077"
	}
	f.ok(f.e.Service.Platform.Portings().Create(f.ctx, f.e.Project, p))
	return p
}

// declinedPorting is a porting declined with code that has every field
// but, when addr is nil, the address.
func (f *acctFixture) declinedPorting(code string, addr *connectd.Address) *connectd.Porting {
	f.t.Helper()
	return f.porting(&connectd.Porting{Status: connectd.PortingDeclined, DeclinedCode: strp(code),
		DonorProvider: strp("Other Mobile"), AccountNumber: strp("A-1"), AccountPin: strp("1111"), Address: addr})
}

// openPorting opens a completePorting session on pt's subscription, on
// the porting page.
func (f *acctFixture) openPorting(pt *connectd.Porting) (*apitest.Browser, string, *apitest.Response) {
	f.t.Helper()
	return f.open("completePorting", map[string]any{"subscription": pt.Subscription}, "/portal/porting")
}

func (f *acctFixture) getPorting(id string) *connectd.Porting {
	f.t.Helper()
	p, err := f.e.Service.Platform.Portings().Get(f.ctx, f.e.Project, id)
	f.ok(err)
	return p
}

// portingHome is the address the donor provider has on file.
func portingHome() *connectd.Address {
	return &connectd.Address{Line1: "1 Donor Way", City: "Springfield", PostalCode: "12345", Country: "US"}
}

func TestCompletePortingResumesDraft(t *testing.T) {
	t.Parallel()
	f := newAcctFixture(t, nil)
	_, err := f.e.Service.UpdateUser(f.ctx, f.e.Project, f.user, service.UserInput{Address: &connectd.Address{
		Line1: "129 West 81st Street", City: "New York", PostalCode: "10024", Country: "US"}})
	f.ok(err)
	// The user started earlier: the provider is known, the rest is not.
	pt := f.porting(&connectd.Porting{Status: connectd.PortingDraft, DonorProvider: strp("Other Mobile")})
	b, id, page := f.openPorting(pt)
	acctPage(t, page, http.StatusOK, "&#43;15550100077", `<label for="donor_provider">`, `<label for="account_number">`,
		`<label for="account_pin">`, `type="password"`, `<label for="address_line1">`, `data-testid="confirm"`)
	hasNone(t, page, `data-testid="pin-on-file"`)
	for name, want := range map[string]string{"donor_provider": "Other Mobile", "account_number": "", "account_pin": "",
		"address_line1": "129 West 81st Street", "address_city": "New York", "address_country": "US"} {
		if v := inputValue(t, page, name); v != want {
			t.Fatalf("%s prefilled with %q, want %q", name, v, want)
		}
	}

	// Missing account number and PIN: named next to their fields, the
	// rest kept, nothing changed.
	form := url.Values{"donor_provider": {"Other Mobile"}, "account_number": {""}, "account_pin": {""},
		"address_line1": {"129 West 81st Street"}, "address_city": {"New York"}, "address_postal_code": {"10024"}, "address_country": {"US"}}
	r := b.Post("/portal/porting", form)
	acctPage(t, r, http.StatusUnprocessableEntity)
	fieldError(t, r, "account_number", "Enter the account number")
	fieldError(t, r, "account_pin", "Enter the account PIN")
	if v := inputValue(t, r, "address_line1"); v != "129 West 81st Street" {
		t.Fatalf("typed address not kept: %q", v)
	}
	if got := f.getPorting(pt.ID); got.Status != connectd.PortingDraft || got.AccountNumber != nil {
		t.Fatalf("a refused form changed the porting: %+v", got)
	}

	// A typed PIN never comes back, not even on a page with a problem.
	form.Set("account_number", "A-123")
	form.Set("account_pin", "9876")
	form.Set("address_country", "")
	r = b.Post("/portal/porting", form)
	acctPage(t, r, http.StatusUnprocessableEntity)
	fieldError(t, r, "address_country", "Enter the country")
	hasNone(t, r, "9876")
	if v := inputValue(t, r, "account_number"); v != "A-123" {
		t.Fatalf("typed account number not kept: %q", v)
	}

	form.Set("address_country", "us")
	r = b.Post("/portal/porting", form)
	f.succeeded(b, r, id)
	got := f.getPorting(pt.ID)
	if got.Status != connectd.PortingRequested || got.DeclinedCode != nil || derefS(got.AccountNumber) != "A-123" ||
		derefS(got.AccountPin) != "9876" || derefS(got.DonorProvider) != "Other Mobile" ||
		got.Address == nil || got.Address.Line1 != "129 West 81st Street" || got.Address.Country != "US" {
		t.Fatalf("porting after submit: %+v (address %+v)", got, got.Address)
	}
	// The API never shows the PIN.
	api := f.e.Get("/portings/" + pt.ID)
	if m := api.JSON(t); m["accountPinProvided"] != true || m["status"] != "requested" || strings.Contains(string(api.Body), "9876") {
		t.Fatalf("API porting %s", api.Body)
	}
	// The user's own address is not the porting's business.
	if a := f.getUser(f.user).Address; a.Line1 != "129 West 81st Street" {
		t.Fatalf("user address changed: %+v", a)
	}
}

func derefS(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func TestCompletePortingPinOnFile(t *testing.T) {
	t.Parallel()
	f := newAcctFixture(t, nil)
	pt := f.porting(&connectd.Porting{Status: connectd.PortingInformationRequired, DonorProvider: strp("Other Mobile"),
		AccountNumber: strp("A-1"), AccountPin: strp("135246"), Address: portingHome()})
	b, id, page := f.openPorting(pt)
	acctPage(t, page, http.StatusOK, `data-testid="pin-on-file"`, "Leave this empty to keep it")
	hasNone(t, page, "135246")
	for name, want := range map[string]string{"account_number": "A-1", "account_pin": "", "address_line1": "1 Donor Way"} {
		if v := inputValue(t, page, name); v != want {
			t.Fatalf("%s prefilled with %q, want %q", name, v, want)
		}
	}
	r := b.Post("/portal/porting", url.Values{"donor_provider": {"Other Mobile"}, "account_number": {"A-1"}, "account_pin": {""},
		"address_line1": {"1 Donor Way"}, "address_city": {"Springfield"}, "address_postal_code": {"12345"}, "address_country": {"US"}})
	f.succeeded(b, r, id)
	if got := f.getPorting(pt.ID); got.Status != connectd.PortingRequested || derefS(got.AccountPin) != "135246" {
		t.Fatalf("porting after submit: %+v", got)
	}
}

// A declined porting the user can fix: the page says what went wrong in
// plain words and asks only for what fixes it.
func TestCompletePortingRetryDeclined(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code    string
		explain string
		shown   []string // inputs on the page
		form    url.Values
		check   func(*connectd.Porting) bool
	}{
		{"portingAccountPinRequiredOrInvalid", "Your current provider says the account PIN is wrong",
			[]string{"account_pin"}, url.Values{"account_pin": {"2468"}},
			func(p *connectd.Porting) bool { return derefS(p.AccountPin) == "2468" }},
		{"portingAccountNumberRequiredOrInvalid", "says the account number is missing or wrong",
			[]string{"account_number"}, url.Values{"account_number": {"B-22"}},
			func(p *connectd.Porting) bool {
				return derefS(p.AccountNumber) == "B-22" && derefS(p.AccountPin) == "1111"
			}},
		{"portingAddressRequiredOrInvalid", "doesn&#39;t match the one they have on file",
			[]string{"address_line1", "address_city", "address_postal_code", "address_country"},
			url.Values{"address_line1": {"2 Donor Way"}, "address_city": {"Springfield"}, "address_postal_code": {"12345"}, "address_country": {"US"}},
			func(p *connectd.Porting) bool { return p.Address != nil && p.Address.Line1 == "2 Donor Way" }},
		{"portingPhoneNumberPortProtected", "locked against transfers",
			[]string{"account_pin"}, url.Values{"account_pin": {""}},
			func(p *connectd.Porting) bool { return derefS(p.AccountPin) == "1111" }},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			t.Parallel()
			f := newAcctFixture(t, retrySettings())
			pt := f.declinedPorting(tt.code, portingHome())
			b, id, page := f.openPorting(pt)
			acctPage(t, page, http.StatusOK, tt.explain, `data-testid="declined"`, `data-testid="confirm"`)
			hasNone(t, page, "1111")
			all := []string{"donor_provider", "account_number", "account_pin", "address_line1", "address_city", "address_postal_code", "address_country"}
			for _, name := range all {
				want := false
				for _, s := range tt.shown {
					want = want || s == name
				}
				if got := inputValue(t, page, name) != "<none>"; got != want {
					t.Fatalf("input %s shown: %v, want %v", name, got, want)
				}
			}
			r := b.Post("/portal/porting", tt.form)
			f.succeeded(b, r, id)
			got := f.getPorting(pt.ID)
			if got.Status != connectd.PortingRequested || got.DeclinedCode != nil || !tt.check(got) {
				t.Fatalf("porting after submit: %+v", got)
			}
			// What was not asked for stays as it was.
			if derefS(got.DonorProvider) != "Other Mobile" {
				t.Fatalf("donor provider %v", got.DonorProvider)
			}
			api := f.e.Get("/portings/" + pt.ID)
			if m := api.JSON(t); m["declinedCode"] != nil || m["status"] != "requested" {
				t.Fatalf("API porting %s", api.Body)
			}
		})
	}
}

// A wrong PIN must be replaced, not kept: an empty PIN field is refused.
func TestCompletePortingRetryPinRequired(t *testing.T) {
	t.Parallel()
	f := newAcctFixture(t, retrySettings())
	pt := f.declinedPorting("portingAccountPinRequiredOrInvalid", portingHome())
	b, id, page := f.openPorting(pt)
	acctPage(t, page, http.StatusOK, "PIN on file. Enter the new one.")
	r := b.Post("/portal/porting", url.Values{"account_pin": {" "}})
	acctPage(t, r, http.StatusUnprocessableEntity, "account PIN is wrong")
	fieldError(t, r, "account_pin", "Enter the account PIN")
	// An account number slipped into the form is not read: the page did
	// not ask for it.
	r = b.Post("/portal/porting", url.Values{"account_pin": {"2468"}, "account_number": {"EVIL"}})
	f.succeeded(b, r, id)
	if got := f.getPorting(pt.ID); derefS(got.AccountNumber) != "A-1" || derefS(got.AccountPin) != "2468" {
		t.Fatalf("porting after submit: %+v", got)
	}
}

// Declines the user cannot fix here end the session on entry with
// bad_configuration: a code that is not retryable, or any code when the
// project's portingRetry is off.
func TestCompletePortingNotRetryable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		settings *connectd.ProjectSettings
		code     string
	}{
		{"code not retryable", retrySettings(), "portingNumberNotEligible"},
		{"portingRetry off", nil, "portingAccountPinRequiredOrInvalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newAcctFixture(t, tt.settings)
			pt := f.declinedPorting(tt.code, nil)
			id, u := f.session("completePorting", map[string]any{"subscription": pt.Subscription})
			b := f.e.NewBrowser()
			f.linkedBack(b.Enter(u), id, "bad_configuration", "failed")
			// Nothing can be submitted after that.
			b.Post("/portal/porting", url.Values{"account_pin": {"2468"}})
			if got := f.getPorting(pt.ID); got.Status != connectd.PortingDeclined || derefS(got.AccountPin) != "1111" {
				t.Fatalf("porting changed: %+v", got)
			}
		})
	}
}

// With lenient intent validation a session can be made for a subscription
// whose porting waits for nothing: the page says so in plain words.
func TestCompletePortingNothingWaiting(t *testing.T) {
	t.Parallel()
	s := connectd.DefaultProjectSettings()
	s.IntentValidation = connectd.IntentValidationLenient
	f := newAcctFixture(t, &s)
	pt := f.porting(&connectd.Porting{Status: connectd.PortingRequested, DonorProvider: strp("Other Mobile"),
		AccountNumber: strp("A-1"), AccountPin: strp("1111"), Address: portingHome()})
	b, id, page := f.openPorting(pt)
	acctPage(t, page, http.StatusOK, "no number transfer waiting for you")
	hasNone(t, page, `data-testid="confirm"`, "<input")
	r := b.Post("/portal/porting", url.Values{"account_pin": {"2468"}})
	acctPage(t, r, http.StatusConflict, "no number transfer waiting for you")
	if got := f.getPorting(pt.ID); got.Status != connectd.PortingRequested || derefS(got.AccountPin) != "1111" {
		t.Fatalf("porting changed: %+v", got)
	}
	f.exited(b, id)
}

func TestCompletePortingExit(t *testing.T) {
	t.Parallel()
	f := newAcctFixture(t, retrySettings())
	pt := f.declinedPorting("portingAccountNumberRequiredOrInvalid", portingHome())
	b, id, _ := f.openPorting(pt)
	f.exited(b, id)
	if got := f.getPorting(pt.ID); got.Status != connectd.PortingDeclined || derefS(got.AccountNumber) != "A-1" {
		t.Fatalf("leaving changed the porting: %+v", got)
	}
}
