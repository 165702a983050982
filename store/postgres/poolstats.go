package postgres

import "github.com/connectd/connectd"

var _ connectd.PoolStatser = (*Store)(nil)

// PoolStats reports the pgx pool, for metrics.
func (s *Store) PoolStats() []connectd.PoolStat {
	st := s.pool.Stat()
	return []connectd.PoolStat{{
		Pool:            "postgres",
		MaxOpen:         int(st.MaxConns()),
		Open:            int(st.TotalConns()),
		InUse:           int(st.AcquiredConns()),
		Idle:            int(st.IdleConns()),
		WaitCount:       st.EmptyAcquireCount(),
		WaitDuration:    st.EmptyAcquireWaitTime(),
		HasAcquire:      true,
		AcquireCount:    st.AcquireCount(),
		AcquireDuration: st.AcquireDuration(),
	}}
}
