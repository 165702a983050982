package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/connectd/connectd/internal/poolstat"
)

// poolCollector reads a store's connection pools at every scrape.
type poolCollector struct {
	st poolstat.Reporter

	maxOpen, open, inUse, idle *prometheus.Desc
	waits, waitSeconds         *prometheus.Desc
	acquires, acquireSeconds   *prometheus.Desc
}

func newPoolCollector(st poolstat.Reporter) *poolCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("connectd_db_pool_"+name, help, []string{"pool"}, nil)
	}
	return &poolCollector{st: st,
		maxOpen:        d("max_connections", "Most connections the pool opens (0: no limit)."),
		open:           d("open_connections", "Connections open, in use or idle."),
		inUse:          d("in_use_connections", "Connections handed out (acquired)."),
		idle:           d("idle_connections", "Idle connections."),
		waits:          d("waits_total", "Acquisitions that had to wait for a connection (pgx: empty acquires)."),
		waitSeconds:    d("wait_seconds_total", "Time spent waiting for a connection."),
		acquires:       d("acquires_total", "Connections acquired (pools that count them: PostgreSQL)."),
		acquireSeconds: d("acquire_seconds_total", "Time spent acquiring connections (pools that count them: PostgreSQL)."),
	}
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.maxOpen, c.open, c.inUse, c.idle, c.waits, c.waitSeconds, c.acquires, c.acquireSeconds} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.st.PoolStats() {
		gauge := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, p.Pool)
		}
		counter := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, p.Pool)
		}
		gauge(c.maxOpen, float64(p.MaxOpen))
		gauge(c.open, float64(p.Open))
		gauge(c.inUse, float64(p.InUse))
		gauge(c.idle, float64(p.Idle))
		counter(c.waits, float64(p.WaitCount))
		counter(c.waitSeconds, p.WaitDuration.Seconds())
		if p.HasAcquire {
			counter(c.acquires, float64(p.AcquireCount))
			counter(c.acquireSeconds, p.AcquireDuration.Seconds())
		}
	}
}
