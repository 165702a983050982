package portal

import (
	"net/http"
	"strings"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/service"
)

// The profile pages: a form prefilled from the signed-in user whose save
// updates the user and completes the session's action. address is the
// page of updateUserAddress, name the page of updateUserFullName.

// profilePage is one profile page.
type profilePage struct {
	page, title string
	data        any
	// values prefills the form from the user.
	values func(u *connectd.User, into map[string]string)
	// read reads and checks the parsed form into the update, keeping what
	// was typed in values and the problems in errs.
	read func(r *http.Request, values, errs map[string]string) service.UserInput
	// invalid is the notice of a form with problems ("": none).
	invalid string
}

var (
	addressProfile = profilePage{page: "address", title: "Your address", data: addressView{Address: newAddressForm("")},
		values: func(u *connectd.User, into map[string]string) { addressValues(u.Address, "", into) },
		read: func(r *http.Request, values, errs map[string]string) service.UserInput {
			return service.UserInput{Address: readAddressForm(r, "", values, errs)}
		},
		invalid: "Please check the highlighted fields."}
	nameProfile = profilePage{page: "name", title: "Your name", data: nameView{Max: connectd.MaxFullNameLength},
		values: func(u *connectd.User, into map[string]string) { into["full_name"] = derefString(u.FullName) },
		read: func(r *http.Request, values, errs map[string]string) service.UserInput {
			name := strings.TrimSpace(r.PostForm.Get("full_name"))
			values["full_name"] = name
			if msg := textProblem(name, connectd.MaxFullNameLength, "your full name"); msg != "" {
				errs["full_name"] = msg
			}
			return service.UserInput{FullName: &name}
		}}
)

type addressView struct {
	Address addressForm
}

type nameView struct {
	Max int
}

func (pp profilePage) render(p *Portal, w http.ResponseWriter, r *http.Request, st *state, status int, data pageData) {
	data.Title, data.Data = pp.title, pp.data
	p.render(w, r, status, pp.page, st, data)
}

// show serves the GET: the form, prefilled.
func (pp profilePage) show(p *Portal, w http.ResponseWriter, r *http.Request, st *state) {
	values := map[string]string{}
	pp.values(st.User, values)
	pp.render(p, w, r, st, http.StatusOK, pageData{Values: values})
}

// save checks the typed values and saves them on the signed-in user.
func (pp profilePage) save(p *Portal, w http.ResponseWriter, r *http.Request, st *state) {
	values, errs := map[string]string{}, map[string]string{}
	in := pp.read(r, values, errs)
	if len(errs) > 0 {
		pp.render(p, w, r, st, http.StatusUnprocessableEntity, pageData{Values: values, Errors: errs, Notice: pp.invalid})
		return
	}
	_, err := p.svc.UpdateUser(r.Context(), st.Project.ID, st.User.ID, in)
	p.settle(w, r, st, err, func(status int, e *connectd.Error) {
		pp.render(p, w, r, st, status, pageData{Values: values, Notice: e.Message})
	})
}
