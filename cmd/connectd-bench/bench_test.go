package main

import (
	"math"
	"net"
	"sort"
	"testing"
	"time"
)

func TestHistPercentiles(t *testing.T) {
	var h hist
	for v := 1; v <= 10000; v++ { // 1 µs .. 10 ms
		h.record(time.Duration(v) * time.Microsecond)
	}
	for _, c := range []struct {
		p    float64
		want float64 // µs
	}{{50, 5000}, {90, 9000}, {99, 9900}, {99.9, 9990}, {100, 10000}} {
		got := float64(h.percentile(c.p) / time.Microsecond)
		if got < c.want || got > c.want*(1+1.0/128) {
			t.Errorf("p%v = %v µs, want %v µs within +0.8%%", c.p, got, c.want)
		}
	}
	if h.maxDur() != 10*time.Millisecond || h.n != 10000 {
		t.Errorf("max %v n %d", h.maxDur(), h.n)
	}
	if m := h.mean(); m < 5000*time.Microsecond || m > 5001*time.Microsecond {
		t.Errorf("mean %v", m)
	}
}

func TestHistExactSmallAndMerge(t *testing.T) {
	var a, b hist
	for i := 0; i < 99; i++ {
		a.record(100 * time.Microsecond)
	}
	b.record(3 * time.Second)
	a.merge(&b)
	if got := a.percentile(50); got != 100*time.Microsecond {
		t.Errorf("p50 = %v, want 100µs exactly", got)
	}
	if got := a.percentile(99); got != 100*time.Microsecond {
		t.Errorf("p99 = %v, want 100µs", got)
	}
	if got := a.percentile(100); got != 3*time.Second {
		t.Errorf("p100 = %v, want 3s (the exact max)", got)
	}
	var empty hist
	if empty.percentile(99) != 0 || empty.mean() != 0 {
		t.Error("empty histogram should report 0")
	}
}

// The histogram agrees with sorting the samples, within its bucket width.
func TestHistAgreesWithSort(t *testing.T) {
	var h hist
	var xs []float64
	v := uint64(12345)
	for i := 0; i < 50000; i++ {
		v = v*6364136223846793005 + 1442695040888963407
		us := float64(v>>40) / float64(1<<24) * 200000 // 0..200 ms, uneven
		us = us * us / 200000
		h.record(time.Duration(us) * time.Microsecond)
		xs = append(xs, math.Floor(us))
	}
	sort.Float64s(xs)
	for _, p := range []float64{50, 90, 99} {
		exact := xs[int(math.Ceil(p/100*float64(len(xs))))-1]
		got := float64(h.percentile(p) / time.Microsecond)
		if got < exact || got > exact*(1+1.0/128)+1 {
			t.Errorf("p%v = %v, sorted says %v", p, got, exact)
		}
	}
}

func TestBucketsCoverEveryValue(t *testing.T) {
	last := -1
	for _, v := range []uint64{0, 1, 255, 256, 257, 511, 512, 1 << 20, 1<<40 + 12345, math.MaxUint64} {
		i := bucketOf(v)
		if i < 0 || i >= histBuckets || i < last {
			t.Fatalf("bucketOf(%d) = %d", v, i)
		}
		if hi := bucketHigh(i); hi < v {
			t.Fatalf("bucketHigh(%d) = %d < %d", i, hi, v)
		}
		last = i
	}
}

func TestLoopbackOnly(t *testing.T) {
	for _, ok := range []string{"http://127.0.0.1:8080", "http://localhost:8080/", "http://[::1]:9000", "http://127.1.2.3:80"} {
		if _, err := checkLoopback(ok); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"http://10.0.0.1:8080", "http://example.com", "http://192.168.1.5", "https://connect.example.com",
		"http://0.0.0.0:8080", "http://[::]:8080", "ftp://127.0.0.1", "127.0.0.1:8080", "http://user:pw@127.0.0.1:8080", "http://127.0.0.1.nip.io"} {
		if _, err := checkLoopback(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if err := loopbackControl("tcp", "127.0.0.1:80", nil); err != nil {
		t.Errorf("dial control refused loopback: %v", err)
	}
	if err := loopbackControl("tcp", net.JoinHostPort("93.184.216.34", "80"), nil); err == nil {
		t.Error("dial control accepted a public address")
	}
}

func TestMedian(t *testing.T) {
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median = %v", m)
	}
	if m := median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Errorf("median = %v", m)
	}
}
