package hostile

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"testing"

	"github.com/connectd/connectd/internal/apitest"
)

// patchRounds is how many rounds of concurrent PATCHes TestConcurrentUserPatches
// runs per backend; CONNECTD_TEST_PATCH_ROUNDS raises it for a longer soak.
func patchRounds(t *testing.T) int {
	if s := os.Getenv("CONNECTD_TEST_PATCH_ROUNDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("CONNECTD_TEST_PATCH_ROUNDS=%q: want a positive number", s)
		}
		return n
	}
	return 10
}

// userFields are the fields of a user a PATCH may set, each with the value
// PATCH number i of a round gives it.
var userFields = []struct {
	name  string
	value func(round, i int) any
}{
	{"email", func(r, i int) any { return fmt.Sprintf("r%d-p%d@example.com", r, i) }},
	{"fullName", func(r, i int) any { return fmt.Sprintf("Name %d %d", r, i) }},
	{"birthday", func(r, i int) any { return fmt.Sprintf("%d-01-%02d", 1900+r%100, 1+i) }},
	{"preferredLocale", func(r, i int) any {
		return []string{"en-US", "de-DE", "fr-FR", "es-ES", "it-IT", "nl-NL", "pt-BR", "sv-SE", "da-DK", "fi-FI",
			"nb-NO", "pl-PL", "cs-CZ", "el-GR", "ja-JP", "ko-KR", "zh-CN", "tr-TR", "hu-HU", "ro-RO"}[i]
	}},
	{"metadata", func(r, i int) any { return map[string]any{"patch": fmt.Sprintf("%d-%d", r, i)} }},
	{"address", func(r, i int) any {
		return map[string]any{"line1": fmt.Sprintf("%d Main St", 100*r+i), "city": "Springfield", "postalCode": "12345", "country": "US"}
	}},
}

// TestConcurrentUserPatches (issue 11.3): 20 concurrent PATCHes of one user,
// each setting one of its fields, lose none. A store that wrote the whole
// row back would let a PATCH of one field undo a concurrent PATCH of
// another; afterwards every field must hold a value one of the round's
// PATCHes gave it, never its value from before the round.
func TestConcurrentUserPatches(t *testing.T) {
	const n = 20
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		e := apitest.New(t, apitest.Options{Backend: b})
		rounds := patchRounds(t)
		for round := range rounds {
			id := e.CreateUser(fmt.Sprintf("round%d@example.com", round))
			// The round's starting point: every field set, to a value no
			// PATCH of the round uses.
			start := map[string]any{"fullName": "Before", "birthday": "1890-06-15", "preferredLocale": "en-GB",
				"metadata": map[string]any{"patch": "before"},
				"address":  map[string]any{"line1": "1 Old Rd", "city": "Shelbyville", "postalCode": "54321", "country": "US"}}
			if r := e.Patch("/users/"+id, start); r.Status != http.StatusOK {
				t.Fatalf("round %d: PATCH of the start: %d %s", round, r.Status, r.Body)
			}
			// PATCH i sets field i%6; want[field] collects the values PATCHed into it.
			want := map[string][]string{}
			for i := range n {
				f := userFields[i%len(userFields)]
				want[f.name] = append(want[f.name], canon(f.value(round, i)))
			}
			answers := apitest.AtOnce(n, func(i int) *apitest.Response {
				f := userFields[i%len(userFields)]
				return e.Patch("/users/"+id, map[string]any{f.name: f.value(round, i)})
			})
			for i, r := range answers {
				if r.Status != http.StatusOK {
					t.Fatalf("round %d: PATCH %d (%s): %d %s", round, i, userFields[i%len(userFields)].name, r.Status, r.Body)
				}
			}
			r := e.Get("/users/" + id)
			if r.Status != http.StatusOK {
				t.Fatalf("round %d: GET: %d %s", round, r.Status, r.Body)
			}
			got := r.JSON(t)
			lost := 0
			for _, f := range userFields {
				g := canon(got[f.name])
				ok := false
				for _, w := range want[f.name] {
					ok = ok || g == w
				}
				if !ok {
					lost++
					t.Errorf("round %d: %s is %s after the round, want one of the values PATCHed into it %v: a concurrent PATCH of another field undid its PATCHes",
						round, f.name, g, want[f.name])
				}
			}
			if lost > 0 {
				t.Fatalf("round %d of %d: %d of %d fields lost their PATCHes", round, rounds, lost, len(userFields))
			}
		}
		t.Logf("%s: %d rounds of %d concurrent PATCHes of %d fields: no update lost", b, rounds, n, len(userFields))
	})
}

// canon names a field's value for comparison: a string as it is, metadata
// by its one key, an address by its first line.
func canon(v any) string {
	if m, ok := v.(map[string]any); ok {
		if p, ok := m["patch"]; ok {
			return fmt.Sprint(p)
		}
		return fmt.Sprint(m["line1"])
	}
	return fmt.Sprint(v)
}
