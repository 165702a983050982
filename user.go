package connectd

import (
	"strings"
	"time"
)

// User is an end user of a project. Email is unique in its project, compared
// case-insensitively.
type User struct {
	ID              string            `json:"id"`
	ProjectID       string            `json:"-"`
	Email           string            `json:"email"`
	FullName        *string           `json:"fullName"`
	Birthday        *string           `json:"birthday"`
	PreferredLocale *string           `json:"preferredLocale"`
	Metadata        map[string]string `json:"metadata"`
	Address         *Address          `json:"address"`
	CreatedAt       time.Time         `json:"createdAt"`
}

// Address is a user's postal address.
type Address struct {
	Line1      string  `json:"line1"`
	Line2      *string `json:"line2"`
	City       string  `json:"city"`
	PostalCode string  `json:"postalCode"`
	State      *string `json:"state"`
	Country    string  `json:"country"`
}

// UserDetails describe a user to create when a session is entered.
type UserDetails struct {
	Email           string            `json:"email"`
	FullName        *string           `json:"fullName,omitempty"`
	Birthday        *string           `json:"birthday,omitempty"`
	PreferredLocale *string           `json:"preferredLocale,omitempty"`
	Metadata        map[string]string `json:"metadata,omitempty"`
}

// Limits on user fields.
const (
	MaxEmailLength         = 254
	MaxFullNameLength      = 200
	MaxMetadataKeys        = 50
	MaxMetadataKeyLength   = 40
	MaxMetadataValueLength = 500
)

// NormalizeEmail returns the form emails are compared in.
func NormalizeEmail(email string) string { return strings.ToLower(email) }

// ValidEmail accepts a practical subset of addresses: local@domain, ASCII
// printable, no spaces, a dotted domain. Non-ASCII is refused so that
// look-alike characters cannot make two accounts that read the same.
func ValidEmail(s string) bool {
	if len(s) < 3 || len(s) > MaxEmailLength {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || at == len(s)-1 || strings.Count(s, "@") != 1 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),:;<>[\\]", c) >= 0 {
			return false
		}
	}
	domain := s[at+1:]
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return false
	}
	return validHost(domain)
}

// ValidDate reports whether s is a calendar date in the form YYYY-MM-DD.
func ValidDate(s string) bool {
	if len(s) != 10 {
		return false
	}
	t, err := time.Parse(time.DateOnly, s)
	return err == nil && t.Format(time.DateOnly) == s
}

// ValidLocale accepts IETF language tags of the common shape: a 2-3 letter
// language, then subtags of 2-8 letters or digits, separated by "-".
func ValidLocale(s string) bool {
	if len(s) < 2 || len(s) > 35 {
		return false
	}
	for i, part := range strings.Split(s, "-") {
		if i == 0 && (len(part) < 2 || len(part) > 3 || !isAlpha(part)) {
			return false
		}
		if len(part) < 1 || len(part) > 8 || !isAlnum(part) {
			return false
		}
	}
	return true
}

func isAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || (c|0x20) >= 'a' && (c|0x20) <= 'z') {
			return false
		}
	}
	return true
}
