package storetest

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd"
)

// EnvGrowthMax names the largest project size Growth loads (default
// DefaultGrowthMax). Larger sizes are skipped, so that go test -bench . stays
// quick. To measure a million sessions:
//
//	CONNECTD_GROWTH_MAX=1000000 go test -run '^$' -bench Growth -timeout 1h ./store/sqlite/
//	CONNECTD_GROWTH_MAX=1000000 CONNECTD_TEST_POSTGRES_URL=... go test -run '^$' -bench Growth -timeout 1h ./store/postgres/
const EnvGrowthMax = "CONNECTD_GROWTH_MAX"

// DefaultGrowthMax is the largest size Growth loads unless EnvGrowthMax says
// otherwise.
const DefaultGrowthMax = 100_000

// GrowthSizes are the project sizes Growth measures at, in sessions.
var GrowthSizes = []int{10_000, 100_000, 1_000_000}

// growthHot is how many sessions retrieve reads at every size.
const growthHot = 1024

// growthUsers is how many users the loaded sessions belong to: every other
// session has one of them, so that a user of a project of n sessions has
// n/(2*growthUsers) of them.
const growthUsers = 50

// growthMax is the largest size to load.
func growthMax(tb testing.TB) int {
	v := os.Getenv(EnvGrowthMax)
	if v == "" {
		return DefaultGrowthMax
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		tb.Fatalf("%s=%q: want a positive number of sessions", EnvGrowthMax, v)
	}
	return n
}

// Growth bulk-loads one project to each of GrowthSizes in turn and, at each
// size, measures the p50 latency of creating a session, retrieving one (of a
// fixed-size set spread evenly over the project: retrieve; of a set that
// grows with it: retrieveWide), and reading the first page (limit 10, newest first) of the project's sessions,
// with and without a user filter. The p50 is reported as the metric p50-ns
// (ns/op is the mean).
func Growth(b *testing.B, be Backend) {
	ctx := context.Background()
	s := be.New(b)
	p := mkProject(b, s)
	users := make([]string, growthUsers)
	for i := range users {
		users[i] = mkUser(b, s, p.ID).ID
	}
	maxN := growthMax(b)
	var ids []string  // one in 97 of the loaded sessions' IDs, for retrieveWide
	var fine []string // one in 8, to draw retrieve's fixed-size set from
	loaded := 0
	for _, size := range GrowthSizes {
		b.Run("n="+strconv.Itoa(size), func(b *testing.B) {
			if size > maxN {
				b.Skipf("larger than %s=%d", EnvGrowthMax, maxN)
			}
			start := time.Now()
			for loaded < size {
				n := min(size-loaded, 50_000)
				chunk := growthSessions(p.ID, users, loaded, n)
				be.Load(b, s, chunk)
				for i := 0; i < len(chunk); i += 97 {
					ids = append(ids, chunk[i].ID)
				}
				for i := 0; i < len(chunk); i += 8 {
					fine = append(fine, chunk[i].ID)
				}
				loaded += n
			}
			b.Logf("loaded %d sessions in %v", size, time.Since(start).Round(time.Millisecond))
			if be.Plans != nil {
				for _, plan := range be.Plans(b, s, p.ID, users[0]) {
					b.Logf("plan at n=%d:\n%s", size, plan)
					up := strings.ToUpper(plan)
					if strings.Contains(up, "SORT") || strings.Contains(up, "TEMP B-TREE") {
						b.Errorf("a list page sorts the project's rows (O(n), not O(limit)):\n%s", plan)
					}
				}
			}
			at := now()
			measure(b, "create", func(i int) error {
				cs, _ := newSession(p.ID, at)
				if i%2 == 0 {
					cs.UserID = &users[i%len(users)]
				}
				return s.CreateSession(ctx, cs, connectd.Idem{})
			})
			// The same access pattern at every size: growthHot sessions spread
			// evenly over the whole project, retrieved in a scattered order.
			hot := make([]string, min(growthHot, len(fine)))
			for j := range hot {
				hot[j] = fine[j*len(fine)/len(hot)]
			}
			measure(b, "retrieve", func(i int) error {
				_, err := s.GetSession(ctx, p.ID, hot[(i*7919)%len(hot)])
				return err
			})
			// One session in 97 of the project, a set that grows with it: at a
			// million, more pages than any page cache here holds, so that this
			// measures the cost of a cache miss rather than of the index.
			measure(b, "retrieveWide", func(i int) error {
				_, err := s.GetSession(ctx, p.ID, ids[(i*7919)%len(ids)])
				return err
			})
			measure(b, "list", func(int) error {
				page, err := s.ListSessions(ctx, p.ID, connectd.SessionFilter{ListParams: connectd.ListParams{Limit: 10}, Now: at})
				if err == nil && len(page.Items) != 10 {
					err = fmt.Errorf("a page of %d sessions, want 10", len(page.Items))
				}
				return err
			})
			measure(b, "listUser", func(i int) error {
				page, err := s.ListSessions(ctx, p.ID, connectd.SessionFilter{UserID: users[i%len(users)], ListParams: connectd.ListParams{Limit: 10}, Now: at})
				if err == nil && len(page.Items) != 10 {
					err = fmt.Errorf("a page of %d sessions, want 10", len(page.Items))
				}
				return err
			})
		})
	}
}

// measure runs op as a sub-benchmark and reports its p50.
func measure(b *testing.B, name string, op func(i int) error) {
	b.Run(name, func(b *testing.B) {
		lat := make([]time.Duration, 0, 1024)
		for i := 0; b.Loop(); i++ {
			t := time.Now()
			if err := op(i); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t))
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	})
}

// growthSessions returns n sessions of the project, numbered from first:
// every other one belongs to a user; one in three has ended.
func growthSessions(projectID string, users []string, first, n int) []*connectd.Session {
	at := now().Add(-time.Hour)
	out := make([]*connectd.Session, n)
	for i := range out {
		k := first + i
		cs, _ := newSession(projectID, at)
		if k%2 == 0 {
			cs.UserID = &users[(k/2)%len(users)]
		}
		if k%3 == 0 {
			cs.StoredStatus = connectd.StatusExpired
			cs.TokenHash = nil
		}
		out[i] = cs
	}
	slices.SortFunc(out, func(a, b *connectd.Session) int { return strings.Compare(a.ID, b.ID) })
	return out
}
