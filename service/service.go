// Package service is the one door to connectd's data: every state change
// (sessions, users, platform resources, the portal's entry, sign-in and
// finish, and the user actions it sends to the platform as commands) is a
// method here, with the rules that need storage: who may do what to which
// object, idempotency, token minting, and the one clock (Service.Now).
// The HTTP layers (packages api and portal) parse requests, call it and
// render; see ARCHITECTURE.md.
package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/metrics"
)

// Service implements the rules on top of a connectd.Store.
type Service struct {
	Store connectd.Store
	// Platform holds the resources intents act on. When nil, referenced IDs
	// are checked for format only.
	Platform connectd.Platform
	// PublicURL is the base of session urls, such as https://connect.example.com.
	// Session urls are built from it and never from request headers.
	PublicURL string
	// Now returns the current time; tests may replace it.
	Now    func() time.Time
	Logger *slog.Logger
	// Metrics records sessions created and expired here, and what the API
	// and the portal observe; nil records nothing.
	Metrics *metrics.Metrics

	cache *lookups // API keys and projects read recently (authcache.go); nil: off
}

// New returns a Service.
func New(store connectd.Store, publicURL string, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.Default()
	}
	return &Service{Store: store, PublicURL: strings.TrimRight(publicURL, "/"), Now: time.Now, Logger: logger}
}

// now returns the time in the precision the stores keep.
func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Millisecond) }

// idempotencyLease is how long an in-flight idempotent request holds its key
// before a retry may take it over (after a crash).
const idempotencyLease = 30 * time.Second

// EntryURL returns the url that opens session id with token.
func (s *Service) EntryURL(id, token string) string {
	return s.PublicURL + "/checkout/entry?session=" + url.QueryEscape(id) + "&token=" + url.QueryEscape(token)
}

// Authenticate returns the API key whose secret is given. Any failure is
// the documented 401.
func (s *Service) Authenticate(ctx context.Context, secret string) (*connectd.APIKey, error) {
	if !strings.HasPrefix(secret, connectd.APIKeyPrefix) || len(secret) > 128 {
		return nil, errUnauthenticated
	}
	k, err := s.apiKeyByHash(ctx, connectd.HashToken(secret))
	if errors.Is(err, connectd.ErrNotFound) {
		return nil, errUnauthenticated
	}
	if err != nil {
		return nil, s.internal(ctx, "look up API key", err)
	}
	return k, nil
}

var errUnauthenticated = &connectd.Error{Type: connectd.TypeUnauthenticated, Message: "Invalid authorization token"}

// ErrUnauthenticated is the documented 401 answer.
func ErrUnauthenticated() *connectd.Error { e := *errUnauthenticated; return &e }

// Project returns project id. A key of another project gets 403: the caller
// passes the project its key belongs to.
func (s *Service) Project(ctx context.Context, keyProject, id string) (*connectd.Project, error) {
	if id != keyProject {
		return nil, connectd.Errorf(connectd.TypeForbidden, "projectForbidden", "This API key does not give access to project %s.", nameProject(id))
	}
	p, err := s.GetProject(ctx, id)
	if errors.Is(err, connectd.ErrNotFound) {
		// The key exists but its project is gone: treat it as forbidden.
		return nil, connectd.Errorf(connectd.TypeForbidden, "projectForbidden", "This API key does not give access to project %s.", nameProject(id))
	}
	if err != nil {
		return nil, s.internal(ctx, "get project", err)
	}
	return p, nil
}

// CreateProject validates and stores a project.
func (s *Service) CreateProject(ctx context.Context, p *connectd.Project) error {
	var fe connectd.FieldErrors
	if !connectd.ValidProjectID(p.ID) {
		fe.Add("id", "invalid", "must be 1-64 characters of a-z, 0-9, '-' and '_'")
	}
	if len(p.Name) > connectd.MaxNameLength {
		fe.Add("name", "tooLong", "must be at most %d characters", connectd.MaxNameLength)
	}
	if err := p.Settings.Validate(); err != nil {
		fe = append(fe, connectd.AsError(err).Details...)
	}
	if err := fe.Err(); err != nil {
		return err
	}
	if p.Name == "" {
		p.Name = p.ID
	}
	if p.Settings.CallbackAllowList == nil {
		p.Settings.CallbackAllowList = []string{}
	}
	p.CreatedAt = s.now()
	err := s.Store.CreateProject(ctx, p)
	if errors.Is(err, connectd.ErrConflict) {
		return connectd.Errorf(connectd.TypeConflict, "projectExists", "A project with id %q already exists.", p.ID)
	}
	return err
}

// CreateAPIKey creates a key for project and returns its secret, which is
// shown once and never stored.
func (s *Service) CreateAPIKey(ctx context.Context, projectID string) (string, error) {
	secret, hash := connectd.NewAPIKeySecret()
	k := &connectd.APIKey{ID: connectd.NewID(connectd.PrefixAPIKey), ProjectID: projectID, SecretHash: hash, CreatedAt: s.now()}
	err := s.Store.CreateAPIKey(ctx, k)
	if errors.Is(err, connectd.ErrNotFound) {
		return "", connectd.Errorf(connectd.TypeNotFound, "projectNotFound", "Project %q does not exist.", projectID)
	}
	if err != nil {
		return "", err
	}
	return secret, nil
}

// internal logs err with its context and returns the opaque 500. The cause
// never reaches the client.
func (s *Service) internal(ctx context.Context, what string, err error) error {
	if errors.Is(err, connectd.ErrStorageUnavailable) {
		// The 503 storageUnavailable (connectd.AsError): one line that says
		// what to do, instead of an internal error.
		s.Logger.ErrorContext(ctx, "storage unavailable: write refused; the database file was deleted or replaced while serving, restart connectd on its database", "op", what, "err", err.Error())
		return connectd.AsError(err)
	}
	s.Logger.ErrorContext(ctx, "internal error", "op", what, "err", err.Error())
	return connectd.AsError(fmt.Errorf("%s: %w", what, err))
}

// Idempotency names a request sent with an Idempotency-Key: the key and a
// hash of the method, path and parsed body (issue 10.6: keys in another
// order or other whitespace are the same request). LegacyHash is the hash
// of the raw body bytes that records written before issue 10.6 hold: a
// record holding either is this request. The service sets Replayed when it
// answers a replay, for the Idempotent-Replayed header.
type Idempotency struct {
	Key         string
	RequestHash []byte
	LegacyHash  []byte
	Replayed    bool
}

// claim takes the idempotency key of a request. It returns the ID of the
// resource an earlier identical request created (a replay), or "" and the
// claim the caller holds now and must complete (by creating) or release.
func (s *Service) claim(ctx context.Context, projectID string, idem Idempotency) (string, connectd.Idem, error) {
	held := connectd.Idem{ProjectID: projectID, Key: idem.Key, ClaimedAt: s.now()}
	rec, err := s.Store.ClaimIdempotencyKey(ctx, projectID, idem.Key, idem.RequestHash, held.ClaimedAt, idempotencyLease)
	if err != nil {
		return "", connectd.Idem{}, s.internal(ctx, "claim idempotency key", err)
	}
	if rec == nil {
		return "", held, nil
	}
	if !bytes.Equal(rec.RequestHash, idem.RequestHash) && (idem.LegacyHash == nil || !bytes.Equal(rec.RequestHash, idem.LegacyHash)) {
		return "", connectd.Idem{}, &connectd.Error{Type: connectd.TypeUnprocessable, Code: "idempotencyKeyReused",
			Message: "This Idempotency-Key was already used with another request. Use a new key for a new request."}
	}
	if rec.ResourceID == "" {
		return "", connectd.Idem{}, errKeyInUse()
	}
	return rec.ResourceID, connectd.Idem{}, nil
}

func errKeyInUse() error {
	return &connectd.Error{Type: connectd.TypeConflict, Code: "idempotencyKeyInUse",
		Message: "A request with this Idempotency-Key is still in progress. Retry later."}
}

// release drops a claim whose request failed, so that only answers below 400
// are remembered. It runs even when the client went away.
func (s *Service) release(ctx context.Context, held connectd.Idem) {
	ctx = context.WithoutCancel(ctx)
	if err := s.Store.ReleaseIdempotencyKey(ctx, held); err != nil {
		s.Logger.ErrorContext(ctx, "release idempotency key", "err", err.Error())
	}
}

// nameID returns an ID from a request path for an error message: as is
// when it has the shape of an ID with prefix, else a neutral phrase. A path
// segment can hold anything, a token or a key sent by mistake among them,
// and error bodies must never echo a secret.
func nameID(prefix, id string) string {
	if connectd.ValidID(prefix, id) {
		return id
	}
	return "with this ID"
}

// nameProject is nameID for project IDs.
func nameProject(id string) string {
	if connectd.ValidProjectID(id) {
		return fmt.Sprintf("%q", id)
	}
	return "of this path"
}
