package connectd

import (
	"encoding/json"
	"fmt"
	"time"
)

// BillingMode says which API the project bills through. Under
// BillingModeBilling only completePorting and viewEsimInstallation work.
type BillingMode string

const (
	BillingModePayments BillingMode = "payments"
	BillingModeBilling  BillingMode = "billing"
)

// IntentValidation says whether session creation checks resource states.
type IntentValidation string

const (
	IntentValidationStrict  IntentValidation = "strict"
	IntentValidationLenient IntentValidation = "lenient"
)

// DefaultSessionTTL is how long a session's url can be opened by default.
const DefaultSessionTTL = 15 * time.Minute

// Bounds on a project's sessionTTL.
const (
	MinSessionTTL = time.Minute
	MaxSessionTTL = 24 * time.Hour
)

// Project is a tenant: its API keys, users, sessions and resources are its own.
type Project struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Settings  ProjectSettings `json:"settings"`
	CreatedAt time.Time       `json:"createdAt"`
}

// ProjectSettings are the settings of spec section 5. Their JSON form is the
// "settings" object of a seed file.
type ProjectSettings struct {
	BillingMode       BillingMode      `json:"billingMode"`
	IntentValidation  IntentValidation `json:"intentValidation"`
	HostedLogin       bool             `json:"hostedLogin"`
	PortingRetry      bool             `json:"portingRetry"`
	SessionTTL        Duration         `json:"sessionTTL"`
	CallbackAllowList []string         `json:"callbackAllowList"`
	DisplayName       string           `json:"displayName,omitempty"`
	PrimaryColor      string           `json:"primaryColor,omitempty"`
	PreferredLocale   string           `json:"preferredLocale,omitempty"`
}

// DefaultProjectSettings are the settings of a project created without any.
func DefaultProjectSettings() ProjectSettings {
	return ProjectSettings{
		BillingMode:       BillingModePayments,
		IntentValidation:  IntentValidationStrict,
		HostedLogin:       true,
		PortingRetry:      false,
		SessionTTL:        Duration(DefaultSessionTTL),
		CallbackAllowList: []string{},
	}
}

// Validate checks the settings and lists every problem.
func (s ProjectSettings) Validate() error {
	var fe FieldErrors
	switch s.BillingMode {
	case BillingModePayments, BillingModeBilling:
	default:
		fe.Add("settings.billingMode", "invalid", "must be payments or billing")
	}
	switch s.IntentValidation {
	case IntentValidationStrict, IntentValidationLenient:
	default:
		fe.Add("settings.intentValidation", "invalid", "must be strict or lenient")
	}
	if d := time.Duration(s.SessionTTL); d < MinSessionTTL || d > MaxSessionTTL {
		fe.Add("settings.sessionTTL", "outOfRange", "must be between %s and %s", MinSessionTTL, MaxSessionTTL)
	}
	for i, entry := range s.CallbackAllowList {
		if e := CheckAllowListEntry(entry); e != nil {
			fe.Add(fmt.Sprintf("settings.callbackAllowList[%d]", i), e.Code, "%s", e.Message)
		}
	}
	if s.PrimaryColor != "" && !validHexColor(s.PrimaryColor) {
		fe.Add("settings.primaryColor", "invalid", "must be a colour such as #0a7cff")
	}
	if len(s.DisplayName) > 100 {
		fe.Add("settings.displayName", "tooLong", "must be at most 100 characters")
	}
	if s.PreferredLocale != "" && !ValidLocale(s.PreferredLocale) {
		fe.Add("settings.preferredLocale", "invalid", "must be an IETF language tag such as en-US")
	}
	return fe.Err()
}

func validHexColor(s string) bool {
	if len(s) != 7 || s[0] != '#' {
		return false
	}
	for i := 1; i < 7; i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// IntentAllowed reports whether the project's billing mode offers intent t.
func (s ProjectSettings) IntentAllowed(t IntentType) bool {
	if s.BillingMode == BillingModeBilling {
		return t == IntentCompletePorting || t == IntentViewEsimInstallation
	}
	return true
}

// Duration is a time.Duration written in JSON as a Go duration string ("15m").
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a duration string. null leaves d as it is, as
// encoding/json does for every built-in type, so that "sessionTTL": null
// counts as absent instead of failing as an invalid duration.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration must be a string such as \"15m\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q: use a form such as \"15m\"", s)
	}
	*d = Duration(v)
	return nil
}

// APIKey authenticates requests for one project. Only the SHA-256 of the
// secret is kept.
type APIKey struct {
	ID         string
	ProjectID  string
	SecretHash []byte
	CreatedAt  time.Time
}
