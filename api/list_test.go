package api_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/apitest"
)

// listPage is a decoded list answer.
type listPage struct {
	ids    []string
	after  any // moreItemsAfter: nil or an ID
	before any // moreItemsBefore
	items  []obj
}

func getList(t *testing.T, e *apitest.Env, query string) listPage {
	t.Helper()
	r := e.Get("/connectSessions" + query)
	m := wantStatus(t, r, http.StatusOK)
	if len(m) != 4 || m["object"] != "list" {
		t.Fatalf("list = %s, want object, items, moreItemsAfter, moreItemsBefore", r.Body)
	}
	for _, k := range []string{"items", "moreItemsAfter", "moreItemsBefore"} {
		if _, ok := m[k]; !ok {
			t.Fatalf("list lacks %s: %s", k, r.Body)
		}
	}
	items, ok := m["items"].([]any)
	if !ok {
		t.Fatalf("items = %v", m["items"])
	}
	p := listPage{after: m["moreItemsAfter"], before: m["moreItemsBefore"], ids: []string{}}
	for _, it := range items {
		s := it.(map[string]any)
		checkSessionShape(t, s)
		if s["url"] != nil {
			t.Errorf("list item has a url: %v", s)
		}
		p.ids = append(p.ids, s["id"].(string))
		p.items = append(p.items, s)
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q", r.Header.Get("Cache-Control"))
	}
	return p
}

func TestList(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apitest.Env) {
		jerry := e.CreateUser("jerry@example.com")
		elaine := e.CreateUser("elaine@example.com")
		t.Run("empty", func(t *testing.T) {
			p := getList(t, e, "")
			if len(p.ids) != 0 || p.after != nil || p.before != nil {
				t.Errorf("empty list = %+v", p)
			}
		})

		// 25 sessions, oldest first; every third for jerry, every fifth for elaine.
		const n = 25
		created := make([]string, n)
		for i := range created {
			body := obj{"intent": plainIntent()}
			switch {
			case i%3 == 0:
				body["user"] = jerry
			case i%5 == 0:
				body["user"] = elaine
			}
			created[i] = createSession(t, e, body)["id"].(string)
			time.Sleep(2 * time.Millisecond) // IDs order by the millisecond
		}
		newestFirst := slices.Clone(created)
		slices.Reverse(newestFirst)
		other, otherKey := e.NewProject("other", nil)
		wantStatus(t, e.Do(apitest.Request{Method: "POST", Path: projectPath(other, "/connectSessions"), Key: otherKey,
			Body: obj{"intent": plainIntent()}}), http.StatusCreated)

		t.Run("newest_first_default_limit_10", func(t *testing.T) {
			p := getList(t, e, "")
			if !slices.Equal(p.ids, newestFirst[:10]) {
				t.Errorf("ids = %v, want %v", p.ids, newestFirst[:10])
			}
			if p.after != newestFirst[9] || p.before != nil {
				t.Errorf("moreItemsAfter = %v, moreItemsBefore = %v", p.after, p.before)
			}
		})

		t.Run("limit_bounds", func(t *testing.T) {
			if p := getList(t, e, "?limit=200"); len(p.ids) != n || p.after != nil || p.before != nil {
				t.Errorf("limit=200: %d items, after %v before %v", len(p.ids), p.after, p.before)
			}
			if p := getList(t, e, "?limit=1"); !slices.Equal(p.ids, newestFirst[:1]) || p.after != newestFirst[0] {
				t.Errorf("limit=1: %+v", p)
			}
			if p := getList(t, e, "?limit=25"); len(p.ids) != 25 || p.after != nil {
				t.Errorf("limit=25: %d items, after %v", len(p.ids), p.after)
			}
			if p := getList(t, e, "?limit=24"); len(p.ids) != 24 || p.after != newestFirst[23] {
				t.Errorf("limit=24: %d items, after %v", len(p.ids), p.after)
			}
			// limit=0 is refused (issue 10.7).
			for _, bad := range []string{"0", "201", "-1", "1000", "ten", "1.5", "0x10", "%205", "+5"} {
				want422(t, e.Get("/connectSessions?limit="+bad), detail{"limit", "outOfRange"})
			}
		})

		t.Run("paging_after_walks_to_the_end", func(t *testing.T) {
			var got []string
			q := "?limit=7"
			for pages := 0; ; pages++ {
				p := getList(t, e, q)
				got = append(got, p.ids...)
				if pages == 0 {
					if p.before != nil {
						t.Errorf("first page moreItemsBefore = %v", p.before)
					}
				} else if p.before != p.ids[0] {
					t.Errorf("page %d moreItemsBefore = %v, want its first item %s", pages, p.before, p.ids[0])
				}
				if p.after == nil {
					if len(got) != n {
						t.Fatalf("walked %d items, want %d", len(got), n)
					}
					break
				}
				if p.after != p.ids[len(p.ids)-1] {
					t.Fatalf("moreItemsAfter = %v, want the last item", p.after)
				}
				q = "?limit=7&after=" + p.after.(string)
				if pages > n {
					t.Fatal("paging does not end")
				}
			}
			if !slices.Equal(got, newestFirst) {
				t.Errorf("walk = %v\nwant %v", got, newestFirst)
			}
		})

		t.Run("paging_before_walks_back_to_the_start", func(t *testing.T) {
			// Start from the oldest item and walk towards the newest.
			var got [][]string
			q := "?limit=7&before=" + created[0]
			for pages := 0; ; pages++ {
				p := getList(t, e, q)
				if p.after != p.ids[len(p.ids)-1] {
					t.Errorf("page %d moreItemsAfter = %v, want its last item", pages, p.after)
				}
				got = append([][]string{p.ids}, got...)
				if p.before == nil {
					break
				}
				if p.before != p.ids[0] {
					t.Fatalf("moreItemsBefore = %v, want the first item", p.before)
				}
				q = "?limit=7&before=" + p.before.(string)
				if pages > n {
					t.Fatal("paging does not end")
				}
			}
			flat := slices.Concat(got...)
			if !slices.Equal(flat, newestFirst[:n-1]) {
				t.Errorf("walk = %v\nwant %v", flat, newestFirst[:n-1])
			}
			// The first page back from the oldest holds the 7 items just newer.
			p := getList(t, e, "?limit=7&before="+created[0])
			want := slices.Clone(created[1:8])
			slices.Reverse(want)
			if !slices.Equal(p.ids, want) {
				t.Errorf("before=oldest: %v, want %v", p.ids, want)
			}
		})

		t.Run("cursor_at_the_edges", func(t *testing.T) {
			p := getList(t, e, "?after="+created[0])
			if len(p.ids) != 0 || p.after != nil {
				t.Errorf("after the oldest: %+v", p)
			}
			p = getList(t, e, "?before="+created[n-1])
			if len(p.ids) != 0 || p.before != nil {
				t.Errorf("before the newest: %+v", p)
			}
			p = getList(t, e, "?limit=3&after="+created[3])
			if !slices.Equal(p.ids, []string{created[2], created[1], created[0]}) || p.after != nil || p.before != created[2] {
				t.Errorf("last page: %+v", p)
			}
		})

		t.Run("after_and_before_together_refused", func(t *testing.T) {
			want422(t, e.Get("/connectSessions?after="+created[10]+"&before="+created[5]), detail{"before", "exclusive"})
		})

		t.Run("cursor_must_be_a_session_id", func(t *testing.T) {
			want422(t, e.Get("/connectSessions?after="+jerry), detail{"after", "invalidId"})
			want422(t, e.Get("/connectSessions?before=x"), detail{"before", "invalidId"})
		})

		t.Run("filter_by_user", func(t *testing.T) {
			var want []string
			for _, id := range newestFirst {
				for i, c := range created {
					if c == id && i%3 == 0 {
						want = append(want, id)
					}
				}
			}
			p := getList(t, e, "?limit=200&user="+jerry)
			if !slices.Equal(p.ids, want) {
				t.Errorf("user=jerry: %v, want %v", p.ids, want)
			}
			for _, it := range p.items {
				if it["user"] != jerry {
					t.Errorf("item of user %v", it["user"])
				}
			}
			// Paging keeps the filter.
			p = getList(t, e, "?limit=3&user="+jerry)
			if !slices.Equal(p.ids, want[:3]) || p.after != want[2] {
				t.Errorf("user page 1: %+v", p)
			}
			p = getList(t, e, "?limit=3&user="+jerry+"&after="+want[2])
			if !slices.Equal(p.ids, want[3:6]) || p.before != want[3] {
				t.Errorf("user page 2: %+v", p)
			}
			if p := getList(t, e, "?user=usr_0000000000000000000000000000"); len(p.ids) != 0 {
				t.Errorf("unknown user: %v", p.ids)
			}
			want422(t, e.Get("/connectSessions?user="+created[0]), detail{"user", "invalidId"})
		})

		t.Run("empty_filter_refused", func(t *testing.T) {
			for _, q := range []string{"user=", "status=", "limit=", "after=", "before="} {
				k := q[:len(q)-1]
				want422(t, e.Get("/connectSessions?"+q), detail{k, "empty"})
			}
			want422(t, e.Get("/connectSessions?user"), detail{"user", "empty"})
		})

		t.Run("unknown_query_param_refused", func(t *testing.T) {
			want422(t, e.Get("/connectSessions?users="+jerry), detail{"users", "unknownParameter"})
			want422(t, e.Get("/connectSessions?starting_after="+created[1]), detail{"starting_after", "unknownParameter"})
		})

		t.Run("repeated_param_refused", func(t *testing.T) {
			want422(t, e.Get("/connectSessions?limit=1&limit=2"), detail{"limit", "repeated"})
			want422(t, e.Get("/connectSessions?user="+jerry+"&user="+elaine), detail{"user", "repeated"})
		})

		t.Run("every_query_problem_at_once", func(t *testing.T) {
			r := e.Get("/connectSessions?limit=500&status=done&bogus=1&user=")
			m := want422(t, r, detail{"limit", "outOfRange"}, detail{"status", "invalid"}, detail{"bogus", "unknownParameter"}, detail{"user", "empty"})
			if d := detailsOf(t, m); len(d) != 4 {
				t.Errorf("%d details, want 4: %v", len(d), d)
			}
		})

		t.Run("malformed_query_is_400", func(t *testing.T) {
			wantError(t, e.Get("/connectSessions?limit=%zz"), http.StatusBadRequest, "badRequest", "invalidQuery")
		})
	})
}

// TestListStatusFilter covers the status filter, including sessions that
// expired by their TTL without anything writing that down.
func TestListStatusFilter(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		s := connectd.DefaultProjectSettings()
		s.SessionTTL = connectd.Duration(time.Minute)
		e := apitest.New(t, apitest.Options{Backend: b, Settings: &s})

		mk := func() (string, string) {
			t.Helper()
			s := createSession(t, e, obj{"intent": plainIntent()})
			time.Sleep(2 * time.Millisecond)
			return s["id"].(string), entryToken(t, e, s["url"], s["id"].(string))
		}
		timedOut1, _ := mk()
		timedOut2, _ := mk()
		expired, _ := mk()
		wantStatus(t, e.Post("/connectSessions/"+expired+"/expire", nil), http.StatusOK)
		entered, tok := mk()
		mustConsume(t, e, entered, tok)

		e.Clock.Advance(2 * time.Minute) // the TTL of the first ones passed
		fresh := createSession(t, e, obj{"intent": plainIntent()})["id"].(string)

		cases := map[string][]string{
			"expired":   {expired, timedOut2, timedOut1},
			"open":      {fresh},
			"active":    {entered},
			"completed": {},
			"aborted":   {},
			"failed":    {},
		}
		for status, want := range cases {
			t.Run(status, func(t *testing.T) {
				p := getList(t, e, "?status="+status)
				if !slices.Equal(p.ids, want) {
					t.Errorf("status=%s: %v, want %v", status, p.ids, want)
				}
				for _, it := range p.items {
					if it["status"] != status {
						t.Errorf("item status %v in status=%s", it["status"], status)
					}
				}
			})
		}
		t.Run("paging_keeps_the_filter", func(t *testing.T) {
			p := getList(t, e, "?status=expired&limit=2")
			if !slices.Equal(p.ids, []string{expired, timedOut2}) || p.after != timedOut2 || p.before != nil {
				t.Errorf("page 1: %+v", p)
			}
			p = getList(t, e, "?status=expired&limit=2&after="+timedOut2)
			if !slices.Equal(p.ids, []string{timedOut1}) || p.after != nil || p.before != timedOut1 {
				t.Errorf("page 2: %+v", p)
			}
		})
		t.Run("unknown_status_refused", func(t *testing.T) {
			for _, bad := range []string{"done", "OPEN", "expired,open"} {
				want422(t, e.Get("/connectSessions?status="+bad), detail{"status", "invalid"})
			}
		})
		t.Run("timed_out_sessions_read_as_expired", func(t *testing.T) {
			g := wantStatus(t, e.Get("/connectSessions/"+timedOut1), http.StatusOK)
			if g["status"] != "expired" {
				t.Errorf("status = %v", g["status"])
			}
		})
	})
}
