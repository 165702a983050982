// Package poolstat is what a store reports of its database connection
// pools, for metrics. It is a leaf: metrics reads it without importing any
// store, and the stores return it without importing metrics.
package poolstat

import "time"

// Stat is a snapshot of one database connection pool, for metrics.
type Stat struct {
	// Pool names the pool within its store: "postgres", or "writer" and
	// "reader" for SQLite's two pools.
	Pool string
	// MaxOpen is the most connections the pool opens (0: no limit).
	MaxOpen int
	// Open, InUse and Idle count the pool's connections: all of them, the
	// ones handed out, and the ones waiting to be.
	Open, InUse, Idle int
	// WaitCount counts the acquisitions that found no idle connection and
	// had to wait (for PostgreSQL: pgx's empty acquires); WaitDuration is the
	// time they waited, in total.
	WaitCount    int64
	WaitDuration time.Duration
	// HasAcquire says whether the pool counts every acquisition:
	// AcquireCount and AcquireDuration (their total time) are then set.
	// database/sql pools do not.
	HasAcquire      bool
	AcquireCount    int64
	AcquireDuration time.Duration
}

// Reporter is a store that reports its connection pools. Both stores
// implement it; metrics read it at every scrape.
type Reporter interface {
	PoolStats() []Stat
}
