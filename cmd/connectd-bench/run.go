package main

import (
	"context"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

type epResult struct {
	Endpoint   string            `json:"endpoint"`
	Requests   uint64            `json:"requests"`
	OK         uint64            `json:"ok"`
	Errors     uint64            `json:"errors"`
	RPS        float64           `json:"rps"` // successful requests per second
	P50ms      float64           `json:"p50_ms"`
	P90ms      float64           `json:"p90_ms"`
	P99ms      float64           `json:"p99_ms"`
	MaxMs      float64           `json:"max_ms"`
	MeanMs     float64           `json:"mean_ms"`
	ErrorKinds map[string]uint64 `json:"error_kinds,omitempty"`
}

type runResult struct {
	Target      string     `json:"target"`
	Scenario    string     `json:"scenario"`
	Round       int        `json:"round"`
	Connections int        `json:"connections"`
	ElapsedSec  float64    `json:"elapsed_s"`
	StoppedBy   string     `json:"stopped_by"` // duration, requests, pool (no unused session left for entry)
	Op          epResult   `json:"op"`         // one operation of the scenario (entry: the whole flow)
	Endpoints   []epResult `json:"endpoints"`
	// Memory of the server process, when its PID is known: the largest
	// VmRSS sampled every 100 ms during the measured run, and VmHWM read
	// after it (reset to the current RSS before the run when the kernel
	// allows it, HWMReset; else the peak since the process started).
	RSSPeakMiB float64 `json:"rss_peak_sampled_mib,omitempty"`
	VmHWMMiB   float64 `json:"vmhwm_mib,omitempty"`
	HWMReset   bool    `json:"vmhwm_reset_before_run,omitempty"`
}

type runOpts struct {
	conns    int
	duration time.Duration
	requests int64
	warmup   time.Duration
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func toResult(name string, s *epStats, elapsed time.Duration) epResult {
	r := epResult{Endpoint: name, Requests: s.h.n, OK: s.ok, Errors: s.errors,
		P50ms: ms(s.h.percentile(50)), P90ms: ms(s.h.percentile(90)), P99ms: ms(s.h.percentile(99)),
		MaxMs: ms(s.h.maxDur()), MeanMs: ms(s.h.mean())}
	if elapsed > 0 {
		r.RPS = float64(s.ok) / elapsed.Seconds()
	}
	if len(s.codes) > 0 {
		r.ErrorKinds = s.codes
	}
	return r
}

// phase runs scenario on t with opts.conns workers until opts.duration has
// passed, maxOps operations were started, or an entry found no unused
// session, whichever comes first. It returns the merged statistics.
func phase(ctx context.Context, t *target, scenario string, conns int, dur time.Duration, maxOps int64) (map[string]*epStats, *epStats, time.Duration, string) {
	var (
		started atomic.Int64
		stop    atomic.Bool
		wg      sync.WaitGroup
		mu      sync.Mutex
		merged  = map[string]*epStats{}
		op      = &epStats{codes: map[string]uint64{}}
		stopped atomic.Value
	)
	stopped.Store("duration")
	deadline := time.Now().Add(dur)
	t0 := time.Now()
	for c := 0; c < conns; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			w := &worker{t: t, rng: rand.New(rand.NewPCG(uint64(c)+1, uint64(t0.UnixNano()))), n: c, eps: map[string]*epStats{}, stop: &stop}
			wop := &epStats{codes: map[string]uint64{}}
			for !stop.Load() && ctx.Err() == nil {
				if time.Now().After(deadline) {
					break
				}
				if started.Add(1) > maxOps {
					stopped.CompareAndSwap("duration", "requests")
					break
				}
				s := time.Now()
				ok := w.op(ctx, scenario)
				if w.exhausted {
					break // no unused session left: that attempt sent nothing
				}
				wop.h.record(time.Since(s))
				if ok {
					wop.ok++
				} else {
					wop.errors++
				}
				w.n++
			}
			if stop.Load() {
				stopped.Store("pool")
			}
			mu.Lock()
			for name, s := range w.eps {
				m := merged[name]
				if m == nil {
					m = &epStats{codes: map[string]uint64{}}
					merged[name] = m
				}
				m.h.merge(&s.h)
				m.ok += s.ok
				m.errors += s.errors
				for k, v := range s.codes {
					m.codes[k] += v
				}
			}
			op.h.merge(&wop.h)
			op.ok += wop.ok
			op.errors += wop.errors
			mu.Unlock()
		}(c)
	}
	wg.Wait()
	return merged, op, time.Since(t0), stopped.Load().(string)
}

// measure runs a warm-up phase (discarded) and then the measured one.
func measure(ctx context.Context, t *target, scenario string, round int, o runOpts) runResult {
	if o.warmup > 0 {
		phase(ctx, t, scenario, o.conns, o.warmup, o.requests)
	}
	rs := startRSS(t.pid)
	eps, op, elapsed, stoppedBy := phase(ctx, t, scenario, o.conns, o.duration, o.requests)
	sampled, hwm := rs.finish()
	r := runResult{Target: t.name, Scenario: scenario, Round: round, Connections: o.conns,
		ElapsedSec: elapsed.Seconds(), StoppedBy: stoppedBy, Op: toResult(scenario, op, elapsed)}
	names := make([]string, 0, len(eps))
	for n := range eps {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return epOrder(names[i]) < epOrder(names[j]) })
	for _, n := range names {
		r.Endpoints = append(r.Endpoints, toResult(n, eps[n], elapsed))
	}
	if rs != nil {
		r.RSSPeakMiB = float64(sampled) / (1 << 20)
		r.VmHWMMiB = float64(hwm) / (1 << 20)
		r.HWMReset = rs.hwmRst
	}
	return r
}

func epOrder(n string) int {
	for i, x := range []string{epCreate, epGet, epList, epListUser, epEntry, epEntryGet, epEntryPost} {
		if x == n {
			return i
		}
	}
	return 99
}
