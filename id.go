package connectd

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
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
	idTimeChars = 8 // milliseconds since the epoch: 62^8 ms is ~6,900 years
	// idSeqChars order the IDs one process makes within one millisecond:
	// without them, two objects created in the same millisecond (a burst of
	// creates) would list in random order.
	idSeqChars    = 3
	idRandomChars = 17 // 62^17 is ~2^101: more than the 96 bits promised
)

// idClock is the last millisecond and sequence number NewID used.
var idClock struct {
	sync.Mutex
	ms  int64
	seq int
}

// NewID returns prefix + "_" + 28 base62 characters. The first 8 characters
// encode the creation time in milliseconds and the next 3 a sequence number
// within that millisecond, so the IDs of one process sort by creation
// order; the last 17 come from crypto/rand. Base62 digits are in ASCII
// order, so byte order equals time order.
func NewID(prefix string) string {
	idClock.Lock()
	ms := time.Now().UnixMilli()
	if ms <= idClock.ms {
		// The same millisecond (or the wall clock stepped back): keep the
		// order by counting on from the last ID, moving to the next
		// millisecond once the sequence is used up.
		ms, idClock.seq = idClock.ms, idClock.seq+1
		if idClock.seq == maxIDSeq {
			ms, idClock.seq = ms+1, 0
		}
	} else {
		idClock.seq = 0
	}
	idClock.ms = ms
	seq := idClock.seq
	idClock.Unlock()
	return newIDAt(prefix, time.UnixMilli(ms), seq)
}

// maxIDSeq is 62^idSeqChars: the sequence numbers of one millisecond.
const maxIDSeq = 62 * 62 * 62

func newIDAt(prefix string, t time.Time, seq int) string {
	b := make([]byte, len(prefix)+1+idTimeChars+idSeqChars+idRandomChars)
	n := copy(b, prefix)
	b[n] = '_'
	n++
	n += putBase62(b[n:n+idTimeChars], uint64(t.UnixMilli()))
	n += putBase62(b[n:n+idSeqChars], uint64(seq))
	var rnd [8 * idRandomChars]byte
	rand.Read(rnd[:]) // never returns an error (crypto/rand, Go 1.24+)
	for i := 0; i < idRandomChars; i++ {
		// 64 random bits per character keeps the modulo bias negligible.
		b[n+i] = base62[binary.LittleEndian.Uint64(rnd[8*i:])%62]
	}
	return string(b)
}

// putBase62 writes v into all of dst, most significant digit first, and
// returns len(dst).
func putBase62(dst []byte, v uint64) int {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = base62[v%62]
		v /= 62
	}
	return len(dst)
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
