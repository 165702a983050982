package postgres

import "github.com/connectd/connectd/internal/poolstat"

var _ poolstat.Reporter = (*Store)(nil)

// PoolStats reports the pgx pool, for metrics.
func (s *Store) PoolStats() []poolstat.Stat {
	st := s.pool.Stat()
	return []poolstat.Stat{{
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
