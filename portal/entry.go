package portal

import (
	"context"
	"errors"
	"net/http"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/service"
)

// entryPage answers GET /checkout/entry: it checks the session and token
// without consuming anything and shows whose account the link opens, with
// one button. Link unfurlers and mail scanners that only fetch the link
// cannot burn it.
//
// It also gives the browser its pre-consumption cookie (see entryCookie):
// the confirming POST carries it, which tells the same browser's second
// POST (a double tap) from another browser's.
func (p *Portal) entryPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sess, ok := p.checkLink(w, r, q.Get("session"), q.Get("token"), false)
	if !ok {
		return
	}
	p.setEntryCookie(w, r)
	project, err := p.svc.GetProject(r.Context(), sess.ProjectID)
	if err != nil {
		p.fail(w, r, nil, err)
		return
	}
	data := pageData{Title: "Continue", Hidden: map[string]string{"session": sess.ID, "token": q.Get("token")}}
	switch {
	case sess.UserID != nil:
		u, err := p.svc.GetUser(r.Context(), sess.ProjectID, *sess.UserID)
		if err != nil {
			p.fail(w, r, nil, err)
			return
		}
		data.Account = maskEmail(u.Email)
	case sess.UserDetails != nil:
		data.Account = maskEmail(sess.UserDetails.Email)
	}
	data.Action = actionText(sess.Intent.Type)
	p.render(w, r, http.StatusOK, "entry", &state{Session: sess, Project: project}, data)
}

// checkLink checks an entry link, for the entry page (consuming false) or
// its confirming POST (consuming true). When the link cannot be entered it
// answers (auth_expired, the "already used" page, or the destination for
// the browser that already entered it) and returns ok=false.
func (p *Portal) checkLink(w http.ResponseWriter, r *http.Request, id, token string, consuming bool) (*connectd.Session, bool) {
	if !connectd.ValidID(connectd.PrefixSession, id) || len(token) != 43 {
		p.renderMessage(w, r, http.StatusUnauthorized, nil, messageExpired)
		return nil, false
	}
	sess, tokenOK, err := p.svc.EntrySession(r.Context(), id, token)
	if errors.Is(err, connectd.ErrNotFound) {
		p.renderMessage(w, r, http.StatusUnauthorized, nil, messageExpired)
		return nil, false
	}
	if err != nil {
		p.fail(w, r, nil, err)
		return nil, false
	}
	if !tokenOK {
		p.linkBack(w, r, sess, StatusAuthExpired)
		return nil, false
	}
	if sess.TokenUsedAt != nil {
		// Used: in the browser that entered it the link goes on working.
		if bs, err := p.browserSession(r); err == nil && bs != nil && bs.SessionID == sess.ID {
			redirect(w, r, p.startPage(sess, bs))
			return nil, false
		}
		if !consuming {
			// Anywhere else a GET (a link scanner, a forwarded mail) only
			// learns that the link was used: it revokes nothing.
			p.renderMessage(w, r, http.StatusGone, nil, messageUsed)
			return nil, false
		}
		p.reenterOrRefuse(w, r, sess, token, true)
		return nil, false
	}
	if sess.Status(p.now()) != connectd.StatusOpen {
		p.linkBack(w, r, sess, StatusAuthExpired)
		return nil, false
	}
	return sess, true
}

// enter answers the confirmation page's POST: it consumes the token exactly
// once, creates the user of a userDetails session, starts a browser session
// and sends the browser on to the intent's page, on a URL without the token.
func (p *Portal) enter(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		p.renderMessage(w, r, http.StatusBadRequest, nil, messageExpired)
		return
	}
	id, token := r.PostForm.Get("session"), r.PostForm.Get("token")
	sess, ok := p.checkLink(w, r, id, token, true)
	if !ok {
		return
	}
	ctx := r.Context()
	project, err := p.svc.GetProject(ctx, sess.ProjectID)
	if err != nil {
		p.fail(w, r, nil, err)
		return
	}
	entry, err := p.svc.EnterSession(ctx, sess, token, p.entryCookie(r))
	switch {
	case errors.Is(err, connectd.ErrNotFound):
		// Another request consumed it between our check and our update:
		// this browser's first tap, or a racing browser, which is refused
		// as before without revoking the winner (it did not see a used
		// link).
		p.reenterOrRefuse(w, r, sess, token, false)
		return
	case errors.Is(err, connectd.ErrConflict):
		// The userDetails email was taken after the session was created.
		p.finish(w, r, sess, StatusError)
		return
	case err != nil:
		p.fail(w, r, sess, err)
		return
	}
	entered := entry.Session
	p.setCookie(w, entry.Secret, entry.Browser.ExpiresAt)
	p.clearEntryCookie(w)
	if reason := p.misconfigured(ctx, project, entered); reason != "" {
		p.logger.InfoContext(ctx, "session cannot work in this project", "session", entered.ID, "reason", reason)
		p.finish(w, r, entered, StatusBadConfiguration)
		return
	}
	redirect(w, r, p.startPage(entered, entry.Browser))
}

// reenterOrRefuse answers a consuming POST of a url that is already used.
// From the browser that consumed it (its pre-consumption cookie matches, a
// double tap) it lands where the first POST did, signed in with a browser
// session of its own. Any other browser gets auth_expired; with replay (it
// sent a url already seen used) that is a replay, which revokes every
// browser session the url opened.
func (p *Portal) reenterOrRefuse(w http.ResponseWriter, r *http.Request, sess *connectd.Session, token string, replay bool) {
	ctx := r.Context()
	entry, err := p.svc.ReenterSession(ctx, sess, token, p.entryCookie(r))
	if err == nil {
		p.setCookie(w, entry.Secret, entry.Browser.ExpiresAt)
		p.clearEntryCookie(w)
		redirect(w, r, p.startPage(entry.Session, entry.Browser))
		return
	}
	if !errors.Is(err, connectd.ErrNotFound) {
		p.logger.ErrorContext(ctx, "reenter session", "err", err.Error())
	}
	if replay {
		if err := p.svc.RecordReplay(ctx, sess.ID); err != nil {
			p.logger.ErrorContext(ctx, "record replay", "err", err.Error())
		}
		p.logger.WarnContext(ctx, "session url replayed in another browser (a consuming POST); its portal sessions are revoked", "session", sess.ID)
	}
	p.linkBack(w, r, sess, StatusAuthExpired)
}

// startPage is where an entered session goes: hosted login when no user is
// signed in yet, else the intent's destination.
func (p *Portal) startPage(sess *connectd.Session, bs *connectd.BrowserSession) string {
	if bs.UserID == nil {
		return "/portal/login"
	}
	return destination(sess.Intent.Type)
}

// misconfigured says why a session cannot work in its project, or "".
func (p *Portal) misconfigured(ctx context.Context, project *connectd.Project, sess *connectd.Session) string {
	if !project.Settings.IntentAllowed(sess.Intent.Type) {
		return "intent not available in billing mode"
	}
	if sess.UserID == nil && !project.Settings.HostedLogin {
		return "hosted login is off and the session has no user"
	}
	if sess.Intent.Type == connectd.IntentCompletePorting {
		return p.portingMisconfigured(ctx, project, sess)
	}
	return ""
}

// actionText says in plain words what the link lets the user do.
func actionText(t connectd.IntentType) string {
	switch t {
	case connectd.IntentCancelSubscription:
		return "cancel your subscription"
	case connectd.IntentChangeSubscription:
		return "change your plan or add data"
	case connectd.IntentCheckoutAddon:
		return "buy an add-on"
	case connectd.IntentCheckoutNewSubscription:
		return "buy a new subscription"
	case connectd.IntentCompletePorting:
		return "complete moving your phone number"
	case connectd.IntentConfirmPayment:
		return "confirm a payment"
	case connectd.IntentResumeSubscription:
		return "resume your subscription"
	case connectd.IntentUpdatePaymentMethod:
		return "update your payment method"
	case connectd.IntentUpdateUserAddress:
		return "update your address"
	case connectd.IntentUpdateUserFullName:
		return "update your name"
	case connectd.IntentViewEsimInstallation:
		return "install your eSIM"
	case connectd.IntentViewSubscription:
		return "see your subscription"
	case connectd.IntentViewSubscriptions:
		return "see your subscriptions"
	}
	return "continue"
}

// portingMisconfigured explains why a completePorting session cannot go on:
// its porting was declined and the user may not fix it (the code is not one
// a user can fix, or the project's portingRetry is off).
func (p *Portal) portingMisconfigured(ctx context.Context, project *connectd.Project, sess *connectd.Session) string {
	porting, err := p.waitingPorting(ctx, sess.ProjectID, sess.Intent.Subscription)
	if err != nil || porting == nil || porting.Status != connectd.PortingDeclined {
		return "" // faults and missing portings show on the porting page
	}
	code := ""
	if porting.DeclinedCode != nil {
		code = *porting.DeclinedCode
	}
	if !project.Settings.PortingRetry {
		return "porting declined and the project's portingRetry is off"
	}
	if !connectd.RetryableDeclinedCodes[code] {
		return "porting declined with a code the user cannot fix: " + code
	}
	return ""
}

// waitingPorting returns the newest porting of the subscription that waits
// for the user, or nil.
func (p *Portal) waitingPorting(ctx context.Context, projectID, subscriptionID string) (*connectd.Porting, error) {
	after := ""
	for {
		page, err := service.ResourcesOf[connectd.Porting](p.svc).List(ctx, projectID, connectd.PlatformFilter{Subscription: subscriptionID,
			ListParams: connectd.ListParams{Limit: connectd.MaxListLimit, After: after}})
		if err != nil {
			return nil, err
		}
		for _, pt := range page.Items {
			if pt.WaitingForUser() {
				return pt, nil
			}
		}
		if !page.MoreAfter || len(page.Items) == 0 {
			return nil, nil
		}
		after = page.Items[len(page.Items)-1].ID
	}
}
