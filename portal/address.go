package portal

import (
	"net/http"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/service"
)

// The edit address page of updateUserAddress: a form prefilled with the
// signed-in user's address; saving it completes the session's action.

type addressView struct {
	Address addressForm
}

func (p *Portal) showAddress(w http.ResponseWriter, r *http.Request, st *state, status int, data pageData) {
	data.Title = "Your address"
	data.Data = addressView{Address: newAddressForm("")}
	p.render(w, r, status, "address", st, data)
}

func (p *Portal) addressPage(w http.ResponseWriter, r *http.Request, st *state) {
	values := map[string]string{}
	addressValues(st.user.Address, "", values)
	p.showAddress(w, r, st, http.StatusOK, pageData{Values: values})
}

// saveAddress checks the typed address and saves it on the signed-in user.
func (p *Portal) saveAddress(w http.ResponseWriter, r *http.Request, st *state) {
	values, errs := map[string]string{}, map[string]string{}
	a := readAddressForm(r, "", values, errs)
	if a == nil {
		p.showAddress(w, r, st, http.StatusUnprocessableEntity, pageData{Values: values, Errors: errs,
			Notice: "Please check the highlighted fields."})
		return
	}
	_, err := p.svc.UpdateUser(r.Context(), st.project.ID, st.user.ID, service.UserInput{Address: a})
	p.settle(w, r, st, err, func(status int, e *connectd.Error) {
		p.showAddress(w, r, st, status, pageData{Values: values, Errors: errs, Notice: e.Message})
	})
}
