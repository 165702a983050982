package storetest

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/connectd/connectd"
)

// Bench measures the hot paths of a store: creating a session (from
// parallel clients), reading one, and opening one by its token.
//
// CreateSession runs GOMAXPROCS clients; CreateSession32 runs 32, as many as
// the connections of the load tests (wrk -c32), which is where batching
// commits pays.
func Bench(b *testing.B, newStore func(testing.TB) connectd.Store) {
	create := func(clients int) func(b *testing.B) {
		return func(b *testing.B) {
			s := newStore(b)
			p := mkProject(b, s)
			at := now()
			if clients > 0 {
				b.SetParallelism((clients + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					cs, _ := newSession(p.ID, at)
					if err := s.CreateSession(ctx, cs, connectd.Idem{}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
	}
	b.Run("CreateSession", create(0))
	b.Run("CreateSession32", create(32))
	b.Run("GetSession", func(b *testing.B) {
		s := newStore(b)
		p := mkProject(b, s)
		ids := make([]string, 1000)
		for i := range ids {
			cs, _ := mkSession(b, s, p.ID, func(cs *connectd.Session) { cs.Intent = intentFor(connectd.IntentCheckoutNewSubscription) })
			ids[i] = cs.ID
		}
		ctx := context.Background()
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := s.GetSession(ctx, p.ID, ids[i%len(ids)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ConsumeToken", func(b *testing.B) {
		s := newStore(b)
		p := mkProject(b, s)
		type pair struct {
			id   string
			hash []byte
		}
		// Tokens are used up: make fresh sessions in batches, off the clock.
		var pending []pair
		refill := func() {
			for range 1000 {
				cs, token := mkSession(b, s, p.ID)
				pending = append(pending, pair{cs.ID, connectd.HashToken(token)})
			}
		}
		ctx := context.Background()
		at := now().Add(time.Second)
		b.ReportAllocs()
		for b.Loop() {
			if len(pending) == 0 {
				b.StopTimer()
				refill()
				b.StartTimer()
			}
			x := pending[len(pending)-1]
			pending = pending[:len(pending)-1]
			if _, err := s.ConsumeToken(ctx, x.id, x.hash, at); err != nil {
				b.Fatal(err)
			}
		}
	})
}
