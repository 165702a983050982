package connectd

import (
	"context"
	"time"
)

// BrowserSessionTTL is how long a portal browser session lasts after the
// url was opened: the second of the two clocks (the first is the project's
// sessionTTL, within which the url must be opened).
const BrowserSessionTTL = 60 * time.Minute

// EntryCookieTTL is how long the pre-consumption cookie the entry page sets
// lives: the browser that loaded the entry page presents it with its
// confirming POST.
const EntryCookieTTL = 15 * time.Minute

// EntryRebindWindow is how long after the url was consumed the browser that
// consumed it (the same pre-consumption cookie) may confirm again and get a
// browser session of its own: a double tap on "Continue" sends a second POST
// before the first answer's cookie is stored.
const EntryRebindWindow = 2 * time.Minute

// PrefixBrowserSession prefixes browser session IDs.
const PrefixBrowserSession = "bss"

// BrowserSession is the portal's sign-in of one browser for one Connect
// Session. The browser holds a random secret in a cookie; only its SHA-256
// is stored.
type BrowserSession struct {
	ID         string
	ProjectID  string
	SessionID  string
	UserID     *string // nil until hosted login signs the user in
	SecretHash []byte
	CreatedAt  time.Time
	ExpiresAt  time.Time
	RevokedAt  *time.Time
}

// Active reports whether the browser session may still be used at now.
func (b *BrowserSession) Active(now time.Time) bool {
	return b.RevokedAt == nil && now.Before(b.ExpiresAt)
}

// EnterParams is the consuming POST of an entry link.
type EnterParams struct {
	SessionID string
	TokenHash []byte
	Now       time.Time
	// Browser is inserted with the consumption, in the same transaction.
	// The store sets its ProjectID and SessionID.
	Browser *BrowserSession
	// NewUser, when the session was created with userDetails, is the user
	// to create in the same transaction; the session then names it. The
	// store sets its ProjectID.
	NewUser *User
	// EntryBinding is the SHA-256 of the pre-consumption cookie the
	// confirming browser sent (nil when it sent none). EnterSession records
	// it with the consumption; ReenterSession requires it to match.
	EntryBinding []byte
}

// LoginCode is a hosted-login one-time code sent to Email for a browser
// session. Only its SHA-256 is stored.
type LoginCode struct {
	BrowserSessionID string
	Email            string
	CodeHash         []byte
	Attempts         int
	CreatedAt        time.Time
	ExpiresAt        time.Time
}

// PortalStore keeps what the hosted portal needs beyond Store. Both
// backends implement it.
type PortalStore interface {
	// LookupSession returns a session by ID alone: the entry url names no
	// project.
	LookupSession(ctx context.Context, id string) (*Session, error)
	// EnterSession consumes the session's token exactly as ConsumeToken
	// does (one atomic conditional update, exactly one winner across
	// instances) and, in the same transaction, creates p.NewUser (setting
	// the session's user to it) and inserts p.Browser. ErrNotFound when the
	// token is unknown, used or expired; ErrConflict when NewUser's email is
	// taken (nothing is written then).
	EnterSession(ctx context.Context, p EnterParams) (*Session, error)
	// ReenterSession starts another browser session (p.Browser) for a
	// session whose url was already consumed by the same browser: in one
	// conditional update, the token hash must match, the session be active
	// with a live browser session (PortalUntil after p.Now), consumed less
	// than EntryRebindWindow before p.Now, and p.EntryBinding (not empty)
	// equal the binding recorded by EnterSession. The store sets p.Browser's
	// ProjectID, SessionID and UserID (the session's user) and extends
	// PortalUntil to its expiry. ErrNotFound when a condition fails (nothing
	// is written: the caller treats it as a replay).
	ReenterSession(ctx context.Context, p EnterParams) (*Session, error)
	// GetBrowserSession finds a browser session by the hash of its secret.
	GetBrowserSession(ctx context.Context, secretHash []byte) (*BrowserSession, error)
	// RecordReplay notes that the used url of session id was confirmed in
	// another browser, and revokes every browser session it opened: the
	// session's PortalUntil becomes now (when later), so that it reads
	// expired from then on.
	RecordReplay(ctx context.Context, sessionID string, now time.Time) error
	// SignIn sets the user of a browser session and, when the Connect
	// Session has none, of the session too, in one transaction.
	// ErrConflict when the Connect Session already names another user.
	SignIn(ctx context.Context, browserID, sessionID, userID string, now time.Time) error
	// FinishSession ends a session with status (completed, aborted or
	// failed): from active while its PortalUntil is after now, or from open
	// for a session that fails before it is entered. ErrConflict when it has already ended (the stored session
	// is returned with the error's Status unchanged).
	FinishSession(ctx context.Context, sessionID string, status SessionStatus, now time.Time) (*Session, error)
	// PutLoginCode stores c, replacing any earlier code of its browser
	// session.
	PutLoginCode(ctx context.Context, c *LoginCode) error
	// AttemptLoginCode counts one attempt at the browser session's code and
	// returns the code, atomically, while it is unexpired at now and has
	// fewer than maxAttempts attempts; else ErrNotFound.
	AttemptLoginCode(ctx context.Context, browserID string, now time.Time, maxAttempts int) (*LoginCode, error)
	// DeleteLoginCode removes the browser session's code (after success).
	DeleteLoginCode(ctx context.Context, browserID string) error
}
