package portal

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/httperr"
)

// Hosted login. The guard of its pages (routes.go) sends a browser that
// is already signed in on to the intent's page.

// loginPage asks for the email of a session without a user.
func (p *Portal) loginPage(w http.ResponseWriter, r *http.Request, st *state) {
	p.render(w, r, http.StatusOK, "login", st, pageData{Title: "Sign in", Data: loginView{}})
}

type loginView struct {
	CodeSent bool
	Email    string
}

// sendCode sends a one-time code to the email the user typed.
func (p *Portal) sendCode(w http.ResponseWriter, r *http.Request, st *state) {
	if !st.Project.Settings.HostedLogin {
		p.finish(w, r, st.Session, StatusBadConfiguration)
		return
	}
	if !p.readPageForm(w, r, st) {
		return
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	if !connectd.ValidEmail(email) {
		p.render(w, r, http.StatusUnprocessableEntity, "login", st, pageData{Title: "Sign in", Data: loginView{},
			Errors: map[string]string{"email": "Enter an email address, such as jerry@example.com."}, Values: map[string]string{"email": email}})
		return
	}
	code, err := p.svc.SendLoginCode(r.Context(), st.Browser.ID, email)
	if err != nil {
		p.fail(w, r, st.Session, err)
		return
	}
	if err := p.mailer.SendLoginCode(r.Context(), email, code, st.Project); err != nil {
		p.logger.ErrorContext(r.Context(), "send login code", "err", err.Error())
		p.render(w, r, http.StatusBadGateway, "login", st, pageData{Title: "Sign in", Data: loginView{},
			Notice: "We could not send the code. Please try again.", Values: map[string]string{"email": email}})
		return
	}
	p.render(w, r, http.StatusOK, "login", st, pageData{Title: "Enter your code", Data: loginView{CodeSent: true, Email: maskEmail(email)}})
}

// verifyCode checks the code; on success the user (created when new) is
// signed in, the intent's ownership checks run for them, and the browser
// goes on to the intent's page.
func (p *Portal) verifyCode(w http.ResponseWriter, r *http.Request, st *state) {
	if !p.readPageForm(w, r, st) {
		return
	}
	typed := strings.TrimSpace(r.PostForm.Get("code"))
	ctx := r.Context()
	a, err := p.svc.AttemptLoginCode(ctx, st.Browser.ID, typed)
	if errors.Is(err, connectd.ErrNotFound) {
		p.render(w, r, http.StatusUnprocessableEntity, "login", st, pageData{Title: "Sign in", Data: loginView{},
			Notice: "That code has expired or was tried too many times. Enter your email to get a new one."})
		return
	}
	if err != nil {
		p.fail(w, r, st.Session, err)
		return
	}
	if !a.OK {
		msg := fmt.Sprintf("That code is not right. %d attempts left.", a.AttemptsLeft)
		if a.AttemptsLeft <= 0 {
			msg = "That code is not right, and no attempts are left. Enter your email to get a new code."
		}
		p.render(w, r, http.StatusUnprocessableEntity, "login", st, pageData{Title: "Enter your code",
			Data: loginView{CodeSent: a.AttemptsLeft > 0, Email: maskEmail(a.Email)}, Errors: map[string]string{"code": msg}, Values: map[string]string{"code": typed}})
		return
	}
	err = p.svc.SignIn(ctx, st, a.Email)
	if e := httperr.Refusal(err); e != nil {
		// The signed-in user can't use this session: the session was made
		// for another user, or the intent's checks refuse them.
		p.logger.InfoContext(ctx, "signed-in user cannot use this session", "session", st.Session.ID, "code", e.Code)
		p.finish(w, r, st.Session, StatusBadConfiguration)
		return
	}
	if err != nil {
		p.fail(w, r, st.Session, err)
		return
	}
	redirect(w, r, destination(st.Session.Intent.Type))
}
