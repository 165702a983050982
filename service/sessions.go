package service

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/connectd/connectd"
)

// CreateSessionInput is a create request whose shape package api checked:
// types and formats. CreateSession checks the callbackUrl itself.
type CreateSessionInput struct {
	CallbackURL *string
	Intent      connectd.Intent
	Appearance  *connectd.Appearance
	UserID      *string
	UserDetails *connectd.UserDetails
	// Problems are the shape problems package api found: the fields they
	// name are left unset, and CreateSession answers them in one 422 with
	// the reference problems of the other fields (problems.go).
	Problems []connectd.FieldError
}

// SessionResult is a session and, when the answer carries one, its url.
// URL holds a live token: never log it.
type SessionResult struct {
	Session *connectd.Session
	URL     string
}

// CheckCallbackURL checks a session's callbackUrl against the URL rules
// and project p's allow-list. CreateSession and UpdateSession enforce it,
// whoever calls them; package api calls it as well, to report a bad
// callbackUrl in one answer with the body's other problems.
func CheckCallbackURL(p *connectd.Project, raw string) *connectd.FieldError {
	return connectd.CheckCallbackURL("callbackUrl", raw, p.Settings.CallbackAllowList)
}

// checkCallback is CheckCallbackURL as the 422 answer; no callbackUrl is fine.
func checkCallback(p *connectd.Project, raw *string) error {
	if raw == nil {
		return nil
	}
	if fe := CheckCallbackURL(p, *raw); fe != nil {
		return connectd.ValidationError([]connectd.FieldError{*fe})
	}
	return nil
}

// CreateSession creates a session in project p. With idem, a retry of the
// same request returns the same session with a freshly minted url.
func (s *Service) CreateSession(ctx context.Context, p *connectd.Project, in CreateSessionInput, idem *Idempotency) (res SessionResult, err error) {
	if len(in.Problems) > 0 {
		return res, s.checkCreate(ctx, p, in) // a refusal, whatever else it finds
	}
	if err := checkCallback(p, in.CallbackURL); err != nil {
		return res, err
	}
	var held connectd.Idem
	if idem != nil {
		// Not "id, held, err :=": that err would shadow the named result
		// the deferred release below must see.
		var id string
		var cerr error
		id, held, cerr = s.claim(ctx, p.ID, *idem)
		if cerr != nil {
			return res, cerr
		}
		if id != "" {
			idem.Replayed = true
			return s.replayCreate(ctx, p.ID, id)
		}
		defer func() {
			if err != nil {
				s.release(ctx, held)
			}
		}()
	}

	if err := s.checkCreate(ctx, p, in); err != nil {
		return res, err
	}
	if in.UserID != nil {
		// userDetails that came with user were checked against that user
		// (checkUser); the session is for the existing user, nothing is
		// created at entry.
		in.UserDetails = nil
	}
	now := s.now()
	token, hash := connectd.NewToken()
	sess := &connectd.Session{
		ID:           connectd.NewID(connectd.PrefixSession),
		ProjectID:    p.ID,
		CallbackURL:  in.CallbackURL,
		Intent:       in.Intent,
		Appearance:   in.Appearance,
		UserID:       in.UserID,
		UserDetails:  in.UserDetails,
		StoredStatus: connectd.StatusOpen,
		TokenHash:    hash,
		CreatedAt:    now,
		ExpiresAt:    now.Add(time.Duration(p.Settings.SessionTTL)),
		UpdatedAt:    now,
	}
	if err := s.Store.CreateSession(ctx, sess, held); err != nil {
		if idem != nil && errors.Is(err, connectd.ErrConflict) {
			// Our lease lapsed and a retry took the key over: it answers.
			return res, errKeyInUse()
		}
		return res, s.internal(ctx, "create session", err)
	}
	s.Metrics.SessionCreated(sess.Intent.Type)
	return SessionResult{Session: sess, URL: s.EntryURL(sess.ID, token)}, nil
}

// replayCreate answers a retried create: the same session with a new url,
// since the first token was never stored in clear. A session that was
// entered or ended meanwhile keeps its state and gets no url.
func (s *Service) replayCreate(ctx context.Context, projectID, id string) (SessionResult, error) {
	token, hash := connectd.NewToken()
	sess, err := s.Store.RotateToken(ctx, projectID, id, hash, s.now())
	if err == nil {
		return SessionResult{Session: sess, URL: s.EntryURL(sess.ID, token)}, nil
	}
	if !errors.Is(err, connectd.ErrConflict) {
		return SessionResult{}, s.internal(ctx, "rotate token", err)
	}
	sess, err = s.Store.GetSession(ctx, projectID, id)
	if err != nil {
		return SessionResult{}, s.internal(ctx, "get replayed session", err)
	}
	return SessionResult{Session: sess}, nil
}

// checkCreate runs the rules that need the project or the database, and
// answers every problem they and the shape (in.Problems) found at once.
func (s *Service) checkCreate(ctx context.Context, p *connectd.Project, in CreateSessionInput) error {
	fp := fieldProblems{shape: in.Problems}
	allowed := p.Settings.IntentAllowed(in.Intent.Type)
	if !allowed {
		fp.add(&connectd.Error{Type: connectd.TypeUnprocessable, Code: "intentNotAvailable",
			Message: "Intent " + string(in.Intent.Type) + " is not available for projects in billing mode; only completePorting and viewEsimInstallation are.",
			Details: []connectd.FieldError{{Field: "intent.type", Code: "notAvailable", Message: "not available in billing mode"}}})
	}
	fp.add(s.checkUser(ctx, p.ID, in.UserID, in.UserDetails))
	if allowed && in.Intent.Type.Valid() {
		fp.add(s.checkIntent(ctx, p, in.Intent, in.UserID, in.UserDetails))
	}
	return s.internalIfFault(ctx, fp.err())
}

// internalIfFault turns a database fault from a check into the opaque 500
// (logged); refusals pass through.
func (s *Service) internalIfFault(ctx context.Context, err error) error {
	var e *connectd.Error
	if err == nil || errors.As(err, &e) {
		return err
	}
	return s.internal(ctx, "check intent", err)
}

// checkUser checks that a referenced user exists, and that userDetails do
// not name an email a user of the project already has. Given together
// (issue 10.1), user names the user and userDetails must agree with it: see
// checkDetailsAgree.
func (s *Service) checkUser(ctx context.Context, projectID string, userID *string, details *connectd.UserDetails) error {
	if userID != nil {
		u, err := s.Store.GetUser(ctx, projectID, *userID)
		if errors.Is(err, connectd.ErrNotFound) {
			return connectd.ValidationError([]connectd.FieldError{{Field: "user", Code: "notFound", Message: "no user " + *userID + " exists in this project"}})
		}
		if err != nil {
			return s.internal(ctx, "get user", err)
		}
		if details != nil {
			if fes := checkDetailsAgree(u, details); len(fes) > 0 {
				return connectd.ValidationError(fes)
			}
		}
		return nil
	}
	if details != nil {
		_, err := s.Store.GetUserByEmail(ctx, projectID, details.Email)
		if err == nil {
			return &connectd.Error{Type: connectd.TypeConflict, Code: "userEmailExists",
				Message: "A user with this email already exists in the project; pass its ID as user instead.",
				Details: []connectd.FieldError{{Field: "userDetails.email", Code: "alreadyExists", Message: "a user with this email already exists"}}}
		}
		if !errors.Is(err, connectd.ErrNotFound) {
			return s.internal(ctx, "get user by email", err)
		}
	}
	return nil
}

// checkDetailsAgree compares userDetails sent together with user against
// that user. The email must be the user's (case-insensitively, like the
// email unique key). Every other field the user already has must hold the
// same value: a different one is refused, naming the field, rather than
// overwriting the user silently or ignoring what the client asked for. A
// field the user lacks is neither refused nor stored (docs/contract.md,
// Issue 10.1).
func checkDetailsAgree(u *connectd.User, d *connectd.UserDetails) []connectd.FieldError {
	var fes []connectd.FieldError
	differ := func(field, what string) {
		fes = append(fes, connectd.FieldError{Field: field, Code: "doesNotMatchUser",
			Message: "differs from the " + what + " of user " + u.ID + "; change the user instead"})
	}
	if connectd.NormalizeEmail(d.Email) != connectd.NormalizeEmail(u.Email) {
		differ("userDetails.email", "email")
	}
	str := func(field, what string, got, have *string) {
		if got != nil && have != nil && *got != *have {
			differ(field, what)
		}
	}
	str("userDetails.fullName", "full name", d.FullName, u.FullName)
	str("userDetails.birthday", "birthday", d.Birthday, u.Birthday)
	str("userDetails.preferredLocale", "preferred locale", d.PreferredLocale, u.PreferredLocale)
	keys := make([]string, 0, len(d.Metadata))
	for k := range d.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if have, ok := u.Metadata[k]; ok && have != d.Metadata[k] {
			differ("userDetails.metadata."+k, "metadata")
		}
	}
	return fes
}

// GetSession returns session id of project p.
func (s *Service) GetSession(ctx context.Context, projectID, id string) (*connectd.Session, error) {
	sess, err := s.Store.GetSession(ctx, projectID, id)
	if errors.Is(err, connectd.ErrNotFound) {
		return nil, sessionNotFound(id)
	}
	if err != nil {
		return nil, s.internal(ctx, "get session", err)
	}
	return sess, nil
}

func sessionNotFound(id string) error {
	return connectd.Errorf(connectd.TypeNotFound, "connectSessionNotFound", "No connect session %s exists in this project.", nameID(connectd.PrefixSession, id))
}

// ListSessions lists the sessions of a project, newest first.
func (s *Service) ListSessions(ctx context.Context, projectID string, f connectd.SessionFilter) (connectd.Page[*connectd.Session], error) {
	f.Now = s.now()
	page, err := s.Store.ListSessions(ctx, projectID, f)
	if errors.Is(err, connectd.ErrCursorNotFound) {
		return page, cursorNotFound(f.ListParams)
	}
	if err != nil {
		return page, s.internal(ctx, "list sessions", err)
	}
	return page, nil
}

// cursorNotFound answers a list whose after or before names no object of
// the list (issue 10.8): a client whose cursor was purged learns it rather
// than reading the first page again.
func cursorNotFound(p connectd.ListParams) error {
	field, id := "after", p.After
	if p.Before != "" {
		field, id = "before", p.Before
	}
	return connectd.ValidationError([]connectd.FieldError{{Field: field, Code: "cursorNotFound",
		Message: fmt.Sprintf("names no object of this list (%s); start again from the first page", id)}})
}

// UpdateSessionInput is a PATCH whose shape package api checked; the
// callbackUrl is checked by UpdateSession.
type UpdateSessionInput struct {
	CallbackURL *string
	UserID      *string
	UserDetails *connectd.UserDetails
	// Problems: as in CreateSessionInput.
	Problems []connectd.FieldError
}

// UpdateSession applies a PATCH. Associating a user mints a new token (the
// old url dies) and answers with the new url; any other change answers
// without one and leaves the url working.
func (s *Service) UpdateSession(ctx context.Context, p *connectd.Project, id string, in UpdateSessionInput) (SessionResult, error) {
	if err := checkCallback(p, in.CallbackURL); err != nil && len(in.Problems) == 0 {
		return SessionResult{}, err
	}
	cur, err := s.GetSession(ctx, p.ID, id)
	if err != nil {
		return SessionResult{}, err
	}
	now := s.now()
	// A body with field problems is answered for them; the session's own
	// state (409) once the body is right.
	if err := checkPatchable(cur, in, now); err != nil && len(in.Problems) == 0 {
		return SessionResult{}, err
	}
	fp := fieldProblems{shape: in.Problems}
	fp.add(s.checkUser(ctx, p.ID, in.UserID, in.UserDetails))
	if in.UserID != nil || in.UserDetails != nil {
		// The session gains a user: what its intent references must be
		// that user's, exactly as if the session had been created for them.
		fp.add(s.checkIntent(ctx, p, cur.Intent, in.UserID, in.UserDetails))
	}
	if err := s.internalIfFault(ctx, fp.err()); err != nil {
		return SessionResult{}, err
	}
	if in.UserID != nil {
		in.UserDetails = nil // checked against the user by checkUser
	}
	u := connectd.SessionUpdate{CallbackURL: in.CallbackURL, UserID: in.UserID, UserDetails: in.UserDetails, Now: now}
	var token string
	if u.Associates() {
		token, u.TokenHash = connectd.NewToken()
	}
	sess, err := s.Store.UpdateSession(ctx, p.ID, id, u)
	switch {
	case errors.Is(err, connectd.ErrNotFound):
		return SessionResult{}, sessionNotFound(id)
	case errors.Is(err, connectd.ErrConflict):
		// The session changed between our read and the conditional write
		// (say, a concurrent PATCH associated a user): explain from a fresh read.
		if cur, err := s.GetSession(ctx, p.ID, id); err == nil {
			if err := checkPatchable(cur, in, s.now()); err != nil {
				return SessionResult{}, err
			}
		}
		return SessionResult{}, connectd.Errorf(connectd.TypeConflict, "connectSessionNotPatchable", "Connect session %s changed while it was being updated; retrieve it and retry.", id)
	case err != nil:
		return SessionResult{}, s.internal(ctx, "update session", err)
	}
	res := SessionResult{Session: sess}
	if token != "" {
		res.URL = s.EntryURL(sess.ID, token)
	}
	return res, nil
}

func checkPatchable(cur *connectd.Session, in UpdateSessionInput, now time.Time) error {
	if st := cur.Status(now); st != connectd.StatusOpen {
		return connectd.Errorf(connectd.TypeConflict, "connectSessionNotOpen", "Connect session %s is %s; only open sessions can be updated.", cur.ID, st)
	}
	if (in.UserID != nil || in.UserDetails != nil) && cur.HasUser() {
		field := "user"
		if in.UserID == nil {
			field = "userDetails"
		}
		return &connectd.Error{Type: connectd.TypeConflict, Code: "connectSessionHasUser",
			Message: "Connect session " + cur.ID + " is already associated with a user; user and userDetails can only be set on a session without one.",
			Details: []connectd.FieldError{{Field: field, Code: "alreadySet", Message: "the session already has a user"}}}
	}
	return nil
}

// ExpireSession ends a session's url now: an open or active session (or
// one already expired, answered as it is) comes back expired; a session
// that ended as completed, aborted or failed is refused with 409
// connectSessionNotOpen naming its status. Expiring is idempotent by nature;
// an Idempotency-Key is still honoured so that the same key with another
// request is refused, as on every POST, and the store completes it in the
// transaction that expires the session.
func (s *Service) ExpireSession(ctx context.Context, projectID, id string, idem *Idempotency) (*connectd.Session, error) {
	replay := func(prev string) (*connectd.Session, error) { return s.GetSession(ctx, projectID, prev) }
	return idempotent(ctx, s, projectID, idem, replay, func(held connectd.Idem) (*connectd.Session, error) {
		now := s.now()
		// For the metrics: whether this call is the one that ends the
		// session. A session already ended comes back unchanged, with its
		// old update time; one this call expired comes back with now.
		live := false
		if s.Metrics != nil {
			if cur, err := s.Store.GetSession(ctx, projectID, id); err == nil {
				live = cur.StoredStatus == connectd.StatusOpen || cur.StoredStatus == connectd.StatusActive
			}
		}
		sess, err := s.Store.ExpireSession(ctx, projectID, id, now, held)
		switch {
		case errors.Is(err, connectd.ErrNotFound):
			return nil, sessionNotFound(id)
		case errors.Is(err, connectd.ErrClaimLost):
			return nil, err // idempotent answers it
		case err != nil:
			return nil, s.internal(ctx, "expire session", err)
		}
		if sess.Ended() {
			// The store's one conditional update left it as it was: it had
			// already ended with an outcome, which expiring must not hide.
			// The store completed no claim for it: the 409 is not remembered.
			return nil, sessionNotExpirable(sess)
		}
		if live && sess.StoredStatus == connectd.StatusExpired && sess.UpdatedAt.Equal(now) {
			s.Metrics.SessionEnded(connectd.StatusExpired)
		}
		return sess, nil
	})
}

// sessionNotExpirable is the 409 for expiring a session that already ended
// as completed, aborted or failed. An expired session is not refused:
// expiring it again answers 200 with the session as it is, so that a
// retried expire succeeds.
func sessionNotExpirable(sess *connectd.Session) error {
	return connectd.Errorf(connectd.TypeConflict, "connectSessionNotOpen",
		"Connect session %s is %s; only open or active sessions can be expired.", sess.ID, sess.StoredStatus)
}
