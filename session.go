package connectd

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"time"
)

// SessionStatus is where a session is in its life.
type SessionStatus string

const (
	StatusOpen      SessionStatus = "open"      // created, not entered yet
	StatusActive    SessionStatus = "active"    // entered in a browser
	StatusCompleted SessionStatus = "completed" // the intended action succeeded
	StatusAborted   SessionStatus = "aborted"   // the user left
	StatusFailed    SessionStatus = "failed"    // bad configuration or error
	StatusExpired   SessionStatus = "expired"   // its url can no longer be opened
)

// SessionStatuses lists every status.
var SessionStatuses = []SessionStatus{StatusOpen, StatusActive, StatusCompleted, StatusAborted, StatusFailed, StatusExpired}

// Valid reports whether s is a known status.
func (s SessionStatus) Valid() bool {
	for _, v := range SessionStatuses {
		if s == v {
			return true
		}
	}
	return false
}

// Theme is the appearance theme of the portal.
type Theme string

const (
	ThemeLight Theme = "light"
	ThemeDark  Theme = "dark"
)

// Appearance is echoed back as given at creation.
type Appearance struct {
	Theme *Theme `json:"theme,omitempty"`
}

// Session is a Connect Session.
type Session struct {
	ID          string
	ProjectID   string
	CallbackURL *string
	Intent      Intent
	Appearance  *Appearance
	// UserID is the user the session is for. A session with UserDetails has
	// no UserID until it is entered, when the user is created.
	UserID      *string
	UserDetails *UserDetails
	// StoredStatus is the status as written. Use Status for what clients see.
	StoredStatus SessionStatus
	// TokenHash is SHA-256 of the url token. The token itself is never kept.
	TokenHash   []byte
	TokenUsedAt *time.Time
	// PortalUntil is when the last browser session the url opened stops
	// working: the latest expiry of its browser sessions, or the time they
	// were revoked (a replay). nil until the url is entered.
	PortalUntil *time.Time
	CreatedAt   time.Time
	ExpiresAt   time.Time
	UpdatedAt   time.Time
}

// Status is the status clients see: an open session whose url can no longer
// be opened is expired, and so is an active session whose browser sessions
// were all revoked or have timed out (PortalUntil passed), whether or not
// anything has written that down yet. Every session thus reaches a final
// status on its own.
func (s *Session) Status(now time.Time) SessionStatus {
	switch {
	case s.StoredStatus == StatusOpen && !now.Before(s.ExpiresAt):
		return StatusExpired
	case s.StoredStatus == StatusActive && s.PortalUntil != nil && !now.Before(*s.PortalUntil):
		return StatusExpired
	}
	return s.StoredStatus
}

// Ended reports whether the stored status is an outcome of the portal
// (completed, aborted or failed): a session that ended so can no longer be
// expired.
func (s *Session) Ended() bool {
	return s.StoredStatus == StatusCompleted || s.StoredStatus == StatusAborted || s.StoredStatus == StatusFailed
}

// HasUser reports whether the session is associated with a user, existing
// (UserID) or still to be created on entry (UserDetails).
func (s *Session) HasUser() bool { return s.UserID != nil || s.UserDetails != nil }

// TokenBytes is the entropy of a session url token: 256 bits.
const TokenBytes = 32

// NewToken returns a fresh url token (256 bits from crypto/rand, base64url)
// and its SHA-256 hash, the only form in which it is stored.
func NewToken() (token string, hash []byte) {
	var b [TokenBytes]byte
	rand.Read(b[:])
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, HashToken(token)
}

// HashToken returns the SHA-256 of a url token or API key secret.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// APIKeyPrefix starts every API key secret, so that a leaked key is easy to
// recognise in code and scanners.
const APIKeyPrefix = "cdk_"

// NewAPIKeySecret returns a new API key secret and its hash.
func NewAPIKeySecret() (secret string, hash []byte) {
	var b [TokenBytes]byte
	rand.Read(b[:])
	secret = APIKeyPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return secret, HashToken(secret)
}
