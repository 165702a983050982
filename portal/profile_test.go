package portal_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/service"
)

func TestUpdateUserFullName(t *testing.T) {
	t.Parallel()
	f := newAcctFixture(t, nil)
	old := "Jerry S"
	_, err := f.e.Service.UpdateUser(f.ctx, f.e.Project, f.user, service.UserInput{FullName: &old})
	f.ok(err)
	b, id, page := f.open("updateUserFullName", nil, "/portal/name")
	acctPage(t, page, http.StatusOK, `<label for="full_name">`, `data-testid="confirm"`)
	if v := inputValue(t, page, "full_name"); v != "Jerry S" {
		t.Fatalf("name field prefilled with %q", v)
	}

	// Blank and control characters are refused next to the field, the
	// typed value kept, nothing saved.
	r := b.Post("/portal/name", url.Values{"full_name": {"   "}})
	acctPage(t, r, http.StatusUnprocessableEntity)
	fieldError(t, r, "full_name", "Enter your full name.")
	r = b.Post("/portal/name", url.Values{"full_name": {"Jerry\tSeinfeld"}})
	acctPage(t, r, http.StatusUnprocessableEntity)
	fieldError(t, r, "full_name", "This contains characters")
	if v := inputValue(t, r, "full_name"); v != "Jerry\tSeinfeld" {
		t.Fatalf("typed name not kept: %q", v)
	}
	if u := f.getUser(f.user); u.FullName == nil || *u.FullName != "Jerry S" {
		t.Fatalf("a refused name changed the user: %v", u.FullName)
	}
	if got := f.sessionStatus(id); got != "active" {
		t.Fatalf("session %s after a refused name", got)
	}

	r = b.Post("/portal/name", url.Values{"full_name": {"  Jerry Seinfeld "}})
	f.succeeded(b, r, id)
	if u := f.getUser(f.user); u.FullName == nil || *u.FullName != "Jerry Seinfeld" {
		t.Fatalf("name not saved: %v", u.FullName)
	}
	f.apiShows("/users/"+f.user, "fullName", "Jerry Seinfeld")
}

func TestUpdateUserFullNameExit(t *testing.T) {
	t.Parallel()
	f := newAcctFixture(t, nil)
	b, id, _ := f.open("updateUserFullName", nil, "/portal/name")
	f.exited(b, id)
	if u := f.getUser(f.user); u.FullName != nil {
		t.Fatalf("exit changed the name: %q", *u.FullName)
	}
	// The ended session's pages are gone.
	if r := b.Post("/portal/name", url.Values{"full_name": {"Newman"}}); r.Status == http.StatusSeeOther && r.Header.Get("Location") == "/portal/done" {
		t.Fatalf("an aborted session still acted")
	}
	if u := f.getUser(f.user); u.FullName != nil {
		t.Fatalf("an aborted session changed the name: %q", *u.FullName)
	}
}

func TestUpdateUserAddress(t *testing.T) {
	t.Parallel()
	f := newAcctFixture(t, nil)
	line2 := "Apt 5A"
	_, err := f.e.Service.UpdateUser(f.ctx, f.e.Project, f.user, service.UserInput{Address: &connectd.Address{
		Line1: "129 West 81st Street", Line2: &line2, City: "New York", PostalCode: "10024", Country: "US"}})
	f.ok(err)
	b, id, page := f.open("updateUserAddress", nil, "/portal/address")
	acctPage(t, page, http.StatusOK, `<label for="line1">`, `<label for="city">`, `<label for="postal_code">`,
		`<label for="country">`, `data-testid="confirm"`)
	for name, want := range map[string]string{"line1": "129 West 81st Street", "line2": "Apt 5A", "city": "New York",
		"postal_code": "10024", "state": "", "country": "US"} {
		if v := inputValue(t, page, name); v != want {
			t.Fatalf("%s prefilled with %q, want %q", name, v, want)
		}
	}

	// A missing city and a bad country: both named next to their field,
	// what was typed kept, nothing saved.
	bad := url.Values{"line1": {"1 Main St"}, "line2": {""}, "city": {" "}, "postal_code": {"94105"}, "state": {"CA"}, "country": {"USA"}}
	r := b.Post("/portal/address", bad)
	acctPage(t, r, http.StatusUnprocessableEntity)
	fieldError(t, r, "city", "Enter the city or town.")
	fieldError(t, r, "country", "Enter the country as a 2-letter code")
	for name, want := range map[string]string{"line1": "1 Main St", "postal_code": "94105", "state": "CA", "country": "USA"} {
		if v := inputValue(t, r, name); v != want {
			t.Fatalf("typed %s not kept: %q, want %q", name, v, want)
		}
	}
	r = b.Post("/portal/address", url.Values{"line1": {"1 Main St\r\nX"}, "city": {"SF"}, "postal_code": {"123456789012345678901"}, "country": {"US"}})
	acctPage(t, r, http.StatusUnprocessableEntity)
	fieldError(t, r, "line1", "This contains characters")
	fieldError(t, r, "postal_code", "This is too long")
	if a := f.getUser(f.user).Address; a == nil || a.Line1 != "129 West 81st Street" {
		t.Fatalf("a refused address changed the user: %+v", a)
	}

	// Line 2 cleared, state added, the country typed in lower case.
	r = b.Post("/portal/address", url.Values{"line1": {"1 Main St"}, "line2": {""}, "city": {"San Francisco"},
		"postal_code": {"94105"}, "state": {"CA"}, "country": {"us"}})
	f.succeeded(b, r, id)
	a := f.getUser(f.user).Address
	if a == nil || a.Line1 != "1 Main St" || a.Line2 != nil || a.City != "San Francisco" || a.PostalCode != "94105" ||
		a.State == nil || *a.State != "CA" || a.Country != "US" {
		t.Fatalf("address saved as %+v", a)
	}
}

func TestUpdateUserAddressEmpty(t *testing.T) {
	t.Parallel()
	f := newAcctFixture(t, nil)
	b, id, page := f.open("updateUserAddress", nil, "/portal/address")
	if v := inputValue(t, page, "line1"); v != "" {
		t.Fatalf("line1 prefilled with %q for a user without an address", v)
	}
	r := b.Post("/portal/address", url.Values{})
	acctPage(t, r, http.StatusUnprocessableEntity)
	for _, field := range []string{"line1", "city", "postal_code", "country"} {
		fieldError(t, r, field, "Enter")
	}
	if a := f.getUser(f.user).Address; a != nil {
		t.Fatalf("an empty form saved %+v", a)
	}
	f.exited(b, id)
}

// A session's page acts only for its own intent: the address form of a
// name session is not there.
func TestAccountPagesOnlyTheirIntent(t *testing.T) {
	t.Parallel()
	f := newAcctFixture(t, nil)
	b, _, _ := f.open("updateUserFullName", nil, "/portal/name")
	for _, path := range []string{"/portal/address", "/portal/payment", "/portal/payment-methods", "/portal/porting", "/portal/esim"} {
		r := b.Get(path)
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/portal/name" {
			t.Fatalf("GET %s: %d to %q, want 303 to /portal/name", path, r.Status, r.Header.Get("Location"))
		}
	}
	r := b.Post("/portal/address", url.Values{"line1": {"1 Main St"}, "city": {"SF"}, "postal_code": {"94105"}, "country": {"US"}})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/portal/name" {
		t.Fatalf("POST /portal/address: %d to %q", r.Status, r.Header.Get("Location"))
	}
	if a := f.getUser(f.user).Address; a != nil {
		t.Fatalf("a name session saved an address: %+v", a)
	}
}
