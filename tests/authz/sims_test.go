package authz

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/apitest"
	"github.com/connectd/connectd/payments"
	"github.com/connectd/connectd/service"
)

// Issue 11.1 and 11.2 through the API, on both backends: a SIM is on at
// most one subscription that has not ended, its status follows, and an
// ICCID is unique in the project; the database refuses the rest.

// simEnv is a project with a plan, users and SIMs made through the API.
type simEnv struct {
	t    *testing.T
	e    *apitest.Env
	plan string
}

func newSIMEnv(t *testing.T, b apitest.Backend) *simEnv {
	e := apitest.New(t, apitest.Options{Backend: b})
	s := &simEnv{t: t, e: e}
	s.plan = s.create("plans", obj{"name": "Basic", "status": "active", "price": obj{"amount": 1000, "currency": "USD"},
		"validity": obj{"type": "recurring"}})
	return s
}

var simSeq struct {
	sync.Mutex
	n int
}

func (s *simEnv) do(method, path string, body any) *apitest.Response {
	return s.e.Do(apitest.Request{Method: method, Path: "/projects/" + s.e.Project + path, Body: body})
}

// create POSTs body to the collection and returns the new ID.
func (s *simEnv) create(coll string, body obj) string {
	s.t.Helper()
	r := s.do("POST", "/"+coll, body)
	if r.Status != http.StatusCreated {
		s.t.Fatalf("POST %s: %d %s", coll, r.Status, r.Body)
	}
	return r.JSON(s.t)["id"].(string)
}

func (s *simEnv) user() string {
	simSeq.Lock()
	simSeq.n++
	n := simSeq.n
	simSeq.Unlock()
	return s.create("users", obj{"email": fmt.Sprintf("u%d@example.com", n)})
}

// sim creates a pSIM and returns its ID and ICCID.
func (s *simEnv) sim() (id, iccid string) {
	simSeq.Lock()
	simSeq.n++
	iccid = fmt.Sprintf("89011100000%08d", simSeq.n)
	simSeq.Unlock()
	return s.create("sims", obj{"type": "pSIM", "iccid": iccid}), iccid
}

func (s *simEnv) sub(user, sim string) string {
	body := obj{"user": user, "plan": s.plan, "status": "active", "recurring": true}
	if sim != "" {
		body["sim"] = sim
	}
	return s.create("subscriptions", body)
}

func (s *simEnv) simStatus(id string) string {
	s.t.Helper()
	r := s.do("GET", "/sims/"+id, nil)
	if r.Status != http.StatusOK {
		s.t.Fatalf("GET sim: %d %s", r.Status, r.Body)
	}
	return r.JSON(s.t)["status"].(string)
}

// refusedNaming reports whether r is a 409 of code naming field.
func refusedNaming(r *apitest.Response, code, field string) bool {
	return r.Status == http.StatusConflict && strings.Contains(string(r.Body), `"code":"`+code+`"`) &&
		strings.Contains(string(r.Body), `"field":"`+field+`"`)
}

func TestSIMOnOneSubscription(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		s := newSIMEnv(t, b)
		jerry, george := s.user(), s.user()
		s1, iccid1 := s.sim()
		s2, _ := s.sim()
		jerrySub := s.sub(jerry, s1)
		georgeSub := s.sub(george, "")
		if got := s.simStatus(s1); got != connectd.SIMAssigned {
			t.Errorf("a SIM put on a subscription through the API is %q, want assigned", got)
		}
		steps := []struct {
			name         string
			method, path string
			body         obj
			status       int
			code, field  string
			sims         map[string]string // SIM statuses after the step
		}{
			{"create on a SIM in use", "POST", "/subscriptions", obj{"user": george, "plan": s.plan, "sim": s1, "status": "active", "recurring": true},
				409, "simAssigned", "sim", map[string]string{s1: "assigned", s2: "available"}},
			{"PATCH onto a SIM in use", "PATCH", "/subscriptions/" + georgeSub, obj{"sim": s1}, 409, "simAssigned", "sim", nil},
			{"a second SIM with an ICCID that exists", "POST", "/sims", obj{"type": "pSIM", "iccid": iccid1}, 409, "iccidExists", "iccid", nil},
			{"PATCH onto a free SIM", "PATCH", "/subscriptions/" + georgeSub, obj{"sim": s2}, 200, "", "",
				map[string]string{s2: "assigned"}},
			{"ending a subscription frees its SIM", "PATCH", "/subscriptions/" + jerrySub, obj{"status": "ended"}, 200, "", "",
				map[string]string{s1: "available"}},
			{"moving to the freed SIM frees the old one", "PATCH", "/subscriptions/" + georgeSub, obj{"sim": s1}, 200, "", "",
				map[string]string{s1: "assigned", s2: "available"}},
			{"an ended subscription cannot come back on a SIM in use", "PATCH", "/subscriptions/" + jerrySub, obj{"status": "active"},
				409, "simAssigned", "sim", map[string]string{s1: "assigned"}},
			{"an ended subscription may keep its SIM", "PATCH", "/subscriptions/" + jerrySub, obj{"recurring": false}, 200, "", "", nil},
		}
		for _, st := range steps {
			r := s.do(st.method, st.path, st.body)
			if st.code != "" && !refusedNaming(r, st.code, st.field) || st.code == "" && r.Status != st.status {
				t.Errorf("%s: got %d %s, want %d %s naming %q", st.name, r.Status, r.Body, st.status, st.code, st.field)
			}
			for id, want := range st.sims {
				if got := s.simStatus(id); got != want {
					t.Errorf("%s: SIM %s is %q, want %q", st.name, id, got, want)
				}
			}
		}
	})
}

// TestSIMAttachRace: 50 concurrent attempts to put one SIM on 50 different
// subscriptions (25 creates, 25 PATCHes of existing ones): exactly one
// succeeds, every other is a 409 simAssigned, never a 5xx.
func TestSIMAttachRace(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		s := newSIMEnv(t, b)
		const n = 50
		users := make([]string, 5)
		for i := range users {
			users[i] = s.user()
		}
		sim, _ := s.sim()
		existing := make([]string, n/2)
		for i := range existing {
			existing[i] = s.sub(users[i%len(users)], "")
		}
		rs := make([]*apitest.Response, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				if i < n/2 {
					rs[i] = s.do("PATCH", "/subscriptions/"+existing[i], obj{"sim": sim})
				} else {
					rs[i] = s.do("POST", "/subscriptions", obj{"user": users[i%len(users)], "plan": s.plan, "sim": sim, "status": "active", "recurring": true})
				}
			})
		}
		close(start)
		wg.Wait()
		wins, refused := 0, 0
		for i, r := range rs {
			switch {
			case r.Status < 300:
				wins++
			case refusedNaming(r, "simAssigned", "sim"):
				refused++
			default:
				t.Errorf("attempt %d: %d %s", i, r.Status, r.Body)
			}
		}
		holders := 0
		list := s.do("GET", "/subscriptions?limit=200", nil)
		for _, it := range list.JSON(t)["items"].([]any) {
			if sub := it.(map[string]any); sub["sim"] == sim && sub["status"] != "ended" {
				holders++
			}
		}
		t.Logf("figure: %s: %d concurrent attaches of one SIM: %d succeeded, %d refused 409 simAssigned, %d other; %d live subscriptions hold it, SIM %s",
			b, n, wins, refused, n-wins-refused, holders, s.simStatus(sim))
		if wins != 1 || refused != n-1 || holders != 1 {
			t.Errorf("want exactly 1 success, %d refusals and 1 holder", n-1)
		}
		if st := s.simStatus(sim); st != connectd.SIMAssigned {
			t.Errorf("the SIM is %q, want assigned", st)
		}
	})
}

// TestCheckoutSIMRace: portal checkouts racing for SIMs. Two for the same
// given SIM: one wins, the other is told simNotAvailable. Two that let the
// platform pick, with two SIMs free: both succeed, on different SIMs (the
// loser of the first pick picks again).
func TestCheckoutSIMRace(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		s := newSIMEnv(t, b)
		svc := s.e.Service
		given, _ := s.sim()
		checkout := func(user, sim string) (*connectd.Purchase, error) {
			return svc.Checkout(t.Context(), service.Actor{ProjectID: s.e.Project, UserID: user},
				connectd.CheckoutInput{PlanID: s.plan, SIMID: sim, SIMType: connectd.SIMTypePSIM},
				connectd.PaymentInput{Card: &connectd.CardInput{Number: payments.CardSucceeds, ExpMonth: 12, ExpYear: 2040, CVC: "123"}})
		}
		race := func(sim string) (outs []*connectd.Purchase, errs []error) {
			users := []string{s.user(), s.user()}
			outs, errs = make([]*connectd.Purchase, 2), make([]error, 2)
			var wg sync.WaitGroup
			for i, u := range users {
				wg.Go(func() { outs[i], errs[i] = checkout(u, sim) })
			}
			wg.Wait()
			return outs, errs
		}
		_, errs := race(given)
		won := 0
		for _, err := range errs {
			var ce *connectd.Error
			switch {
			case err == nil:
				won++
			case !asError(err, &ce) || ce.Code != "simNotAvailable":
				t.Errorf("a checkout of the same SIM: %v, want simNotAvailable", err)
			}
		}
		if won != 1 {
			t.Errorf("%d checkouts of one SIM succeeded, want 1 (%v)", won, errs)
		}
		s.sim()
		s.sim()
		outs, errs := race("")
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("checkouts picking a SIM: %v", errs)
		}
		if a, b := *outs[0].Subscription.SIM, *outs[1].Subscription.SIM; a == b {
			t.Errorf("two checkouts got SIM %s both", a)
		}
	})
}

func asError(err error, ce **connectd.Error) bool {
	e, ok := err.(*connectd.Error)
	*ce = e
	return ok
}

// TestCheckoutSkipsARefusedSIM: a SIM whose status says available although
// a live subscription holds it (set by hand through PATCH /sims) is refused
// by the database; a checkout that picks its SIM itself then takes another
// free one instead of trying the refused SIM again until it gives up.
func TestCheckoutSkipsARefusedSIM(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		s := newSIMEnv(t, b)
		free, _ := s.sim()
		stale, _ := s.sim() // newer: listed, and picked, first
		s.sub(s.user(), stale)
		if r := s.do("PATCH", "/sims/"+stale, obj{"status": "available"}); r.Status != http.StatusOK {
			t.Fatalf("PATCH sim status: %d %s", r.Status, r.Body)
		}
		out, err := s.e.Service.Checkout(t.Context(), service.Actor{ProjectID: s.e.Project, UserID: s.user()},
			connectd.CheckoutInput{PlanID: s.plan, SIMType: connectd.SIMTypePSIM},
			connectd.PaymentInput{Card: &connectd.CardInput{Number: payments.CardSucceeds, ExpMonth: 12, ExpYear: 2040, CVC: "123"}})
		if err != nil {
			t.Fatalf("checkout with a free SIM left: %v", err)
		}
		if got := *out.Subscription.SIM; got != free {
			t.Errorf("checkout took SIM %s, want the free one %s", got, free)
		}
	})
}
