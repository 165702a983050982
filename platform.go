package connectd

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The built-in platform: the resources intents act on. Each type below is
// also its API representation and its seed-file form.

// ResourceKind names a platform resource type. It is also the "object"
// value of its API representation.
type ResourceKind string

const (
	KindPlan          ResourceKind = "plan"
	KindAddon         ResourceKind = "addon"
	KindSIM           ResourceKind = "sim"
	KindDevice        ResourceKind = "device"
	KindSubscription  ResourceKind = "subscription"
	KindPaymentMethod ResourceKind = "paymentMethod"
	KindPayment       ResourceKind = "payment"
	KindPorting       ResourceKind = "porting"
)

// ResourceKinds lists every kind, in the order a seed file loads them
// (referenced kinds first).
var ResourceKinds = []ResourceKind{KindPlan, KindAddon, KindSIM, KindDevice, KindSubscription, KindPaymentMethod, KindPayment, KindPorting}

// kindPrefixes are the ID prefixes of the kinds.
var kindPrefixes = map[ResourceKind]string{
	KindPlan:          PrefixPlan,
	KindAddon:         PrefixAddon,
	KindSIM:           PrefixSIM,
	KindDevice:        PrefixDevice,
	KindSubscription:  PrefixSubscription,
	KindPaymentMethod: PrefixPaymentMethod,
	KindPayment:       PrefixPayment,
	KindPorting:       PrefixPorting,
}

// Prefix returns the ID prefix of kind k, "" for an unknown kind.
func (k ResourceKind) Prefix() string { return kindPrefixes[k] }

// Resource is what every platform resource tells of itself, so that code
// serving all eight kinds needs no switch over their types. Its methods
// are not named ID because the types keep their ID in a field of that name.
type Resource interface {
	ResourceID() string
	Kind() ResourceKind
}

var (
	_ Resource = (*Plan)(nil)
	_ Resource = (*Addon)(nil)
	_ Resource = (*SIM)(nil)
	_ Resource = (*Device)(nil)
	_ Resource = (*Subscription)(nil)
	_ Resource = (*PaymentMethod)(nil)
	_ Resource = (*Payment)(nil)
	_ Resource = (*Porting)(nil)
)

// Price is an amount in minor units (cents) of an ISO 4217 currency.
type Price struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// Plan statuses; add-ons use the same.
const (
	PlanDraft    = "draft"
	PlanActive   = "active"
	PlanArchived = "archived"
)

// Validity says whether a plan renews.
type Validity struct {
	Type string `json:"type"` // recurring | oneTime
}

const (
	ValidityRecurring = "recurring"
	ValidityOneTime   = "oneTime"
)

// Allowances are what a plan or add-on includes.
type Allowances struct {
	DataBytes    *int64 `json:"dataBytes"`
	VoiceSeconds *int64 `json:"voiceSeconds"`
	SMSMessages  *int64 `json:"smsMessages"`
}

// Requirements are the user data a plan needs before checkout.
type Requirements struct {
	FullName bool `json:"fullName"`
	Address  bool `json:"address"`
}

// Plan is something a user can subscribe to.
type Plan struct {
	ID           string       `json:"id"`
	Name         string       `json:"name"`
	Description  *string      `json:"description"`
	Status       string       `json:"status"`
	Price        Price        `json:"price"`
	Validity     Validity     `json:"validity"`
	Allowances   Allowances   `json:"allowances"`
	Requirements Requirements `json:"requirements"`
	CreatedAt    time.Time    `json:"createdAt"`
}

func (p *Plan) ResourceID() string { return p.ID }
func (*Plan) Kind() ResourceKind   { return KindPlan }

// Addon is an extra that can be bought for subscriptions of its plans.
type Addon struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Status     string     `json:"status"`
	Price      Price      `json:"price"`
	Allowances Allowances `json:"allowances"`
	Plans      []string   `json:"plans"`
	CreatedAt  time.Time  `json:"createdAt"`
}

func (a *Addon) ResourceID() string { return a.ID }
func (*Addon) Kind() ResourceKind   { return KindAddon }

// SIM types and statuses.
const (
	SIMTypeESIM     = "eSIM"
	SIMTypePSIM     = "pSIM"
	SIMAvailable    = "available"
	SIMAssigned     = "assigned"
	activationCodeP = "LPA:1$"
)

// SIM is a physical or embedded SIM.
type SIM struct {
	ID             string    `json:"id"`
	Type           string    `json:"type"`
	ICCID          string    `json:"iccid"`
	Status         string    `json:"status"`
	ActivationCode *string   `json:"activationCode"` // eSIM only: LPA:1$SMDP$MATCHING-ID
	CreatedAt      time.Time `json:"createdAt"`
}

func (s *SIM) ResourceID() string { return s.ID }
func (*SIM) Kind() ResourceKind   { return KindSIM }

// Device is a user's phone.
type Device struct {
	ID           string    `json:"id"`
	User         *string   `json:"user"`
	Manufacturer string    `json:"manufacturer"`
	Model        string    `json:"model"`
	EsimCapable  bool      `json:"esimCapable"`
	IMEI         *string   `json:"imei"`
	CreatedAt    time.Time `json:"createdAt"`
}

func (d *Device) ResourceID() string { return d.ID }
func (*Device) Kind() ResourceKind   { return KindDevice }

// Subscription statuses.
const (
	SubscriptionPending   = "pending"
	SubscriptionInitiated = "initiated"
	SubscriptionActive    = "active"
	SubscriptionEnded     = "ended"
)

// Period is a time span.
type Period struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Subscription is a user's plan on a SIM.
type Subscription struct {
	ID            string     `json:"id"`
	User          string     `json:"user"`
	Plan          string     `json:"plan"`
	SIM           *string    `json:"sim"`
	Device        *string    `json:"device"`
	PhoneNumber   *string    `json:"phoneNumber"`
	Status        string     `json:"status"`
	Recurring     bool       `json:"recurring"`
	CurrentPeriod *Period    `json:"currentPeriod"`
	EndedAt       *time.Time `json:"endedAt"`
	Addons        []string   `json:"addons"`
	CreatedAt     time.Time  `json:"createdAt"`
}

func (s *Subscription) ResourceID() string { return s.ID }
func (*Subscription) Kind() ResourceKind   { return KindSubscription }

// Cancelable reports whether the subscription can be canceled: it renews
// and has not ended or been set to end.
func (s *Subscription) Cancelable() bool {
	return s.Recurring && s.EndedAt == nil && s.Status != SubscriptionEnded
}

// Resumable reports whether a canceled subscription can be resumed.
func (s *Subscription) Resumable() bool {
	return s.Recurring && s.EndedAt != nil
}

// Card is what connectd keeps of a card: never its number.
type Card struct {
	Brand    string `json:"brand"`
	Last4    string `json:"last4"`
	ExpMonth int    `json:"expMonth"`
	ExpYear  int    `json:"expYear"`
}

// PaymentMethod is a user's card.
type PaymentMethod struct {
	ID        string    `json:"id"`
	User      string    `json:"user"`
	Type      string    `json:"type"` // card
	Card      Card      `json:"card"`
	Default   bool      `json:"default"`
	CreatedAt time.Time `json:"createdAt"`
}

func (m *PaymentMethod) ResourceID() string { return m.ID }
func (*PaymentMethod) Kind() ResourceKind   { return KindPaymentMethod }

// Payment statuses.
const (
	PaymentRequiresConfirmation = "requiresConfirmation"
	PaymentProcessing           = "processing"
	PaymentSucceeded            = "succeeded"
	PaymentFailed               = "failed"
	PaymentCanceled             = "canceled"
)

// Payment is a charge to a user.
type Payment struct {
	ID            string    `json:"id"`
	User          string    `json:"user"`
	Subscription  *string   `json:"subscription"`
	PaymentMethod *string   `json:"paymentMethod"`
	Amount        int64     `json:"amount"`
	Currency      string    `json:"currency"`
	Status        string    `json:"status"`
	Description   *string   `json:"description"`
	CreatedAt     time.Time `json:"createdAt"`
	// Pending is what a payment in requiresConfirmation that a portal
	// purchase left buys once confirmed, wherever it is confirmed. It is
	// kept with the payment but not part of its API representation.
	Pending *PendingPurchase `json:"-"`
}

func (p *Payment) ResourceID() string { return p.ID }
func (*Payment) Kind() ResourceKind   { return KindPayment }

// PendingPurchase is the change a payment waiting for confirmation pays
// for, applied to its subscription when it is confirmed.
type PendingPurchase struct {
	Plan   string   `json:"plan,omitempty"`
	Addons []string `json:"addons,omitempty"`
}

// Porting statuses.
const (
	PortingDraft               = "draft"
	PortingInitiated           = "initiated"
	PortingPending             = "pending"
	PortingInformationRequired = "informationRequired"
	PortingRequested           = "requested"
	PortingDeclined            = "declined"
	PortingCompleted           = "completed"
	PortingCanceled            = "canceled"
	PortingExpired             = "expired"
	PortingFailed              = "failed"
)

// RetryableDeclinedCodes are the declined codes a user can fix in the
// portal when the project's portingRetry is on.
var RetryableDeclinedCodes = map[string]bool{
	"portingAccountNumberRequiredOrInvalid": true,
	"portingAccountPinRequiredOrInvalid":    true,
	"portingAddressRequiredOrInvalid":       true,
	"portingPhoneNumberPortProtected":       true,
}

// Porting moves a phone number from another provider to a subscription.
type Porting struct {
	ID            string  `json:"id"`
	Subscription  string  `json:"subscription"`
	User          string  `json:"user"` // the subscription's user, read-only
	PhoneNumber   string  `json:"phoneNumber"`
	Status        string  `json:"status"`
	DeclinedCode  *string `json:"declinedCode"`
	DonorProvider *string `json:"donorProvider"`
	AccountNumber *string `json:"accountNumber"`
	// AccountPin is write-only: it is stored for the donor provider but
	// never returned (AccountPinProvided says whether one is set).
	AccountPin         *string   `json:"-"`
	AccountPinProvided bool      `json:"accountPinProvided"`
	Address            *Address  `json:"address"`
	CreatedAt          time.Time `json:"createdAt"`
}

func (p *Porting) ResourceID() string { return p.ID }
func (*Porting) Kind() ResourceKind   { return KindPorting }

// WaitingForUser reports whether the porting needs the user: a draft, a
// request for information, or a decline the user may fix.
func (p *Porting) WaitingForUser() bool {
	switch p.Status {
	case PortingDraft, PortingInformationRequired, PortingDeclined:
		return true
	}
	return false
}

// ResourceRecord is how stores keep every platform resource: a few indexed
// columns and the resource's JSON. Version increases with every write, so
// that updates can be compare-and-swap.
type ResourceRecord struct {
	Kind      ResourceKind
	ProjectID string
	ID        string
	UserID    string // the owner, "" for unowned kinds (plans, add-ons, SIMs)
	ParentID  string // the subscription of a porting or payment, else ""
	Status    string
	// UniqueKey is a key no other resource of the same kind in the project
	// may hold at the same time ("" holds none): a SIM's ICCID, the SIM a
	// subscription that has not ended sits on. The database refuses a
	// second holder (KeyTakenError).
	UniqueKey string
	Data      []byte // JSON of the typed resource
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// KeyTakenError is a store's answer to a write whose UniqueKey another
// resource of its kind holds: the unique index refused it. It is also an
// ErrConflict. Kind and ID name the written resource, not the holder.
type KeyTakenError struct {
	Kind ResourceKind
	ID   string
}

func (e *KeyTakenError) Error() string {
	return "the unique key of " + string(e.Kind) + " " + e.ID + " is taken"
}

// Unwrap makes a KeyTakenError an ErrConflict for callers that do not tell
// the two apart.
func (e *KeyTakenError) Unwrap() error { return ErrConflict }

// ResourceFilter narrows a resource list. Empty fields do not filter.
type ResourceFilter struct {
	Kind     ResourceKind
	UserID   string
	ParentID string
	Status   string
	ListParams
}

// ResourceWrite is one write of a WriteResources batch: a create when
// Create is set, else an update of the record whose version is still
// Record.Version (the store bumps it).
type ResourceWrite struct {
	Create bool
	Record *ResourceRecord
	// Idem, when non-zero, is an in-flight idempotency claim the write
	// completes with Record.ID in the batch's transaction (issue 11.4): a
	// crash cannot leave the resource without its key, nor the key
	// without its resource. When the claim is no longer the caller's the
	// whole batch fails with ErrClaimLost and nothing is written.
	Idem Idem
}

// SeedBatch is a whole seed file: written in one transaction, objects that
// already exist identically are skipped, and any object that exists with
// other content fails the whole batch.
type SeedBatch struct {
	Projects  []*Project
	Users     []*User
	Resources []*ResourceRecord
	// KeepExisting leaves an object that exists with other content as it
	// is, instead of failing the batch: the demo keeps what its user changed
	// (a canceled subscription, a new name) across restarts.
	KeepExisting bool
}

// Keeps reports whether err, from writing one object of b, is a conflict
// that b leaves alone (KeepExisting): the store goes on with the next
// object, having written nothing for this one.
func (b SeedBatch) Keeps(err error) bool {
	var ce *SeedConflictError
	return b.KeepExisting && errors.As(err, &ce)
}

// SeedConflictError names the object a seed batch conflicts with.
type SeedConflictError struct {
	Kind string // "project", "user", or a ResourceKind
	ID   string
	Why  string
}

func (e *SeedConflictError) Error() string {
	return "seed conflicts with existing " + e.Kind + " " + e.ID + ": " + e.Why
}

// Resources is the typed access to one kind of platform resource. Reads
// are queries and writes are commands on plain values, with no callbacks,
// so that an implementation may live across a network: a change is a read
// of the resource with its version, then a Replace on the condition that
// the version has not moved on, retried by the caller on ErrConflict.
type Resources[T any] interface {
	// Create stores v; its ID is generated when empty. ErrConflict when the
	// ID is taken; a *Error (422) when a reference does not hold.
	Create(ctx context.Context, projectID string, v *T) error
	// CreateIdem is Create under an idempotency claim of connectd's Store:
	// a non-zero idem is completed with v's ID in the transaction of the
	// insert, and ErrClaimLost (an ErrConflict) means the claim is no
	// longer the caller's and nothing was written. The zero Idem makes it
	// Create. A platform that keeps its resources in another database
	// cannot share that transaction, and must not claim to.
	CreateIdem(ctx context.Context, projectID string, v *T, idem Idem) error
	// Get returns the resource; ErrNotFound when the project has none.
	Get(ctx context.Context, projectID, id string) (*T, error)
	// GetVersioned is Get with the resource's version, the condition of a
	// later Replace.
	GetVersioned(ctx context.Context, projectID, id string) (*T, int64, error)
	List(ctx context.Context, projectID string, f PlatformFilter) (Page[*T], error)
	// Replace writes v over the stored resource of v's ID only if that is
	// still at version, so that concurrent writers never overwrite each
	// other: ErrConflict when somebody wrote it meanwhile, ErrNotFound when
	// it does not exist, a *Error (422) when a reference does not hold. The
	// creation time is not the writer's to change and is kept.
	Replace(ctx context.Context, projectID string, v *T, version int64) error
}

// maxUpdateAttempts bounds the compare-and-swap retries of UpdateResource.
const maxUpdateAttempts = 5

// UpdateResource reads resource id of r, lets mutate change it, and
// replaces it only if nobody wrote it meanwhile, redoing mutate on a fresh
// copy a few times, so that concurrent writers never overwrite each other.
// The closure runs on the caller's side of r: only values cross it. An
// error from mutate is returned as is and nothing is written; after the
// last attempt a conflict is ErrConflict. mutate must not change the ID.
func UpdateResource[T any](ctx context.Context, r Resources[T], projectID, id string, mutate func(*T) error) (*T, error) {
	for attempt := 0; ; attempt++ {
		v, version, err := r.GetVersioned(ctx, projectID, id)
		if err != nil {
			return nil, err
		}
		if err := mutate(v); err != nil {
			return nil, err
		}
		if res, ok := any(v).(Resource); ok && res.ResourceID() != id {
			return nil, fmt.Errorf("update %s %s: mutate changed its ID to %s", res.Kind(), id, res.ResourceID())
		}
		err = r.Replace(ctx, projectID, v, version)
		if errors.Is(err, ErrConflict) && attempt < maxUpdateAttempts {
			continue // someone wrote it meanwhile: redo on the fresh copy
		}
		if err != nil {
			return nil, err
		}
		return v, nil
	}
}

// PlatformFilter narrows a resource list: UserID for owned resources,
// Subscription for portings and payments.
type PlatformFilter struct {
	UserID       string
	Subscription string
	Status       string
	ListParams
}

// Platform is everything intents act on. The sessions service and the
// portal reach resources only through it, so that an operator could plug in
// another backend. Package platform holds the built-in implementation,
// which lives in connectd's own database.
type Platform interface {
	Plans() Resources[Plan]
	Addons() Resources[Addon]
	SIMs() Resources[SIM]
	Devices() Resources[Device]
	Subscriptions() Resources[Subscription]
	PaymentMethods() Resources[PaymentMethod]
	Payments() Resources[Payment]
	Portings() Resources[Porting]
	// Actions performs the portal's user actions.
	Actions() Actions
}
