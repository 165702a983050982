// Package ratelimit is a token-bucket rate limiter keyed by a string (an API
// key ID, a client address), with bounded memory.
//
// Each key has a bucket of Burst tokens that refills at Rate tokens per
// second; a request takes one token or is refused with the time until the
// next token. A bucket that has refilled completely is the same as no
// bucket, so idle keys are dropped without changing any answer. The number
// of keys is capped: past the cap, arbitrary buckets are dropped (which can
// only make the limiter more lenient, never refuse a request it should
// allow).
//
// Limits are per process: several connectd instances behind one load
// balancer each enforce their own limit, so the service as a whole allows
// up to N times the configured rate.
package ratelimit

import (
	"math"
	"sync"
	"time"
)

// DefaultMaxKeys caps the keys a Limiter tracks when Config.MaxKeys is 0.
const DefaultMaxKeys = 100_000

// Config configures a Limiter.
type Config struct {
	// Rate is the sustained number of requests per second per key. Zero
	// or less disables the limiter.
	Rate float64
	// Burst is the bucket size: how many requests a key may make at once.
	// Values below 1 mean 1.
	Burst int
	// MaxKeys caps the tracked keys; 0 means DefaultMaxKeys.
	MaxKeys int
}

// Limiter limits requests per key. A nil *Limiter allows everything. It is
// safe for concurrent use.
type Limiter struct {
	rate    float64
	burst   float64
	maxKeys int
	// full is how long an untouched bucket takes to refill completely:
	// after that it is dropped.
	full time.Duration

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
	// Now returns the current time; tests may replace it before use.
	Now func() time.Time
}

type bucket struct {
	tokens float64
	at     time.Time // when tokens was computed
}

// New returns a limiter, or nil (allow everything) when c.Rate <= 0.
func New(c Config) *Limiter {
	if c.Rate <= 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) {
		return nil
	}
	burst := c.Burst
	if burst < 1 {
		burst = 1
	}
	maxKeys := c.MaxKeys
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	full := time.Duration(float64(burst) / c.Rate * float64(time.Second))
	if full < time.Second {
		full = time.Second
	}
	return &Limiter{rate: c.Rate, burst: float64(burst), maxKeys: maxKeys, full: full,
		buckets: make(map[string]*bucket), Now: time.Now}
}

// Allow takes a token of key's bucket. When there is none it returns false
// and how long until there is one.
func (l *Limiter) Allow(key string) (ok bool, retryAfter time.Duration) {
	return l.check(key, true)
}

// Peek reports whether key's bucket holds a token, without taking it;
// when it does not, it also returns how long until it does. With Peek
// before a request and Allow after it, a limiter counts only the requests
// that matter (the failed authentications of package api) yet refuses the
// next one before it costs anything.
func (l *Limiter) Peek(key string) (ok bool, retryAfter time.Duration) {
	return l.check(key, false)
}

// check is Allow (take) or Peek.
func (l *Limiter) check(key string, take bool) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	now := l.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) >= l.full {
		l.sweep(now)
	}
	b := l.buckets[key]
	if b == nil && !take {
		return true, 0 // a missing bucket is a full one
	}
	if b == nil {
		if len(l.buckets) >= l.maxKeys {
			l.sweep(now)
			l.shrink()
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	} else if elapsed := now.Sub(b.at); elapsed > 0 {
		b.tokens = math.Min(l.burst, b.tokens+elapsed.Seconds()*l.rate)
		b.at = now
	}
	if b.tokens >= 1 {
		if take {
			b.tokens--
		}
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	if wait <= 0 {
		wait = time.Nanosecond
	}
	return false, wait
}

// sweep drops the buckets that have refilled completely: they answer
// exactly as a missing bucket would.
func (l *Limiter) sweep(now time.Time) {
	l.lastSweep = now
	for k, b := range l.buckets {
		if now.Sub(b.at) >= l.full {
			delete(l.buckets, k)
		}
	}
}

// shrink drops arbitrary buckets (map order is random) until a quarter of
// the room is free, so that the O(n) sweep runs at most once per maxKeys/4
// new keys even when every key is busy.
func (l *Limiter) shrink() {
	target := l.maxKeys - l.maxKeys/4 - 1
	if target < 0 {
		target = 0
	}
	for k := range l.buckets {
		if len(l.buckets) <= target {
			return
		}
		delete(l.buckets, k)
	}
}

// Len returns the number of tracked keys.
func (l *Limiter) Len() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// RetryAfterSeconds renders a wait as the value of a Retry-After header:
// whole seconds, rounded up, at least 1.
func RetryAfterSeconds(d time.Duration) int {
	s := int(math.Ceil(d.Seconds()))
	if s < 1 {
		s = 1
	}
	return s
}
