package connectd

import (
	"context"
	"time"
)

// MaxListLimit and DefaultListLimit bound list pages.
const (
	MaxListLimit     = 200
	DefaultListLimit = 10
)

// ListParams select one page of a list, newest first. After and Before hold
// object IDs and are mutually exclusive: After pages towards older objects,
// Before towards newer ones.
type ListParams struct {
	Limit  int
	After  string
	Before string
}

// Page is one page of a list, newest first. MoreAfter reports that older
// objects follow the last item; MoreBefore that newer objects precede the
// first.
type Page[T any] struct {
	Items      []T
	MoreAfter  bool
	MoreBefore bool
}

// SessionFilter narrows a session list. Empty fields do not filter.
type SessionFilter struct {
	UserID string
	Status SessionStatus
	// Now decides which open sessions (url expired) and active sessions
	// (PortalUntil passed) count as expired for Status.
	Now time.Time
	ListParams
}

// SessionUpdate is a PATCH. Nil fields stay as they are.
type SessionUpdate struct {
	CallbackURL *string
	// Associating a user (UserID or UserDetails) requires the session to have
	// none yet and replaces TokenHash, which must then be set.
	UserID      *string
	UserDetails *UserDetails
	TokenHash   []byte
	Now         time.Time
}

// Associates reports whether the update associates a user.
func (u SessionUpdate) Associates() bool { return u.UserID != nil || u.UserDetails != nil }

// UserUpdate is a PATCH of a user. Nil fields stay as they are; a non-nil
// Metadata or Address replaces the stored one whole. At is the time of the
// update (the caller's clock), stored as the user's updated_at.
type UserUpdate struct {
	Email           *string
	FullName        *string
	Birthday        *string
	PreferredLocale *string
	Metadata        map[string]string
	Address         *Address
	At              time.Time
}

// IdempotencyRecord remembers the outcome of a POST sent with an
// Idempotency-Key. RequestHash covers the method, path and body, so that the
// same key with another request is refused. ResourceID is empty while the
// first request is in flight.
type IdempotencyRecord struct {
	ProjectID   string
	Key         string
	RequestHash []byte
	ResourceID  string
	CreatedAt   time.Time
	// LockedUntil is when an in-flight claim lapses, so that a request that
	// died mid-way (a crash) does not block its key forever.
	LockedUntil time.Time
}

// IdempotencyTTL is how long a completed idempotent answer is replayed.
const IdempotencyTTL = 24 * time.Hour

// Idem names an in-flight idempotency claim: the one a write completes, in
// the same transaction as the write (CreateSession, CreateUser,
// ExpireSession, ResourceWrite.Idem), or one to release. The zero value
// means none.
type Idem struct {
	ProjectID string
	Key       string
	// ClaimedAt is the now the claim was taken at (its CreatedAt). A store
	// completes or releases the claim only while it is still this one: a
	// request that outlived its lease, whose key another request has taken
	// over since, can neither complete nor drop that request's claim.
	ClaimedAt time.Time
}

// Store is the persistence of connectd. store/sqlite and store/postgres
// implement it, and store/storetest holds the conformance suite both pass.
//
// Methods return ErrNotFound when the object does not exist in the given
// project, and ErrConflict when a uniqueness rule or a state condition does
// not hold. Any other error is a fault of the backend.
type Store interface {
	// ResourceStore keeps the built-in platform's resources.
	ResourceStore
	// PortalStore keeps the hosted portal's browser sessions and codes.
	PortalStore

	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the database.
	Close() error

	// CreateProject inserts p. ErrConflict if its ID is taken.
	CreateProject(ctx context.Context, p *Project) error
	GetProject(ctx context.Context, id string) (*Project, error)
	ListProjects(ctx context.Context) ([]*Project, error)

	// CreateAPIKey inserts k. The project must exist (ErrNotFound).
	CreateAPIKey(ctx context.Context, k *APIKey) error
	// GetAPIKeyByHash finds the key whose secret hashes to hash.
	GetAPIKeyByHash(ctx context.Context, hash []byte) (*APIKey, error)

	// CreateUser inserts u; ErrConflict if the email (case-insensitively) or
	// the ID is taken in the project. A non-zero idem is completed with u.ID
	// in the same transaction.
	CreateUser(ctx context.Context, u *User, idem Idem) error
	GetUser(ctx context.Context, projectID, id string) (*User, error)
	// GetUserByEmail compares case-insensitively.
	GetUserByEmail(ctx context.Context, projectID, email string) (*User, error)
	// UpdateUser sets the present fields of u on user id, in one statement
	// that writes only those columns, and returns the user as it is then:
	// concurrent updates of different fields never undo each other (no
	// read-modify-write of the row). ErrNotFound when the project has no
	// such user, ErrConflict if the new email is taken.
	UpdateUser(ctx context.Context, projectID, id string, u UserUpdate) (*User, error)
	ListUsers(ctx context.Context, projectID string, p ListParams) (Page[*User], error)

	// CreateSession inserts s. A non-zero idem is completed with s.ID in the
	// same transaction, so that a crash cannot leave one without the other;
	// ErrConflict when idem is no longer an in-flight claim (see Idem).
	// Every write that takes an Idem completes it so (CreateUser,
	// ExpireSession, WriteResources' ResourceWrite.Idem): no POST completes
	// its key after its write.
	CreateSession(ctx context.Context, s *Session, idem Idem) error
	GetSession(ctx context.Context, projectID, id string) (*Session, error)
	ListSessions(ctx context.Context, projectID string, f SessionFilter) (Page[*Session], error)
	// UpdateSession applies u in one conditional statement: the session must
	// be open and unexpired at u.Now, and when u associates a user it must
	// have none. ErrConflict when a condition fails, ErrNotFound when the
	// session does not exist. Of two concurrent associations exactly one wins.
	UpdateSession(ctx context.Context, projectID, id string, u SessionUpdate) (*Session, error)
	// ExpireSession sets an open or active session's status to expired,
	// kills its token and revokes the browser sessions it opened, in one
	// transaction. A session already ended is returned unchanged. A
	// non-zero idem is completed with the session's ID in the same
	// transaction (ErrClaimLost, and nothing written, when it is no longer
	// the caller's), except for a session that ended with an outcome
	// (completed, aborted, failed), which the service refuses: its claim,
	// like an unknown session's (ErrNotFound), stays in flight.
	ExpireSession(ctx context.Context, projectID, id string, now time.Time, idem Idem) (*Session, error)
	// RotateToken replaces the token hash of an open, unused, unexpired
	// session (an idempotent create's replay mints a new url).
	// ErrConflict when the session is not in that state.
	RotateToken(ctx context.Context, projectID, id string, tokenHash []byte, now time.Time) (*Session, error)
	// ConsumeToken marks the token of session id used and the session active
	// (PortalUntil now+BrowserSessionTTL), in one atomic conditional update: the hash must match, the token be
	// unused, the session open and unexpired at now. Exactly one of any
	// number of concurrent callers, on any instance, succeeds; the others
	// get ErrNotFound, as does an unknown session or a wrong token.
	ConsumeToken(ctx context.Context, id string, tokenHash []byte, now time.Time) (*Session, error)

	// ClaimIdempotencyKey claims (projectID, key) for a request with the
	// given hash. It returns nil when the caller now holds the claim: the
	// key was unknown, its in-flight claim had lapsed, or its record was
	// older than IdempotencyTTL. Otherwise it returns the existing record and
	// the caller decides: another RequestHash is a misuse, an empty
	// ResourceID a request still in flight, else a replay.
	ClaimIdempotencyKey(ctx context.Context, projectID, key string, requestHash []byte, now time.Time, lease time.Duration) (*IdempotencyRecord, error)
	// ReleaseIdempotencyKey drops the in-flight claim idem whose request
	// failed, so that only answers below 400 are remembered. A claim taken
	// over since, or completed, is left alone.
	ReleaseIdempotencyKey(ctx context.Context, idem Idem) error
}

// ResourceStore keeps the built-in platform's resources. Both backends
// implement it next to Store; package platform gives it typed methods.
type ResourceStore interface {
	// CreateResource inserts r with Version 1. ErrConflict if (project, id)
	// is taken, *KeyTakenError if its UniqueKey is.
	CreateResource(ctx context.Context, r *ResourceRecord) error
	// GetResource returns the resource of the given kind; ErrNotFound when
	// the project has no such resource (or it is of another kind).
	GetResource(ctx context.Context, projectID string, kind ResourceKind, id string) (*ResourceRecord, error)
	// ListResources lists resources of f.Kind, newest (highest ID) first,
	// with the same paging as ListSessions.
	ListResources(ctx context.Context, projectID string, f ResourceFilter) (Page[*ResourceRecord], error)
	// WriteResources applies writes in one transaction: creates insert,
	// updates replace UserID, ParentID, Status, UniqueKey, Data and
	// UpdatedAt of the record with the same (project, id) whose version is
	// still Record.Version, and bump it (the new version is set on the
	// Record). A write with a non-zero Idem completes that claim with its
	// record's ID in the same transaction. When any write fails nothing is
	// written and no claim completed: ErrConflict when an update's version
	// moved on or a create's ID is taken, a *KeyTakenError (also an
	// ErrConflict) naming the write whose UniqueKey another resource of its
	// kind holds, ErrClaimLost (an ErrConflict) when an Idem is no longer
	// the caller's, ErrNotFound when an updated resource does not exist.
	WriteResources(ctx context.Context, projectID string, writes []ResourceWrite) error
	// ApplySeed writes a seed batch in one transaction. Objects that do not
	// exist are created; objects that exist with the same content (ignoring
	// timestamps) are left alone; an object that exists with other content
	// fails the whole batch with a *SeedConflictError. It returns how many
	// objects it created.
	ApplySeed(ctx context.Context, b SeedBatch) (created int, err error)
}
