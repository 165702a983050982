package portal

import (
	"net/http"
	"strings"

	"github.com/connectd/connectd"
)

// The complete-porting page of completePorting: the newest porting of the
// session's subscription that waits for the user. A draft or a request for
// information shows the whole form, prefilled with what the porting
// already has, so that the user resumes where they left off. A porting
// declined with a code the user can fix explains the decline in plain
// words and asks for what to fix. Submitting sends the porting to the
// donor provider again (status requested).
//
// The account PIN is write-only: it is never shown again, not even as
// typed; the page only says whether one is on file.

type portingView struct {
	Porting *connectd.Porting // nil when none waits for the user
	// Why explains, when there is no form, why there is nothing to do.
	Why string
	// Declined explains a decline the user can fix.
	Declined string
	// Show says which parts of the form to show: donorProvider,
	// accountNumber, accountPin, address.
	Show map[string]bool
	// PinOnFile is true when the porting has a PIN, which an empty PIN
	// field keeps.
	PinOnFile bool
	// PinRequired is true when the PIN field may not be left empty: no
	// PIN is on file, or the decline says it is the PIN that is wrong.
	PinRequired bool
	Address     addressForm
}

// declinedText says in plain words what a retryable decline means and
// which parts of the form fix it.
func declinedText(code string) (string, []string) {
	switch code {
	case "portingAccountNumberRequiredOrInvalid":
		return "Your current provider says the account number is missing or wrong. Check it on a bill or in your account with them, then send the request again.", []string{"accountNumber"}
	case "portingAccountPinRequiredOrInvalid":
		return "Your current provider says the account PIN is wrong. Ask them for your number transfer PIN, then send the request again.", []string{"accountPin"}
	case "portingAddressRequiredOrInvalid":
		return "Your current provider says the address doesn't match the one they have on file. Enter the address exactly as your current provider has it, then send the request again.", []string{"address"}
	case "portingPhoneNumberPortProtected":
		return "Your number is locked against transfers at your current provider (port protection). Ask them to remove the lock, and enter the transfer PIN they give you if they give you one, then send the request again.", []string{"accountPin"}
	}
	return "", nil
}

// sessionPorting returns the porting waiting for the signed-in user on the
// session's subscription, or nil.
func (p *Portal) sessionPorting(r *http.Request, st *state) (*connectd.Porting, error) {
	pt, err := p.waitingPorting(r.Context(), st.Project.ID, st.Session.Intent.Subscription)
	if err != nil || pt == nil || pt.User != st.User.ID {
		return nil, err
	}
	return pt, nil
}

// portingModel decides what the page shows of pt.
func (p *Portal) portingModel(st *state, pt *connectd.Porting) portingView {
	v := portingView{Porting: pt, Show: map[string]bool{}, Address: newAddressForm("address_")}
	if pt == nil {
		v.Why = "There is no number transfer waiting for you on this subscription, so there is nothing to complete here. You can close this page and go back to the app."
		return v
	}
	v.PinOnFile = pt.AccountPinProvided
	v.PinRequired = !pt.AccountPinProvided || derefString(pt.DeclinedCode) == "portingAccountPinRequiredOrInvalid"
	if pt.Status != connectd.PortingDeclined {
		for _, f := range []string{"donorProvider", "accountNumber", "accountPin", "address"} {
			v.Show[f] = true
		}
		return v
	}
	code := derefString(pt.DeclinedCode)
	text, fix := declinedText(code)
	if !st.Project.Settings.PortingRetry || !connectd.RetryableDeclinedCodes[code] || text == "" {
		v.Porting = nil
		v.Why = "Your current provider declined the transfer of your number, and it can't be fixed here. Please contact support. You can close this page and go back to the app."
		return v
	}
	v.Declined = text
	for _, f := range fix {
		v.Show[f] = true
	}
	// Whatever is still missing must be given too.
	if empty(pt.DonorProvider) {
		v.Show["donorProvider"] = true
	}
	if empty(pt.AccountNumber) {
		v.Show["accountNumber"] = true
	}
	if !pt.AccountPinProvided {
		v.Show["accountPin"] = true
	}
	if pt.Address == nil {
		v.Show["address"] = true
	}
	return v
}

func empty(s *string) bool { return s == nil || strings.TrimSpace(*s) == "" }

func (p *Portal) showPorting(w http.ResponseWriter, r *http.Request, st *state, status int, pt *connectd.Porting, data pageData) {
	v := p.portingModel(st, pt)
	data.Title = "Move your phone number"
	if v.Declined != "" {
		data.Title = "Fix your number transfer"
	}
	data.Data = v
	p.render(w, r, status, "porting", st, data)
}

func (p *Portal) portingPage(w http.ResponseWriter, r *http.Request, st *state) {
	pt, err := p.sessionPorting(r, st)
	if err != nil {
		p.fail(w, r, st.Session, err)
		return
	}
	// Resume where the user left off: prefill what the porting has, and the
	// address from the account when the porting has none yet. Never the PIN.
	values := map[string]string{}
	if pt != nil {
		values["donor_provider"] = derefString(pt.DonorProvider)
		values["account_number"] = derefString(pt.AccountNumber)
		a := pt.Address
		if a == nil {
			a = st.User.Address
		}
		addressValues(a, "address_", values)
	}
	p.showPorting(w, r, st, http.StatusOK, pt, pageData{Values: values})
}

// portingFields maps the action's field names to the form's.
var portingFields = map[string]string{
	"donorProvider": "donor_provider",
	"accountNumber": "account_number",
	"accountPin":    "account_pin",
	"address":       "address_line1",
}

// submitPorting completes or fixes the waiting porting with the parts of
// the form the page showed, and sends it again.
func (p *Portal) submitPorting(w http.ResponseWriter, r *http.Request, st *state) {
	pt, err := p.sessionPorting(r, st)
	if err != nil {
		p.fail(w, r, st.Session, err)
		return
	}
	v := p.portingModel(st, pt)
	if v.Porting == nil {
		p.showPorting(w, r, st, http.StatusConflict, pt, pageData{})
		return
	}
	f := r.PostForm
	values, errs := map[string]string{}, map[string]string{}
	var in connectd.PortingInput
	text := func(name string, max int, what string, required bool) *string {
		s := strings.TrimSpace(f.Get(name))
		if name != "account_pin" {
			values[name] = s
		}
		if s == "" && !required {
			return nil
		}
		if msg := textProblem(s, max, what); msg != "" {
			errs[name] = msg
			return nil
		}
		return &s
	}
	if v.Show["donorProvider"] {
		in.DonorProvider = text("donor_provider", connectd.MaxDonorProviderLength, "the name of your current provider", true)
	}
	if v.Show["accountNumber"] {
		in.AccountNumber = text("account_number", connectd.MaxAccountFieldLength, "the account number from your current provider", true)
	}
	if v.Show["accountPin"] {
		// A PIN on file is kept when the field is left empty, unless the
		// decline says it is the PIN that is wrong.
		in.AccountPin = text("account_pin", connectd.MaxAccountFieldLength, "the account PIN from your current provider", v.PinRequired)
	}
	if v.Show["address"] {
		in.Address = readAddressForm(r, "address_", values, errs)
	}
	if len(errs) > 0 {
		p.showPorting(w, r, st, http.StatusUnprocessableEntity, pt, pageData{Values: values, Errors: errs,
			Notice: "Please check the highlighted fields."})
		return
	}
	_, err = p.svc.SubmitPorting(r.Context(), st.Actor(), pt.ID, in)
	p.settle(w, r, st, err, func(status int, e *connectd.Error) {
		notice := e.Message
		for _, d := range e.Details {
			if name, ok := portingFields[d.Field]; ok {
				errs[name] = d.Message
				notice = "Please check the highlighted fields."
			}
		}
		// The page shows the porting as it is now (changed meanwhile, say).
		if now, err := p.sessionPorting(r, st); err == nil {
			pt = now
		}
		p.showPorting(w, r, st, status, pt, pageData{Values: values, Errors: errs, Notice: notice})
	})
}
