package postgres_test

import (
	"testing"

	"github.com/connectd/connectd/store/storetest"
)

// TestConformance runs the suite every store passes (backend_test.go).
func TestConformance(t *testing.T) { storetest.Run(t, backend) }

func BenchmarkStore(b *testing.B) { storetest.Bench(b, backend.New) }

// BenchmarkGrowth: see storetest.Growth (CONNECTD_GROWTH_MAX=1000000 for the
// million).
func BenchmarkGrowth(b *testing.B) { storetest.Growth(b, backend) }
