package api

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/ratelimit"
)

// Failed authentications are limited per client address (issue 11.11).
//
// AuthFailLimiter counts only the requests whose API key fails (401): a
// valid key's requests never take a token, so no amount of traffic with a
// valid key, and no failure from another address, ever limits it. Once an
// address has no token left, its requests are refused with 429 and
// Retry-After before their key is looked up, so a flood of bad keys costs
// no database read. The one exception is a key this process saw succeed
// recently (knownKeys): it is looked up and served as usual even from an
// address over the limit, so a client that sent a few bad keys (a rotated
// secret, say) keeps its valid traffic. Keys are remembered by the SHA-256
// of their secret, never the secret; remembering one lets a request skip
// the limit, never the authentication.

// knownKeyTTL is how long a key that authenticated stays known.
const knownKeyTTL = time.Hour

// maxKnownKeys bounds the memory of known keys.
const maxKnownKeys = 10_000

// knownKeys is a bounded set of secret hashes that authenticated.
type knownKeys struct {
	mu   sync.Mutex
	seen map[string]time.Time // hash -> when it last authenticated
}

func (k *knownKeys) add(hash string, now time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.seen == nil {
		k.seen = make(map[string]time.Time)
	}
	if _, ok := k.seen[hash]; !ok && len(k.seen) >= maxKnownKeys {
		for h, at := range k.seen {
			if now.Sub(at) >= knownKeyTTL {
				delete(k.seen, h)
			}
		}
		if len(k.seen) >= maxKnownKeys {
			clear(k.seen) // worst case: known keys count against the limit again
		}
	}
	k.seen[hash] = now
}

func (k *knownKeys) has(hash string, now time.Time) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	at, ok := k.seen[hash]
	return ok && now.Sub(at) < knownKeyTTL
}

// secretHash is the known-keys entry of a request's bearer secret.
func secretHash(r *http.Request) string {
	secret, _ := bearer(r)
	return string(connectd.HashToken(secret))
}

// authenticateLimited is authenticate under the failed-authentication
// limit of the client's address.
func (s *Server) authenticateLimited(w http.ResponseWriter, r *http.Request) (*connectd.APIKey, error) {
	if s.AuthFailLimiter == nil {
		return s.authenticate(r)
	}
	addr := ratelimit.ClientAddr(r, s.TrustProxyHeaders)
	now := s.svc.Clock()
	if ok, wait := s.AuthFailLimiter.Peek(addr); !ok && !s.known.has(secretHash(r), now) {
		s.svc.Metrics.AuthLimited()
		w.Header().Set("Retry-After", strconv.Itoa(ratelimit.RetryAfterSeconds(wait)))
		return nil, connectd.Errorf(connectd.TypeTooManyRequests, "authRateLimited",
			"Too many requests with an invalid API key from this address; retry after the time in Retry-After.")
	}
	key, err := s.authenticate(r)
	if e := (*connectd.Error)(nil); errors.As(err, &e) && e.Type == connectd.TypeUnauthenticated {
		s.AuthFailLimiter.Allow(addr) // count the failure
	} else if err == nil {
		s.known.add(secretHash(r), now)
	}
	return key, err
}
