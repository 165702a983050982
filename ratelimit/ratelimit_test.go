package ratelimit

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time            { return c.t }
func (c *clock) add(d time.Duration)       { c.t = c.t.Add(d) }
func newClock() *clock                     { return &clock{t: time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)} }
func limiter(c Config, ck *clock) *Limiter { l := New(c); l.Now = ck.now; return l }

func TestBucket(t *testing.T) {
	ck := newClock()
	l := limiter(Config{Rate: 2, Burst: 3}, ck)
	for i := 0; i < 3; i++ {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, wait := l.Allow("a")
	if ok || wait <= 0 || wait > 500*time.Millisecond {
		t.Fatalf("4th request: ok=%v wait=%v, want refused with wait in (0, 500ms]", ok, wait)
	}
	if RetryAfterSeconds(wait) != 1 {
		t.Fatalf("Retry-After of %v = %d, want 1", wait, RetryAfterSeconds(wait))
	}
	if ok, _ := l.Allow("b"); !ok {
		t.Fatal("another key is limited by a's bucket")
	}
	ck.add(wait)
	if ok, _ := l.Allow("a"); !ok {
		t.Fatal("refused after waiting the announced time")
	}
	if ok, _ := l.Allow("a"); ok {
		t.Fatal("allowed a second request after one token refilled")
	}
}

func TestDisabled(t *testing.T) {
	for _, r := range []float64{0, -1} {
		l := New(Config{Rate: r, Burst: 1})
		if l != nil {
			t.Fatalf("Rate %v: want a nil (disabled) limiter", r)
		}
		for i := 0; i < 1000; i++ {
			if ok, _ := l.Allow("k"); !ok {
				t.Fatal("a nil limiter refused")
			}
		}
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for d, want := range map[time.Duration]int{0: 1, time.Nanosecond: 1, time.Second: 1, 1001 * time.Millisecond: 2, 90 * time.Second: 90} {
		if got := RetryAfterSeconds(d); got != want {
			t.Errorf("RetryAfterSeconds(%v) = %d, want %d", d, got, want)
		}
	}
}

// TestIdleKeysEvicted: a bucket that has refilled is dropped, and dropping
// it changes no answer.
func TestIdleKeysEvicted(t *testing.T) {
	ck := newClock()
	l := limiter(Config{Rate: 10, Burst: 10}, ck) // refills in 1s
	for i := 0; i < 500; i++ {
		l.Allow(fmt.Sprint("addr-", i))
	}
	if n := l.Len(); n != 500 {
		t.Fatalf("Len = %d, want 500", n)
	}
	ck.add(2 * time.Second)
	l.Allow("fresh")
	if n := l.Len(); n != 1 {
		t.Fatalf("after the idle keys refilled, Len = %d, want 1", n)
	}
	// A busy key is kept: it has not refilled.
	for i := 0; i < 10; i++ {
		l.Allow("busy")
	}
	ck.add(1100 * time.Millisecond)
	l.Allow("other")
	if ok, _ := l.Allow("busy"); !ok {
		t.Fatal("busy key refused after refilling")
	}
}

// TestMaxKeys: however many distinct keys arrive (say, spoofed or rotating
// addresses), the map never holds more than MaxKeys.
func TestMaxKeys(t *testing.T) {
	ck := newClock()
	l := limiter(Config{Rate: 1, Burst: 5, MaxKeys: 1000}, ck)
	for i := 0; i < 100_000; i++ {
		l.Allow(fmt.Sprint("10.0.", i/256, ".", i%256))
		if n := l.Len(); n > 1000 {
			t.Fatalf("after %d keys Len = %d > MaxKeys", i+1, n)
		}
		if i%1000 == 0 {
			ck.add(time.Millisecond)
		}
	}
	// The limiter still limits a key that is hammering.
	for i := 0; i < 5; i++ {
		l.Allow("hot")
	}
	if ok, _ := l.Allow("hot"); ok {
		t.Fatal("hot key not limited")
	}
}

func TestConcurrent(t *testing.T) {
	l := New(Config{Rate: 1, Burst: 100, MaxKeys: 50})
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				if ok, _ := l.Allow("shared"); ok {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
				l.Allow(fmt.Sprint(g, "-", i))
			}
		}(g)
	}
	wg.Wait()
	// 1600 tries on "shared" within well under a second: about the burst.
	// (Past MaxKeys, "shared" may be dropped and refilled: lenient, never
	// stricter.)
	if allowed < 100 {
		t.Fatalf("allowed %d of the shared key's tries, want at least the burst of 100", allowed)
	}
	if l.Len() > 50 {
		t.Fatalf("Len = %d > MaxKeys", l.Len())
	}
}

func TestClientAddr(t *testing.T) {
	cases := []struct {
		remote, xff string
		trust       bool
		want        string
	}{
		{"192.0.2.7:5123", "", false, "192.0.2.7"},
		{"192.0.2.7:5123", "203.0.113.9", false, "192.0.2.7"}, // not trusted by default
		{"192.0.2.7:5123", "198.51.100.1, 203.0.113.9", true, "203.0.113.9"},
		{"192.0.2.7:5123", "garbage", true, "192.0.2.7"},
		{"[2001:db8:1:2:3:4:5:6]:443", "", false, "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::1]:443", "", false, "2001:db8:1:2::/64"},
		{"[::ffff:192.0.2.7]:80", "", false, "192.0.2.7"},
	}
	for _, c := range cases {
		r, _ := http.NewRequest("GET", "http://x/", nil)
		r.RemoteAddr = c.remote
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := ClientAddr(r, c.trust); got != c.want {
			t.Errorf("ClientAddr(%s, xff %q, trust %v) = %q, want %q", c.remote, c.xff, c.trust, got, c.want)
		}
	}
}
