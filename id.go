package connectd

import (
	"crypto/rand"
	"encoding/binary"
	"time"
)

// ID prefixes, one per object type.
const (
	PrefixSession       = "csn"
	PrefixUser          = "usr"
	PrefixPlan          = "pln"
	PrefixAddon         = "add"
	PrefixSIM           = "sim"
	PrefixDevice        = "dev"
	PrefixSubscription  = "sub"
	PrefixPayment       = "pay"
	PrefixPaymentMethod = "pmt"
	PrefixPorting       = "prt"
	PrefixEvent         = "evt"
	PrefixAPIKey        = "key"
)

// MaxIDLength is the longest ID connectd accepts anywhere. Clients must treat
// IDs as opaque strings of at most this many characters.
const MaxIDLength = 64

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

const (
	idTimeChars   = 8  // milliseconds since the epoch: 62^8 ms is ~6,900 years
	idRandomChars = 20 // 62^20 is ~2^119: far more than the 96 bits promised
)

// NewID returns prefix + "_" + 28 base62 characters. The first 8 characters
// encode the creation time in milliseconds, so IDs sort by creation time; the
// other 20 come from crypto/rand. Base62 digits are in ASCII order, so byte
// order equals time order.
func NewID(prefix string) string {
	return newIDAt(prefix, time.Now())
}

func newIDAt(prefix string, t time.Time) string {
	b := make([]byte, len(prefix)+1+idTimeChars+idRandomChars)
	n := copy(b, prefix)
	b[n] = '_'
	n++
	ms := uint64(t.UnixMilli())
	for i := idTimeChars - 1; i >= 0; i-- {
		b[n+i] = base62[ms%62]
		ms /= 62
	}
	n += idTimeChars
	var rnd [8 * idRandomChars]byte
	rand.Read(rnd[:]) // never returns an error (crypto/rand, Go 1.24+)
	for i := 0; i < idRandomChars; i++ {
		// 64 random bits per character keeps the modulo bias negligible.
		b[n+i] = base62[binary.LittleEndian.Uint64(rnd[8*i:])%62]
	}
	return string(b)
}

// ValidID reports whether s looks like an ID with the given prefix: the
// prefix, "_", then 1 or more base62 characters, at most MaxIDLength in all.
// Other lengths than 28 are accepted on purpose: IDs are opaque.
func ValidID(prefix, s string) bool {
	if len(s) > MaxIDLength || len(s) < len(prefix)+2 || s[:len(prefix)] != prefix || s[len(prefix)] != '_' {
		return false
	}
	for i := len(prefix) + 1; i < len(s); i++ {
		if !isBase62(s[i]) {
			return false
		}
	}
	return true
}

// ValidProjectID reports whether s can name a project: 1 to 64 characters of
// lower-case letters, digits and "-", starting with a letter or digit.
func ValidProjectID(s string) bool {
	if len(s) == 0 || len(s) > MaxIDLength || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func isBase62(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}
