package portal

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/connectd/connectd"
)

// Hosted login limits.
const (
	loginCodeTTL         = 10 * time.Minute
	loginCodeMaxAttempts = 5
)

func init() {
	pageRoutes["GET /portal/login"] = (*Portal).loginPage
	pageRoutes["POST /portal/login"] = (*Portal).sendCode
	pageRoutes["POST /portal/login/code"] = (*Portal).verifyCode
}

// loginPage asks for the email of a session without a user.
func (p *Portal) loginPage(w http.ResponseWriter, r *http.Request, st *state) {
	if st.user != nil {
		http.Redirect(w, r, destination(st.session.Intent.Type), http.StatusSeeOther)
		return
	}
	p.render(w, r, http.StatusOK, "login", st, pageData{Title: "Sign in", Data: loginView{}})
}

type loginView struct {
	CodeSent bool
	Email    string
}

// sendCode sends a one-time code to the email the user typed.
func (p *Portal) sendCode(w http.ResponseWriter, r *http.Request, st *state) {
	if st.user != nil {
		http.Redirect(w, r, destination(st.session.Intent.Type), http.StatusSeeOther)
		return
	}
	if !st.project.Settings.HostedLogin {
		p.finish(w, r, st.session, StatusBadConfiguration)
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
	code := sixDigits()
	now := p.now()
	c := &connectd.LoginCode{BrowserSessionID: st.browser.ID, Email: email, CodeHash: codeHash(st.browser.ID, code),
		CreatedAt: now, ExpiresAt: now.Add(loginCodeTTL)}
	if err := p.store.PutLoginCode(r.Context(), c); err != nil {
		p.fail(w, r, st.session, err)
		return
	}
	if err := p.mailer.SendLoginCode(r.Context(), email, code, st.project); err != nil {
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
	if st.user != nil {
		http.Redirect(w, r, destination(st.session.Intent.Type), http.StatusSeeOther)
		return
	}
	if !p.readPageForm(w, r, st) {
		return
	}
	typed := strings.TrimSpace(r.PostForm.Get("code"))
	ctx := r.Context()
	c, err := p.store.AttemptLoginCode(ctx, st.browser.ID, p.now(), loginCodeMaxAttempts)
	if errors.Is(err, connectd.ErrNotFound) {
		p.render(w, r, http.StatusUnprocessableEntity, "login", st, pageData{Title: "Sign in", Data: loginView{},
			Notice: "That code has expired or was tried too many times. Enter your email to get a new one."})
		return
	}
	if err != nil {
		p.fail(w, r, st.session, err)
		return
	}
	if len(typed) != 6 || subtle.ConstantTimeCompare(codeHash(st.browser.ID, typed), c.CodeHash) != 1 {
		left := loginCodeMaxAttempts - c.Attempts
		msg := fmt.Sprintf("That code is not right. %d attempts left.", left)
		if left <= 0 {
			msg = "That code is not right, and no attempts are left. Enter your email to get a new code."
		}
		p.render(w, r, http.StatusUnprocessableEntity, "login", st, pageData{Title: "Enter your code",
			Data: loginView{CodeSent: left > 0, Email: maskEmail(c.Email)}, Errors: map[string]string{"code": msg}, Values: map[string]string{"code": typed}})
		return
	}
	if err := p.store.DeleteLoginCode(ctx, st.browser.ID); err != nil {
		p.fail(w, r, st.session, err)
		return
	}
	user, err := p.userFor(ctx, st.project.ID, c.Email)
	if err != nil {
		p.fail(w, r, st.session, err)
		return
	}
	// The intent's checks run for the signed-in user before the session is
	// theirs: a session must never let one user act on another's resource.
	if err := p.svc.CheckSessionUser(ctx, st.project, st.session, user.ID); err != nil {
		var e *connectd.Error
		if errors.As(err, &e) && e.Type != connectd.TypeInternal {
			p.logger.InfoContext(ctx, "signed-in user cannot use this session", "session", st.session.ID, "code", e.Code)
			p.finish(w, r, st.session, StatusBadConfiguration)
			return
		}
		p.fail(w, r, st.session, err)
		return
	}
	if err := p.store.SignIn(ctx, st.browser.ID, st.session.ID, user.ID, p.now()); err != nil {
		if errors.Is(err, connectd.ErrConflict) {
			// The session was made for another user than the one who signed in.
			p.finish(w, r, st.session, StatusBadConfiguration)
			return
		}
		p.fail(w, r, st.session, err)
		return
	}
	http.Redirect(w, r, destination(st.session.Intent.Type), http.StatusSeeOther)
}

// userFor returns the project's user with email, creating it when new:
// hosted login doubles as sign-up.
func (p *Portal) userFor(ctx context.Context, projectID, email string) (*connectd.User, error) {
	u, err := p.store.GetUserByEmail(ctx, projectID, email)
	if err == nil || !errors.Is(err, connectd.ErrNotFound) {
		return u, err
	}
	u = &connectd.User{ID: connectd.NewID(connectd.PrefixUser), ProjectID: projectID, Email: email,
		Metadata: map[string]string{}, CreatedAt: p.now()}
	err = p.store.CreateUser(ctx, u, connectd.Idem{})
	if errors.Is(err, connectd.ErrConflict) {
		return p.store.GetUserByEmail(ctx, projectID, email) // created concurrently
	}
	return u, err
}

func sixDigits() string {
	var b [8]byte
	rand.Read(b[:])
	return fmt.Sprintf("%06d", binary.LittleEndian.Uint64(b[:])%1_000_000)
}

// codeHash binds a code to its browser session, so that a stored hash is
// useless for any other browser.
func codeHash(browserID, code string) []byte {
	return connectd.HashToken(browserID + ":" + code)
}
