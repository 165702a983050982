package service

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/connectd/connectd"
)

// The portal's flows: entry, the browser session, hosted login, and the end
// of a session. Every state change of the hosted portal happens here, so
// that one place sees them all; package portal only reads forms and renders
// pages.
//
// Store sentinels (connectd.ErrNotFound, connectd.ErrConflict) pass through
// where the portal answers them with a page of their own; other store
// errors are returned as they are and logged by the portal, which ends the
// session with status=error.

// Clock returns the current time of the service's one clock, in the
// precision the stores keep. The portal decides every expiry with it.
func (s *Service) Clock() time.Time { return s.now() }

// Hosted login limits.
const (
	LoginCodeTTL         = 10 * time.Minute
	LoginCodeMaxAttempts = 5
)

// EntrySession returns the session an entry url names, by ID alone (the url
// names no project), and whether token is its entry token. ErrNotFound
// when there is no such session. An expired session has lost its token
// hash: its token never matches.
func (s *Service) EntrySession(ctx context.Context, id, token string) (sess *connectd.Session, tokenOK bool, err error) {
	sess, err = s.Store.LookupSession(ctx, id)
	if err != nil {
		return nil, false, err
	}
	tokenOK = sess.TokenHash != nil && subtle.ConstantTimeCompare(sess.TokenHash, connectd.HashToken(token)) == 1
	return sess, tokenOK, nil
}

// RecordReplay notes that the used url of session id was confirmed (a
// consuming POST) in another browser, which revokes every browser session it
// opened: the session reads expired from then on. It runs even when the
// client went away.
func (s *Service) RecordReplay(ctx context.Context, sessionID string) error {
	s.Metrics.Replayed()
	return s.Store.RecordReplay(context.WithoutCancel(ctx), sessionID, s.now())
}

// Entry is what entering a session started: the session as entered, the
// browser session, and the secret for the browser's cookie (only its hash
// is stored).
type Entry struct {
	Session *connectd.Session
	Browser *connectd.BrowserSession
	Secret  string
}

// newBrowser returns a new browser session starting at now for userID, and
// the secret of its cookie.
func newBrowser(now time.Time, userID *string) (*connectd.BrowserSession, string) {
	secret := newSecret()
	return &connectd.BrowserSession{ID: connectd.NewID(connectd.PrefixBrowserSession), SecretHash: connectd.HashToken(secret),
		UserID: userID, CreatedAt: now, ExpiresAt: now.Add(connectd.BrowserSessionTTL)}, secret
}

// entryBinding is the stored form of a pre-consumption cookie: its SHA-256,
// or nil when the browser sent none (or one no browser of ours was given).
func entryBinding(cookie string) []byte {
	if cookie == "" || len(cookie) > 100 {
		return nil
	}
	return connectd.HashToken(cookie)
}

// EnterSession consumes sess's token exactly once and, in the store's one
// transaction, starts a browser session, creates the user of a userDetails
// session and records the hash of binding, the pre-consumption cookie the
// confirming browser sent ("" for none). ErrNotFound when another request
// consumed the token first; ErrConflict when the userDetails email was
// taken meanwhile.
func (s *Service) EnterSession(ctx context.Context, sess *connectd.Session, token, binding string) (*Entry, error) {
	now := s.now()
	bs, secret := newBrowser(now, sess.UserID)
	var newUser *connectd.User
	if d := sess.UserDetails; d != nil && sess.UserID == nil {
		newUser = s.newUser(sess.ProjectID, UserInput{Email: &d.Email, FullName: d.FullName, Birthday: d.Birthday,
			PreferredLocale: d.PreferredLocale, Metadata: d.Metadata})
		bs.UserID = &newUser.ID
	}
	entered, err := s.Store.EnterSession(ctx, connectd.EnterParams{SessionID: sess.ID, TokenHash: connectd.HashToken(token),
		Now: now, Browser: bs, NewUser: newUser, EntryBinding: entryBinding(binding)})
	if err != nil {
		return nil, err
	}
	s.Metrics.TokenConsumed()
	return &Entry{Session: entered, Browser: bs, Secret: secret}, nil
}

// ReenterSession answers a second confirmation of a used url from the
// browser that consumed it (a double tap on "Continue": its second POST left
// before the first answer's cookie was stored). When binding is the
// pre-consumption cookie recorded with the consumption, the url was consumed
// less than connectd.EntryRebindWindow ago and the session's portal is still
// live, the store starts another browser session for it, in one
// transaction. ErrNotFound otherwise: the caller treats the POST as a replay.
func (s *Service) ReenterSession(ctx context.Context, sess *connectd.Session, token, binding string) (*Entry, error) {
	now := s.now()
	bs, secret := newBrowser(now, nil)
	entered, err := s.Store.ReenterSession(ctx, connectd.EnterParams{SessionID: sess.ID, TokenHash: connectd.HashToken(token),
		Now: now, Browser: bs, EntryBinding: entryBinding(binding)})
	if err != nil {
		return nil, err
	}
	return &Entry{Session: entered, Browser: bs, Secret: secret}, nil
}

// PortalState is what a signed-in portal request acts on: everything comes
// from the browser session, nothing from the request.
type PortalState struct {
	Browser *connectd.BrowserSession
	Session *connectd.Session
	Project *connectd.Project
	User    *connectd.User // nil until hosted login
}

// Actor is who acts in the signed-in user's actions.
func (st *PortalState) Actor() Actor {
	return Actor{ProjectID: st.Project.ID, UserID: st.User.ID, BrowserID: st.Browser.ID}
}

// BrowserSession returns the active browser session whose cookie holds
// secret, or nil when there is none.
func (s *Service) BrowserSession(ctx context.Context, secret string) (*connectd.BrowserSession, error) {
	if secret == "" || len(secret) > 100 {
		return nil, nil
	}
	bs, err := s.Store.GetBrowserSession(ctx, connectd.HashToken(secret))
	if errors.Is(err, connectd.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !bs.Active(s.now()) {
		return nil, nil
	}
	return bs, nil
}

// PortalState returns the state of the active browser session whose cookie
// holds secret, or nil when there is none.
func (s *Service) PortalState(ctx context.Context, secret string) (*PortalState, error) {
	bs, err := s.BrowserSession(ctx, secret)
	if err != nil || bs == nil {
		return nil, err
	}
	sess, err := s.Store.GetSession(ctx, bs.ProjectID, bs.SessionID)
	if err != nil {
		return nil, err
	}
	project, err := s.GetProject(ctx, bs.ProjectID)
	if err != nil {
		return nil, err
	}
	st := &PortalState{Browser: bs, Session: sess, Project: project}
	if bs.UserID != nil {
		if st.User, err = s.Store.GetUser(ctx, bs.ProjectID, *bs.UserID); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// SendLoginCode stores a new one-time code for email, replacing any
// earlier code of the browser session, and returns it for the mailer.
func (s *Service) SendLoginCode(ctx context.Context, browserID, email string) (string, error) {
	code := sixDigits()
	now := s.now()
	c := &connectd.LoginCode{BrowserSessionID: browserID, Email: email, CodeHash: codeHash(browserID, code),
		CreatedAt: now, ExpiresAt: now.Add(LoginCodeTTL)}
	if err := s.Store.PutLoginCode(ctx, c); err != nil {
		return "", err
	}
	return code, nil
}

// LoginAttempt is the outcome of a code typed at hosted login.
type LoginAttempt struct {
	// Email is the address the code was sent to.
	Email string
	// OK is true when the code was right; the code is then used up.
	OK bool
	// AttemptsLeft counts the tries the code has left when it was wrong.
	AttemptsLeft int
}

// AttemptLoginCode counts one attempt at the browser session's code and
// checks typed against it. ErrNotFound when the code expired or was tried
// too many times.
func (s *Service) AttemptLoginCode(ctx context.Context, browserID, typed string) (LoginAttempt, error) {
	c, err := s.Store.AttemptLoginCode(ctx, browserID, s.now(), LoginCodeMaxAttempts)
	if err != nil {
		return LoginAttempt{}, err
	}
	a := LoginAttempt{Email: c.Email, AttemptsLeft: LoginCodeMaxAttempts - c.Attempts}
	if len(typed) != 6 || subtle.ConstantTimeCompare(codeHash(browserID, typed), c.CodeHash) != 1 {
		return a, nil
	}
	if err := s.Store.DeleteLoginCode(ctx, browserID); err != nil {
		return LoginAttempt{}, err
	}
	a.OK = true
	return a, nil
}

// SignIn signs the user with email (created when new: hosted login
// doubles as sign-up) into the browser session and, when it names none,
// the Connect Session. The intent's checks run for that user first: a
// session must never let one user act on another's resource. A refusal
// (a *connectd.Error) means the session can't be used by this user.
func (s *Service) SignIn(ctx context.Context, st *PortalState, email string) error {
	user, err := s.userByEmail(ctx, st.Project.ID, email)
	if err != nil {
		return err
	}
	if err := s.CheckSessionUser(ctx, st.Project, st.Session, user.ID); err != nil {
		return err
	}
	err = s.Store.SignIn(ctx, st.Browser.ID, st.Session.ID, user.ID, s.now())
	if errors.Is(err, connectd.ErrConflict) {
		return connectd.Errorf(connectd.TypeConflict, "sessionUserMismatch", "This session was made for another user.")
	}
	return err
}

// userByEmail returns the project's user with email, creating it through
// CreateUser when new.
func (s *Service) userByEmail(ctx context.Context, projectID, email string) (*connectd.User, error) {
	u, err := s.Store.GetUserByEmail(ctx, projectID, email)
	if !errors.Is(err, connectd.ErrNotFound) {
		return u, err
	}
	u, err = s.CreateUser(ctx, projectID, UserInput{Email: &email}, nil)
	var e *connectd.Error
	if errors.As(err, &e) && e.Type == connectd.TypeConflict {
		return s.Store.GetUserByEmail(ctx, projectID, email) // created concurrently
	}
	return u, err
}

// FinishSession ends session id with status (completed, aborted or
// failed) and counts the outcome. ErrConflict when it had already ended;
// the stored session is returned with it. It runs even when the client
// went away.
func (s *Service) FinishSession(ctx context.Context, id string, status connectd.SessionStatus) (*connectd.Session, error) {
	ended, err := s.Store.FinishSession(context.WithoutCancel(ctx), id, status, s.now())
	if err == nil {
		s.Metrics.SessionEnded(status)
	}
	return ended, err
}

func newSecret() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
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
