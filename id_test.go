package connectd

import (
	"slices"
	"strings"
	"testing"
	"time"
)

var allPrefixes = []string{
	PrefixSession, PrefixUser, PrefixPlan, PrefixAddon, PrefixSIM, PrefixDevice,
	PrefixSubscription, PrefixPayment, PrefixPaymentMethod, PrefixPorting,
	PrefixEvent, PrefixAPIKey,
}

// checkIDShape fails unless id is prefix + "_" + 28 base62 characters.
func checkIDShape(t *testing.T, prefix, id string) {
	t.Helper()
	tail, ok := strings.CutPrefix(id, prefix+"_")
	if !ok {
		t.Fatalf("%q does not start with %q", id, prefix+"_")
	}
	if len(tail) != 28 {
		t.Fatalf("%q: %d characters after the prefix, want 28", id, len(tail))
	}
	for i := 0; i < len(tail); i++ {
		if !strings.ContainsRune(base62, rune(tail[i])) {
			t.Fatalf("%q: %q is not base62", id, tail[i])
		}
	}
	if !ValidID(prefix, id) {
		t.Fatalf("ValidID(%q, %q) = false for a fresh ID", prefix, id)
	}
}

func TestNewIDFormat(t *testing.T) {
	for _, p := range allPrefixes {
		t.Run(p, func(t *testing.T) {
			for range 100 {
				checkIDShape(t, p, NewID(p))
			}
		})
	}
}

func TestNewIDSpecExample(t *testing.T) {
	// The spec's example ID has the documented shape.
	const example = "csn_0SNlurA049MEWV1GWxpaE5D0t2D6"
	checkIDShape(t, PrefixSession, example)
}

func TestNewIDTimeOrdered(t *testing.T) {
	// IDs made 2ms apart sort in creation order, byte for byte.
	var ids []string
	for range 20 {
		ids = append(ids, NewID(PrefixSession))
		time.Sleep(2 * time.Millisecond)
	}
	if !slices.IsSorted(ids) {
		t.Fatalf("IDs made 2ms apart are not sorted:\n%s", strings.Join(ids, "\n"))
	}
}

func TestNewIDOrderedWithinAMillisecond(t *testing.T) {
	// A burst of IDs, many per millisecond: listed newest first, they must
	// come back in creation order, never shuffled within a millisecond.
	ids := make([]string, 5000)
	for i := range ids {
		ids[i] = NewID(PrefixDevice)
	}
	for i := 1; i < len(ids); i++ {
		if ids[i-1] >= ids[i] {
			t.Fatalf("ID %d (%s) does not sort after ID %d (%s)", i, ids[i], i-1, ids[i-1])
		}
	}
}

func TestNewIDAtTimeEncoding(t *testing.T) {
	tests := []struct {
		name string
		t    time.Time
		want string // the 8 time characters
	}{
		{"epoch", time.UnixMilli(0), "00000000"},
		{"1ms", time.UnixMilli(1), "00000001"},
		{"61ms", time.UnixMilli(61), "0000000z"},
		{"62ms", time.UnixMilli(62), "00000010"},
		{"2026", time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC), ""},
		{"last", time.UnixMilli(218340105584895), "zzzzzzzz"}, // 62^8-1
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := newIDAt(PrefixSession, tc.t, 0)
			checkIDShape(t, PrefixSession, id)
			got := id[len(PrefixSession)+1:][:idTimeChars]
			if tc.want != "" && got != tc.want {
				t.Errorf("time part = %q, want %q", got, tc.want)
			}
		})
	}
	// Any two instants at least 1ms apart give IDs in that order, whatever
	// the random part.
	base := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	steps := []time.Duration{time.Millisecond, 2 * time.Millisecond, time.Second, time.Hour, 24 * time.Hour, 365 * 24 * time.Hour}
	for _, d := range steps {
		for range 50 {
			a, b := newIDAt(PrefixUser, base, 0), newIDAt(PrefixUser, base.Add(d), 0)
			if a >= b {
				t.Fatalf("step %v: %q >= %q", d, a, b)
			}
		}
	}
}

func TestNewIDUnique(t *testing.T) {
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	seen := make(map[string]struct{}, n)
	// Same millisecond: only the random part tells them apart.
	at := time.Now()
	for i := range n {
		var id string
		if i%2 == 0 {
			id = NewID(PrefixSession)
		} else {
			id = newIDAt(PrefixSession, at, 0)
		}
		if _, dup := seen[id]; dup {
			t.Fatalf("duplicate ID %q after %d", id, i)
		}
		seen[id] = struct{}{}
	}
}

func TestValidID(t *testing.T) {
	tail28 := "0SNlurA049MEWV1GWxpaE5D0t2D6"
	tests := []struct {
		prefix, id string
		want       bool
	}{
		{"csn", "csn_" + tail28, true},
		{"sub", "sub_0U32VAxJ0Z7P8Y40mBAnOP9LPhEr", true},
		{"pay", "pay_0U32VAxJ0Z7P8Y40mBAnOP9LPhErx", true}, // 29 characters, as in a seed example
		{"usr", "usr_a", true},
		{"usr", "usr_" + strings.Repeat("Z", 60), true},  // 64 in all
		{"usr", "usr_" + strings.Repeat("Z", 61), false}, // 65
		{"usr", "usr_" + strings.Repeat("Z", 200), false},
		{"usr", "usr_", false}, // empty tail
		{"usr", "usr", false},
		{"usr", "", false},
		{"usr", "_abc", false},
		{"usr", "sub_" + tail28, false}, // wrong prefix
		{"usr", "USR_" + tail28, false}, // prefixes are case-sensitive
		{"usr", "usrx" + tail28, false}, // no underscore
		{"usr", "usr-" + tail28, false},
		{"usr", "usr__" + tail28, false},
		{"usr", "usr_" + tail28 + "_", false},
		{"usr", "usr_" + tail28 + "-", false},
		{"usr", "usr_abc def", false},
		{"usr", "usr_abc/def", false},
		{"usr", "usr_abc%20", false},
		{"usr", "usr_abc\x00", false},
		{"usr", "usr_abc\n", false},
		{"usr", "usr_abcé", false},
		{"usr", " usr_abc", false},
		{"usr", "usr_abc ", false},
		{"sub", "sub_../../etc", false},
		{"sub", "sub_'; DROP TABLE", false},
	}
	for _, tc := range tests {
		if got := ValidID(tc.prefix, tc.id); got != tc.want {
			t.Errorf("ValidID(%q, %q) = %v, want %v", tc.prefix, tc.id, got, tc.want)
		}
	}
}

// FuzzValidID: ValidID never panics, and whatever it accepts has the
// documented shape: the prefix, "_", 1 or more base62 characters, at most 64
// in all.
func FuzzValidID(f *testing.F) {
	f.Add("csn", "csn_0SNlurA049MEWV1GWxpaE5D0t2D6")
	f.Add("pay", "pay_0U32VAxJ0Z7P8Y40mBAnOP9LPhErx")
	f.Add("usr", "usr_")
	f.Add("usr", "usr")
	f.Add("", "_")
	f.Add("usr", "usr_"+strings.Repeat("z", 61))
	f.Fuzz(func(t *testing.T, prefix, s string) {
		if ValidID(prefix, s) {
			tail, ok := strings.CutPrefix(s, prefix+"_")
			if !ok || tail == "" || len(s) > MaxIDLength {
				t.Fatalf("ValidID(%q, %q) accepted a malformed ID", prefix, s)
			}
			for i := 0; i < len(tail); i++ {
				if !isBase62(tail[i]) {
					t.Fatalf("ValidID(%q, %q) accepted non-base62 %q", prefix, s, tail[i])
				}
			}
		}
		// A fresh ID is valid exactly when it fits in MaxIDLength.
		id := NewID(prefix)
		if got, want := ValidID(prefix, id), len(id) <= MaxIDLength; got != want {
			t.Fatalf("ValidID(%q, NewID) = %v, want %v (len %d)", prefix, got, want, len(id))
		}
	})
}
