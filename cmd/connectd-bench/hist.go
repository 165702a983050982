package main

import (
	"math"
	"math/bits"
	"time"
)

// hist is a log-linear latency histogram in the spirit of HdrHistogram:
// values in microseconds, exact below 256 µs, then 128 sub-buckets per power
// of two, so that any percentile it reports is within 1/128 (0.8 %) of the
// recorded value. Its memory is fixed (about 58 KiB) whatever the number of
// samples, and two histograms merge by adding their counts.
type hist struct {
	counts [histBuckets]uint64
	n      uint64
	max    uint64 // exact, µs
	min    uint64 // exact, µs; valid when n > 0
	sum    float64
}

const (
	histSubBits  = 7
	histSub      = 1 << histSubBits // 128
	histExact    = 2 * histSub      // values below 256 µs are counted exactly
	histMaxShift = 64 - histSubBits - 1
	histBuckets  = histExact + histMaxShift*histSub
)

// bucketOf returns the index of the bucket counting v.
func bucketOf(v uint64) int {
	if v < histExact {
		return int(v)
	}
	shift := bits.Len64(v) - (histSubBits + 1) // keeps the top 8 bits
	m := v >> uint(shift)                      // in [128, 255]
	return histExact + (shift-1)*histSub + int(m-histSub)
}

// bucketHigh returns the largest value counted by bucket i.
func bucketHigh(i int) uint64 {
	if i < histExact {
		return uint64(i)
	}
	shift := (i-histExact)/histSub + 1
	m := uint64((i-histExact)%histSub + histSub)
	return (m+1)<<uint(shift) - 1
}

func (h *hist) record(d time.Duration) {
	v := uint64(0)
	if d > 0 {
		v = uint64(d / time.Microsecond)
	}
	h.counts[bucketOf(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
}

func (h *hist) merge(o *hist) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.sum += o.sum
}

// percentile returns the value at or below which p percent (0 < p <= 100)
// of the samples fall, as the highest value of that sample's bucket (never
// above the exact maximum). It is 0 for an empty histogram.
func (h *hist) percentile(p float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(p / 100 * float64(h.n)))
	if rank < 1 {
		rank = 1
	}
	if rank > h.n {
		rank = h.n
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			v := bucketHigh(i)
			if v > h.max {
				v = h.max
			}
			if v < h.min {
				v = h.min
			}
			return time.Duration(v) * time.Microsecond
		}
	}
	return time.Duration(h.max) * time.Microsecond
}

func (h *hist) maxDur() time.Duration { return time.Duration(h.max) * time.Microsecond }

func (h *hist) mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum/float64(h.n)) * time.Microsecond
}
