package api_test

import (
	"net/http"
	"testing"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/apitest"
)

// TestListLimitZeroAndUnknownCursor: limit=0 is refused with a 422 naming
// limit rather than answering an empty page with moreItemsAfter null (issue
// 10.7), and after=/before= with an ID of the right kind that names no
// object of the list is refused with cursorNotFound rather than answering
// the first page (issue 10.8), for sessions, users and platform resources.
// An object of another project is no cursor either; a cursor that no longer
// matches a filter still is.
func TestListLimitZeroAndUnknownCursor(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		e, other := newEnv(t, b), newEnv(t, b)
		w := rsSetup(t, e)
		sess := createSession(t, e, obj{"intent": plainIntent(), "user": w.userA})["id"].(string)
		otherUser := other.CreateUser("o@example.com")
		otherSess := createSession(t, other, obj{"intent": plainIntent(), "user": otherUser})["id"].(string)
		lists := []struct {
			path, prefix, known, foreign string
		}{
			{"/connectSessions", connectd.PrefixSession, sess, otherSess},
			{"/connectSessions?status=completed", connectd.PrefixSession, sess, otherSess},
			{"/users", connectd.PrefixUser, w.userA, otherUser},
			{"/devices", connectd.PrefixDevice, w.device, ""},
			{"/plans", connectd.PrefixPlan, w.plan, ""},
			{"/subscriptions", connectd.PrefixSubscription, w.sub, ""},
		}
		join := func(path, q string) string {
			for i := range path {
				if path[i] == '?' {
					return path + "&" + q
				}
			}
			return path + "?" + q
		}
		for _, l := range lists {
			t.Run(l.path, func(t *testing.T) {
				want422(t, e.Get(join(l.path, "limit=0")), detail{"limit", "outOfRange"})
				wantStatus(t, e.Get(join(l.path, "limit=1")), http.StatusOK)
				unknown := connectd.NewID(l.prefix)
				for _, c := range []string{"after", "before"} {
					want422(t, e.Get(join(l.path, c+"="+unknown)), detail{c, "cursorNotFound"})
					want422(t, e.Get(join(l.path, "limit=5&"+c+"="+unknown)), detail{c, "cursorNotFound"})
					if l.foreign != "" {
						want422(t, e.Get(join(l.path, c+"="+l.foreign)), detail{c, "cursorNotFound"})
					}
					// A known object is a cursor even where the filter no
					// longer matches it (status=completed).
					wantStatus(t, e.Get(join(l.path, c+"="+l.known)), http.StatusOK)
				}
			})
		}
	})
}
