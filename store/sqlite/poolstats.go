package sqlite

import (
	"database/sql"

	"github.com/connectd/connectd/internal/poolstat"
)

var _ poolstat.Reporter = (*Store)(nil)

// PoolStats reports the writer and the reader pools, for metrics.
func (s *Store) PoolStats() []poolstat.Stat {
	var out []poolstat.Stat
	for _, p := range []struct {
		name string
		db   *sql.DB
	}{{"writer", s.w}, {"reader", s.r}} {
		if p.db == nil {
			continue
		}
		st := p.db.Stats()
		out = append(out, poolstat.Stat{Pool: p.name, MaxOpen: st.MaxOpenConnections,
			Open: st.OpenConnections, InUse: st.InUse, Idle: st.Idle,
			WaitCount: st.WaitCount, WaitDuration: st.WaitDuration})
	}
	return out
}
