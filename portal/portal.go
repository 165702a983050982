// Package portal is the hosted Connect portal: the entry handoff that turns
// a session url into a browser session, hosted login, one page and one real
// action per intent, and the link back to the application.
//
// Pages are server-rendered with html/template, use one small stylesheet and
// no JavaScript, and act only on the objects bound to the browser's session:
// never on IDs taken from a form or the URL.
package portal

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/ratelimit"
	"github.com/connectd/connectd/service"
)

// Mailer sends hosted-login codes.
type Mailer interface {
	SendLoginCode(ctx context.Context, to, code string, project *connectd.Project) error
}

// Portal serves the hosted pages. It reads and changes state only through
// the service, and takes every time from the service's clock.
type Portal struct {
	svc    *service.Service
	mailer Mailer
	logger *slog.Logger
	// secure is true when the public URL is https: cookies are then Secure
	// and carry the __Host- prefix.
	secure bool
	// AddrLimiter limits entry (GET and POST /checkout/entry) and login
	// (POST /portal/login, /portal/login/code) per client address. nil: no
	// limit. Set it before serving.
	AddrLimiter *ratelimit.Limiter
	// TrustProxyHeaders takes the client address from the last
	// X-Forwarded-For entry instead of the connection's peer; see
	// ratelimit.ClientAddr.
	TrustProxyHeaders bool
}

// New returns the portal. svc.Platform must be set.
func New(svc *service.Service, mailer Mailer, logger *slog.Logger) *Portal {
	u, _ := url.Parse(svc.PublicURL)
	return &Portal{svc: svc, mailer: mailer, logger: logger, secure: u != nil && u.Scheme == "https"}
}

// now is the time of the service's clock: the portal has none of its own.
func (p *Portal) now() time.Time { return p.svc.Clock() }

// Register adds the portal's routes to mux. Every state-changing request
// is checked against cross-origin use (CSRF) with Go's
// http.CrossOriginProtection, on top of SameSite cookies.
func (p *Portal) Register(mux *http.ServeMux) {
	cop := http.NewCrossOriginProtection()
	// A refused cross-origin request gets a page like every other answer,
	// with the portal's headers, not the default plain text.
	cop.SetDenyHandler(portalHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.renderMessage(w, r, http.StatusForbidden, nil, messageCrossOrigin)
	})))
	handle := func(pattern string, h http.HandlerFunc) {
		mux.Handle(pattern, cop.Handler(portalHeaders(h)))
	}
	handle("GET /checkout/entry", p.limited(p.entryPage))
	handle("POST /checkout/entry", p.limited(p.enter))
	handle("GET /portal/static/portal.css", serveCSS)
	handle("POST /portal/exit", p.withSession(p.exit))
	handle("POST /portal/continue", p.withCompleted(p.continueToApp))
	handle("GET /portal/done", p.withCompleted(p.donePage))
	for _, rt := range routes {
		page := p.withSession(rt.guarded(p))
		if rt.limited {
			page = p.limited(page)
		}
		handle(rt.pattern, page)
	}
}

// limited refuses a request over the per-address limit with a plain 429
// page and Retry-After, before any database work.
func (p *Portal) limited(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if ok, wait := p.AddrLimiter.Allow(ratelimit.ClientAddr(r, p.TrustProxyHeaders)); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(ratelimit.RetryAfterSeconds(wait)))
			p.renderMessage(w, r, http.StatusTooManyRequests, nil, messageTooMany)
			return
		}
		h(w, r)
	}
}

// portalHeaders sets the headers of every portal response. The API's
// middleware already set the common security headers; pages get a policy
// that allows their own stylesheet and images, and nothing third-party.
func portalHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

// cookieName is the browser session cookie. The __Host- prefix needs
// Secure, which browsers only keep over https: on a plain-http public URL
// (development) the cookie goes without the prefix.
func (p *Portal) cookieName() string {
	if p.secure {
		return "__Host-connectd"
	}
	return "connectd"
}

func (p *Portal) setCookie(w http.ResponseWriter, secret string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{Name: p.cookieName(), Value: secret, Path: "/", Expires: expires,
		HttpOnly: true, Secure: p.secure, SameSite: http.SameSiteLaxMode})
}

// entryCookieName is the pre-consumption cookie: a random value the entry
// page gives the browser, which its confirming POST carries. The store keeps
// its hash with the consumption, so that the same browser's second POST (a
// double tap) is told from another browser's (a replay).
func (p *Portal) entryCookieName() string {
	return p.cookieName() + "_entry"
}

// entryCookie is the pre-consumption cookie the request carries, or "".
func (p *Portal) entryCookie(r *http.Request) string {
	if c, err := r.Cookie(p.entryCookieName()); err == nil && len(c.Value) == 43 {
		return c.Value
	}
	return ""
}

// setEntryCookie gives the browser its pre-consumption cookie, keeping the
// value it already has so that two tabs of one browser share it.
func (p *Portal) setEntryCookie(w http.ResponseWriter, r *http.Request) {
	v := p.entryCookie(r)
	if v == "" {
		v = newSecret()
	}
	http.SetCookie(w, &http.Cookie{Name: p.entryCookieName(), Value: v, Path: "/", MaxAge: int(connectd.EntryCookieTTL / time.Second),
		HttpOnly: true, Secure: p.secure, SameSite: http.SameSiteLaxMode})
}

func (p *Portal) clearEntryCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: p.entryCookieName(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: p.secure, SameSite: http.SameSiteLaxMode})
}

func (p *Portal) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: p.cookieName(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: p.secure, SameSite: http.SameSiteLaxMode})
}

// newSecret returns a random string, for a page's style nonce.
func newSecret() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// state is what a portal request acts on: everything comes from the
// browser session, nothing from the request. Browser is nil on the entry
// page, User until hosted login.
type state = service.PortalState

type stateHandler func(w http.ResponseWriter, r *http.Request, st *state)

// cookieSecret is the browser session secret the request's cookie holds.
func (p *Portal) cookieSecret(r *http.Request) string {
	if c, err := r.Cookie(p.cookieName()); err == nil {
		return c.Value
	}
	return ""
}

// browserSession returns the active browser session the request's cookie
// names, or nil.
func (p *Portal) browserSession(r *http.Request) (*connectd.BrowserSession, error) {
	return p.svc.BrowserSession(r.Context(), p.cookieSecret(r))
}

// withSession loads the request's state for a page of an active session,
// or answers auth_expired when the browser has no live session. A session
// that has ended shows where it ended instead.
func (p *Portal) withSession(h stateHandler) http.HandlerFunc {
	return p.withState(false, h)
}

// withCompleted is withSession for the pages after success.
func (p *Portal) withCompleted(h stateHandler) http.HandlerFunc {
	return p.withState(true, h)
}

func (p *Portal) withState(completed bool, h stateHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		st, err := p.loadState(r)
		if err != nil {
			p.fail(w, r, nil, err)
			return
		}
		if st == nil {
			p.renderMessage(w, r, http.StatusUnauthorized, nil, messageExpired)
			return
		}
		switch status := st.Session.Status(p.now()); {
		case status == connectd.StatusActive:
		case status == connectd.StatusCompleted && completed:
		case status == connectd.StatusCompleted:
			redirect(w, r, "/portal/done")
			return
		default:
			p.clearCookie(w)
			p.renderMessage(w, r, http.StatusConflict, nil, messageEnded)
			return
		}
		h(w, r, st)
	}
}

func (p *Portal) loadState(r *http.Request) (*state, error) {
	return p.svc.PortalState(r.Context(), p.cookieSecret(r))
}

// Link-back statuses, as documented.
const (
	StatusSuccess          = "success"
	StatusUserAborted      = "user_aborted"
	StatusAuthExpired      = "auth_expired"
	StatusBadConfiguration = "bad_configuration"
	StatusError            = "error"
)

// outcomeOf maps a link-back status to the session status it leaves.
func outcomeOf(linkStatus string) connectd.SessionStatus {
	switch linkStatus {
	case StatusSuccess:
		return connectd.StatusCompleted
	case StatusUserAborted:
		return connectd.StatusAborted
	}
	return connectd.StatusFailed
}

// finish ends the session with the outcome of linkStatus, then links back.
func (p *Portal) finish(w http.ResponseWriter, r *http.Request, sess *connectd.Session, linkStatus string) {
	ended, err := p.svc.FinishSession(r.Context(), sess.ID, outcomeOf(linkStatus))
	switch {
	case err == nil:
		sess = ended
	case errors.Is(err, connectd.ErrConflict):
		// Already ended (say, a second tab): link back with what it ended as.
		if ended != nil {
			sess = ended
		}
	default:
		p.fail(w, r, sess, err)
		return
	}
	p.clearCookie(w)
	p.linkBack(w, r, sess, linkStatus)
}

// linkBack sends the browser to the session's callbackUrl with session_id
// and status, or shows a page saying the window can be closed.
func (p *Portal) linkBack(w http.ResponseWriter, r *http.Request, sess *connectd.Session, linkStatus string) {
	if sess != nil && sess.CallbackURL != nil {
		target, err := connectd.AppendCallbackParams(*sess.CallbackURL, sess.ID, linkStatus)
		if err == nil {
			redirect(w, r, target)
			return
		}
	}
	msg := messageClosed
	switch linkStatus {
	case StatusAuthExpired:
		p.renderMessage(w, r, http.StatusUnauthorized, nil, messageExpired)
		return
	case StatusBadConfiguration:
		msg = messageBadConfiguration
	case StatusError:
		msg = messageError
	case StatusUserAborted:
		msg = messageAborted
	}
	p.renderMessage(w, r, http.StatusOK, nil, msg)
}

// fail logs an unexpected error and ends the session with status=error.
func (p *Portal) fail(w http.ResponseWriter, r *http.Request, sess *connectd.Session, err error) {
	p.logger.ErrorContext(r.Context(), "portal error", "err", err.Error())
	if sess == nil {
		p.renderMessage(w, r, http.StatusInternalServerError, nil, messageError)
		return
	}
	if _, ferr := p.svc.FinishSession(r.Context(), sess.ID, connectd.StatusFailed); ferr != nil && !errors.Is(ferr, connectd.ErrConflict) {
		p.logger.ErrorContext(r.Context(), "portal: finish failed session", "err", ferr.Error())
	}
	p.clearCookie(w)
	p.linkBack(w, r, sess, StatusError)
}

// exit is every page's way out: user_aborted.
func (p *Portal) exit(w http.ResponseWriter, r *http.Request, st *state) {
	p.finish(w, r, st.Session, StatusUserAborted)
}

// continueToApp is the Continue button after a successful action.
func (p *Portal) continueToApp(w http.ResponseWriter, r *http.Request, st *state) {
	if st.Session.Status(p.now()) != connectd.StatusCompleted {
		redirect(w, r, destination(st.Session.Intent.Type))
		return
	}
	p.clearCookie(w)
	p.linkBack(w, r, st.Session, StatusSuccess)
}

// succeed records the intended action as done and shows the page with the
// Continue button.
func (p *Portal) succeed(w http.ResponseWriter, r *http.Request, st *state) {
	if _, err := p.svc.FinishSession(r.Context(), st.Session.ID, connectd.StatusCompleted); err != nil && !errors.Is(err, connectd.ErrConflict) {
		p.fail(w, r, st.Session, err)
		return
	}
	redirect(w, r, "/portal/done")
}

func (p *Portal) donePage(w http.ResponseWriter, r *http.Request, st *state) {
	if st.Session.Status(p.now()) != connectd.StatusCompleted {
		redirect(w, r, destination(st.Session.Intent.Type))
		return
	}
	p.render(w, r, http.StatusOK, "done", st, pageData{Title: "Done"})
}

// destination is the page each intent opens on.
func destination(t connectd.IntentType) string {
	switch t {
	case connectd.IntentCancelSubscription, connectd.IntentResumeSubscription, connectd.IntentViewSubscription:
		return "/portal/subscription"
	case connectd.IntentChangeSubscription:
		return "/portal/change"
	case connectd.IntentCheckoutAddon:
		return "/portal/addons"
	case connectd.IntentCheckoutNewSubscription:
		return "/portal/checkout"
	case connectd.IntentCompletePorting:
		return "/portal/porting"
	case connectd.IntentConfirmPayment:
		return "/portal/payment"
	case connectd.IntentUpdatePaymentMethod:
		return "/portal/payment-methods"
	case connectd.IntentUpdateUserAddress:
		return "/portal/address"
	case connectd.IntentUpdateUserFullName:
		return "/portal/name"
	case connectd.IntentViewEsimInstallation:
		return "/portal/esim"
	case connectd.IntentViewSubscriptions:
		return "/portal/subscriptions"
	}
	return "/portal/done"
}

// maskEmail shows enough of an email for the user to recognise it:
// j•••@example.com.
func maskEmail(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at < 1 {
		return "•••"
	}
	return email[:1] + "•••" + email[at:]
}
