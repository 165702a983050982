package hostile

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/apitest"
)

// lostAck is a store whose next resource write, once armed, commits and
// then fails: the process died, or the connection broke, right after the
// COMMIT. The resource is durable but the request never learns it, and
// whatever the service meant to do after the write (complete its
// idempotency key) does not happen.
type lostAck struct {
	connectd.Store
	armed atomic.Bool
}

var errLostAck = errors.New("connection lost after commit")

func (s *lostAck) after(err error) error {
	if err == nil && s.armed.CompareAndSwap(true, false) {
		return errLostAck
	}
	return err
}

func (s *lostAck) CreateResource(ctx context.Context, r *connectd.ResourceRecord) error {
	return s.after(s.Store.CreateResource(ctx, r))
}

func (s *lostAck) WriteResources(ctx context.Context, projectID string, writes []connectd.ResourceWrite) error {
	return s.after(s.Store.WriteResources(ctx, projectID, writes))
}

// TestIdempotentCreateAfterLostAnswer (issue 11.4): a resource create whose
// write committed but whose request failed right after (a crash stands for
// it) is answered to its retry, sent later with the same Idempotency-Key,
// with the resource it created: one resource, never a second. The key is
// completed in the transaction of the write, so no crash can fall between
// the two.
func TestIdempotentCreateAfterLostAnswer(t *testing.T) {
	cases := []struct {
		path string
		body obj
	}{
		{"/plans", obj{"name": "Basic", "status": "active", "price": obj{"amount": 1500, "currency": "USD"}}},
		{"/sims", obj{"type": "eSIM", "iccid": "8988247000109876543", "activationCode": "LPA:1$smdp.example.com$K2-9ZYX-WVUT"}},
	}
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		st := &lostAck{Store: apitest.NewStore(t, b)}
		e := apitest.New(t, apitest.Options{Store: st})
		for _, c := range cases {
			post := func() *apitest.Response {
				return e.Do(apitest.Request{Method: http.MethodPost, Path: "/projects/" + e.Project + c.path, Body: c.body,
					Header: map[string]string{"Idempotency-Key": "lost-answer" + c.path}})
			}
			st.armed.Store(true)
			if r := post(); r.Status != http.StatusInternalServerError {
				t.Fatalf("POST %s whose answer is lost: %d %s, want 500", c.path, r.Status, r.Body)
			}
			if st.armed.Load() {
				t.Fatalf("POST %s did not write through the store", c.path)
			}
			// The client retries later, past the lease of an in-flight
			// claim: as it would after a crash.
			e.Clock.Advance(time.Minute)
			r := post()
			if r.Status != http.StatusCreated && r.Status != http.StatusOK {
				t.Fatalf("retry of POST %s: %d %s", c.path, r.Status, r.Body)
			}
			id := r.JSON(t)["id"]
			list := e.Get(c.path + "?limit=100")
			if list.Status != http.StatusOK {
				t.Fatalf("GET %s: %d %s", c.path, list.Status, list.Body)
			}
			items := list.JSON(t)["items"].([]any)
			if len(items) != 1 || items[0].(map[string]any)["id"] != id {
				t.Fatalf("after a lost answer and its retry: %d resources at %s (retry answered %v), want exactly the one the first request created",
					len(items), c.path, id)
			}
		}
	})
}
