package portal

import (
	"net/http"
	"strings"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/service"
)

// The edit name page of updateUserFullName: the user's full name,
// prefilled; saving it completes the session's action.

type nameView struct {
	Max int
}

func (p *Portal) showName(w http.ResponseWriter, r *http.Request, st *state, status int, data pageData) {
	data.Title = "Your name"
	data.Data = nameView{Max: connectd.MaxFullNameLength}
	p.render(w, r, status, "name", st, data)
}

func (p *Portal) namePage(w http.ResponseWriter, r *http.Request, st *state) {
	p.showName(w, r, st, http.StatusOK, pageData{Values: map[string]string{"full_name": derefString(st.user.FullName)}})
}

// saveName checks the typed name and saves it on the signed-in user.
func (p *Portal) saveName(w http.ResponseWriter, r *http.Request, st *state) {
	name := strings.TrimSpace(r.PostForm.Get("full_name"))
	values := map[string]string{"full_name": name}
	if msg := textProblem(name, connectd.MaxFullNameLength, "your full name"); msg != "" {
		p.showName(w, r, st, http.StatusUnprocessableEntity, pageData{Values: values, Errors: map[string]string{"full_name": msg}})
		return
	}
	_, err := p.svc.UpdateUser(r.Context(), st.project.ID, st.user.ID, service.UserInput{FullName: &name})
	p.settle(w, r, st, err, func(status int, e *connectd.Error) {
		p.showName(w, r, st, status, pageData{Values: values, Notice: e.Message})
	})
}
