// Package authz holds the authorization matrix test: every API key against
// every project's paths and every object of the other project, every user
// against the other user's objects, and portal requests that tamper with
// IDs in forms and URLs. Not one may succeed. The figures are in
// docs/reliability.md.
package authz

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/apitest"
)

type obj = map[string]any

// userSet is one user's objects.
type userSet struct {
	id, email                                                    string
	device, sub, sim, activationCode, pm, payment, porting, sess string
}

// project is one project's keys and objects.
type project struct {
	id                           string
	keys                         []string
	plan, plan2, addon, spareSIM string
	u                            [2]userSet
	openSess                     string // a session without a user, for PATCH tests
}

// ids lists every object ID of the project, with its collection.
func (p *project) ids() map[string]string {
	m := map[string]string{
		p.plan: "plans", p.plan2: "plans", p.addon: "addons", p.spareSIM: "sims", p.openSess: "connectSessions",
	}
	for _, u := range p.u {
		m[u.id] = "users"
		m[u.device] = "devices"
		m[u.sub] = "subscriptions"
		m[u.sim] = "sims"
		m[u.pm] = "paymentMethods"
		m[u.payment] = "payments"
		m[u.porting] = "portings"
		m[u.sess] = "connectSessions"
	}
	return m
}

type matrix struct {
	t     *testing.T
	e     *apitest.Env
	ctx   context.Context
	p     [2]*project
	tries int // unauthorized attempts
	wins  []string
	wrong []string // refused, but not with the documented answer
	links []link   // entry links for the token-swap tests
}

func (m *matrix) must(err error) {
	m.t.Helper()
	if err != nil {
		m.t.Fatal(err)
	}
}

func setup(t *testing.T, backend apitest.Backend) *matrix {
	e := apitest.New(t, apitest.Options{Backend: backend})
	m := &matrix{t: t, e: e, ctx: context.Background()}
	key2, err := e.Service.CreateAPIKey(m.ctx, e.Project)
	m.must(err)
	m.p[0] = &project{id: e.Project, keys: []string{e.Key, key2}}
	bID, bKey := e.NewProject("projb", nil)
	bKey2, err := e.Service.CreateAPIKey(m.ctx, bID)
	m.must(err)
	m.p[1] = &project{id: bID, keys: []string{bKey, bKey2}}
	for i, p := range m.p {
		m.populate(p, i)
	}
	a, b := m.p[0], m.p[1]
	m.links = []link{m.newLink(a, a.u[0].id), m.newLink(a, a.u[1].id), m.newLink(b, b.u[0].id)}
	return m
}

// link is a session url, taken apart.
type link struct{ id, token, url string }

func (m *matrix) newLink(p *project, user string) link {
	m.t.Helper()
	r := m.e.Do(apitest.Request{Method: "POST", Path: "/projects/" + p.id + "/connectSessions", Key: p.keys[0],
		Body: obj{"intent": obj{"type": "viewSubscriptions"}, "user": user}})
	if r.Status != http.StatusCreated {
		m.t.Fatalf("create session: %d %s", r.Status, r.Body)
	}
	js := r.JSON(m.t)
	u, _ := url.Parse(js["url"].(string))
	return link{js["id"].(string), u.Query().Get("token"), js["url"].(string)}
}

// iccidSeq numbers the SIMs of every matrix: parallel subtests (one per
// backend) share it, and ICCIDs are unique per project.
var iccidSeq atomic.Int64

func (m *matrix) populate(p *project, n int) {
	pl := m.e.Service.Platform
	ctx := m.ctx
	plan := &connectd.Plan{Name: "Basic", Status: connectd.PlanActive, Price: connectd.Price{Amount: 1000, Currency: "USD"},
		Validity: connectd.Validity{Type: connectd.ValidityRecurring}}
	plan2 := &connectd.Plan{Name: "Plus", Status: connectd.PlanActive, Price: connectd.Price{Amount: 2500, Currency: "USD"},
		Validity: connectd.Validity{Type: connectd.ValidityRecurring}}
	m.must(pl.Plans().Create(ctx, p.id, plan))
	m.must(pl.Plans().Create(ctx, p.id, plan2))
	addon := &connectd.Addon{Name: "5 GB", Status: connectd.PlanActive, Price: connectd.Price{Amount: 500, Currency: "USD"}, Plans: []string{plan.ID}}
	m.must(pl.Addons().Create(ctx, p.id, addon))
	p.plan, p.plan2, p.addon = plan.ID, plan2.ID, addon.ID
	newSIM := func(status string) *connectd.SIM {
		seq := iccidSeq.Add(1)
		code := fmt.Sprintf("LPA:1$smdp.example.com$SECRET-%d-%d", n, seq)
		s := &connectd.SIM{Type: connectd.SIMTypeESIM, ICCID: fmt.Sprintf("89010000000000%05d", seq), Status: status, ActivationCode: &code}
		m.must(pl.SIMs().Create(ctx, p.id, s))
		return s
	}
	p.spareSIM = newSIM(connectd.SIMAvailable).ID
	now := time.Now().UTC().Truncate(time.Second)
	for i := range p.u {
		u := &p.u[i]
		u.email = fmt.Sprintf("user%d-%s@example.com", i+1, p.id)
		r := m.e.Do(apitest.Request{Method: "POST", Path: "/projects/" + p.id + "/users", Key: p.keys[0], Body: obj{"email": u.email, "fullName": "User " + u.email}})
		if r.Status != http.StatusCreated {
			m.t.Fatalf("create user: %d %s", r.Status, r.Body)
		}
		u.id = r.JSON(m.t)["id"].(string)
		imei := "490154203237518"
		dev := &connectd.Device{User: &u.id, Manufacturer: "Apple", Model: "iPhone", EsimCapable: true, IMEI: &imei}
		m.must(pl.Devices().Create(ctx, p.id, dev))
		sim := newSIM(connectd.SIMAssigned)
		phone := fmt.Sprintf("+1555010%02d%02d", n, i)
		sub := &connectd.Subscription{User: u.id, Plan: plan.ID, SIM: &sim.ID, Device: &dev.ID, PhoneNumber: &phone, Status: connectd.SubscriptionActive,
			Recurring: true, CurrentPeriod: &connectd.Period{Start: now.Add(-24 * time.Hour), End: now.Add(29 * 24 * time.Hour)}}
		m.must(pl.Subscriptions().Create(ctx, p.id, sub))
		pm := &connectd.PaymentMethod{User: u.id, Type: "card", Card: connectd.Card{Brand: "visa", Last4: "4242", ExpMonth: 12, ExpYear: 2035}, Default: true}
		m.must(pl.PaymentMethods().Create(ctx, p.id, pm))
		// Pending, of the add-on's amount: exactly what a confirm step of
		// another user's add-on checkout would accept if ownership were
		// not checked.
		pay := &connectd.Payment{User: u.id, Subscription: &sub.ID, Amount: 500, Currency: "USD", Status: connectd.PaymentRequiresConfirmation}
		m.must(pl.Payments().Create(ctx, p.id, pay))
		porting := &connectd.Porting{Subscription: sub.ID, PhoneNumber: fmt.Sprintf("+1415555%02d%02d", n, i), Status: connectd.PortingInformationRequired}
		m.must(pl.Portings().Create(ctx, p.id, porting))
		u.device, u.sub, u.sim, u.activationCode, u.pm, u.payment, u.porting = dev.ID, sub.ID, sim.ID, *sim.ActivationCode, pm.ID, pay.ID, porting.ID
		u.sess = m.createSession(p, obj{"intent": obj{"type": "viewSubscriptions"}, "user": u.id})
	}
	p.openSess = m.createSession(p, obj{"intent": obj{"type": "viewSubscription", "viewSubscription": obj{"subscription": p.u[0].sub}}})
}

func (m *matrix) createSession(p *project, body obj) string {
	m.t.Helper()
	r := m.e.Do(apitest.Request{Method: "POST", Path: "/projects/" + p.id + "/connectSessions", Key: p.keys[0], Body: body})
	if r.Status != http.StatusCreated {
		m.t.Fatalf("create session: %d %s", r.Status, r.Body)
	}
	return r.JSON(m.t)["id"].(string)
}

// snapshot reads every object of the victims, and every collection of
// project B, through the API with the owner's key.
func (m *matrix) snapshot() map[string]string {
	m.t.Helper()
	out := map[string]string{}
	get := func(p *project, path string) {
		r := m.e.Do(apitest.Request{Method: "GET", Path: "/projects/" + p.id + path, Key: p.keys[0]})
		if r.Status != http.StatusOK {
			m.t.Fatalf("snapshot GET %s: %d %s", path, r.Status, r.Body)
		}
		out[p.id+path] = string(r.Body)
	}
	mine := map[string]bool{} // the portal tests' signed-in user acts on their own objects
	for id := range (&project{u: [2]userSet{m.p[0].u[0]}}).ids() {
		mine[id] = true
	}
	for i, p := range m.p {
		for id, coll := range p.ids() {
			if i == 0 && (mine[id] || coll == "connectSessions") {
				continue // A's sessions: the portal tests enter their own
			}
			get(p, "/"+coll+"/"+id)
		}
		for _, coll := range []string{"connectSessions", "users", "plans", "addons", "sims", "devices", "subscriptions", "paymentMethods", "payments", "portings"} {
			if i == 1 {
				get(p, "/"+coll+"?limit=200")
			}
		}
		for _, coll := range []string{"connectSessions", "devices", "subscriptions", "paymentMethods", "payments"} {
			get(p, "/"+coll+"?limit=200&user="+p.u[1].id) // user 2 of A is the portal tests' victim
		}
		get(p, "/portings?limit=200&subscription="+p.u[1].sub)
	}
	return out
}

// try records one unauthorized attempt: ok says whether it was refused
// with the documented answer; won whether it succeeded.
func (m *matrix) record(what string, r *apitest.Response, won, documented bool) {
	m.tries++
	if r != nil && r.Status >= 500 {
		m.wins = append(m.wins, fmt.Sprintf("%s: 5xx %d %s", what, r.Status, r.Body))
		return
	}
	if won {
		body := ""
		if r != nil {
			body = fmt.Sprintf("%d %.300s", r.Status, r.Body)
		}
		m.wins = append(m.wins, what+": "+body)
		return
	}
	if !documented {
		m.wrong = append(m.wrong, fmt.Sprintf("%s: %d %.300s", what, r.Status, r.Body))
	}
}

// api sends one request and expects status want (and, for 422, a detail
// with code detail).
func (m *matrix) api(key, method, path string, body any, want int, detail string) {
	m.t.Helper()
	r := m.e.Do(apitest.Request{Method: method, Path: path, Key: key, Body: body})
	documented := r.Status == want
	if documented && detail != "" {
		documented = strings.Contains(string(r.Body), `"code":"`+detail+`"`)
	}
	m.record(method+" "+path+fmt.Sprintf(" %v", body), r, r.Status < 300, documented)
}

// patchBodies are PATCH bodies per collection: valid on their own.
var patchBodies = map[string]obj{
	"connectSessions": {"callbackUrl": "https://evil.example/cb"},
	"users":           {"fullName": "Mallory"},
	"plans":           {"name": "Hacked"},
	"addons":          {"name": "Hacked"},
	"sims":            {"status": "available"},
	"devices":         {"model": "Hacked"},
	"subscriptions":   {"recurring": false},
	"paymentMethods":  {"default": false},
	"payments":        {"description": "hacked"},
	"portings":        {"donorProvider": "Hacked"},
}

func (m *matrix) createBodies(p *project) map[string]obj {
	u := p.u[0]
	return map[string]obj{
		"connectSessions": {"intent": obj{"type": "viewSubscriptions"}},
		"users":           {"email": "mallory@example.com"},
		"plans":           {"name": "X", "status": "active", "price": obj{"amount": 1, "currency": "USD"}},
		"addons":          {"name": "X", "status": "active", "price": obj{"amount": 1, "currency": "USD"}, "plans": []string{p.plan}},
		"sims":            {"type": "pSIM", "iccid": "8901000000000099999"},
		"devices":         {"user": u.id, "manufacturer": "X", "model": "Y", "esimCapable": false},
		"subscriptions":   {"user": u.id, "plan": p.plan, "status": "active", "recurring": true},
		"paymentMethods":  {"user": u.id, "type": "card", "card": obj{"brand": "visa", "last4": "1111", "expMonth": 1, "expYear": 2031}},
		"payments":        {"user": u.id, "subscription": u.sub, "amount": 1, "currency": "USD"},
		"portings":        {"subscription": u.sub, "phoneNumber": "+14155550000"},
	}
}

func TestAuthorizationMatrix(t *testing.T) {
	m := setup(t, apitest.SQLite)
	before := m.snapshot()
	colls := []string{"connectSessions", "users", "plans", "addons", "sims", "devices", "subscriptions", "paymentMethods", "payments", "portings"}
	for vi, victim := range m.p {
		attacker := m.p[1-vi]
		vbase := "/projects/" + victim.id
		abase := "/projects/" + attacker.id
		for _, key := range attacker.keys {
			// 1. Another project's paths: 403, whatever the object.
			for _, c := range colls {
				m.api(key, "POST", vbase+"/"+c, m.createBodies(victim)[c], http.StatusForbidden, "")
				m.api(key, "GET", vbase+"/"+c, nil, http.StatusForbidden, "")
			}
			for _, p := range m.p {
				for id, c := range p.ids() {
					m.api(key, "GET", vbase+"/"+c+"/"+id, nil, http.StatusForbidden, "")
					m.api(key, "PATCH", vbase+"/"+c+"/"+id, patchBodies[c], http.StatusForbidden, "")
					if c == "connectSessions" {
						m.api(key, "POST", vbase+"/"+c+"/"+id+"/expire", nil, http.StatusForbidden, "")
					}
				}
			}
			// 2. Own path, the other project's object IDs: 404.
			for id, c := range victim.ids() {
				m.api(key, "GET", abase+"/"+c+"/"+id, nil, http.StatusNotFound, "")
				m.api(key, "PATCH", abase+"/"+c+"/"+id, patchBodies[c], http.StatusNotFound, "")
				if c == "connectSessions" {
					m.api(key, "POST", abase+"/"+c+"/"+id+"/expire", nil, http.StatusNotFound, "")
				}
			}
			// 3. Own path, lists filtered by the other project's objects:
			// nothing of theirs comes back.
			for _, vu := range victim.u {
				for _, q := range []string{"/connectSessions?user=" + vu.id, "/devices?user=" + vu.id, "/subscriptions?user=" + vu.id,
					"/paymentMethods?user=" + vu.id, "/payments?user=" + vu.id, "/portings?subscription=" + vu.sub, "/payments?subscription=" + vu.sub} {
					r := m.e.Do(apitest.Request{Method: "GET", Path: abase + q, Key: key})
					leaked := false
					for id := range victim.ids() {
						if r.Status < 300 && strings.Contains(string(r.Body), id) {
							leaked = true
						}
					}
					m.record("GET "+abase+q, r, leaked, r.Status == http.StatusOK || r.Status == http.StatusUnprocessableEntity)
				}
			}
			// 4. Creates and PATCHes on the own path that reference the
			// other project's objects: 422 notFound.
			v, a := victim.u[0], attacker.u[0]
			refs := []obj{
				{"intent": obj{"type": "viewSubscriptions"}, "user": v.id},
				{"intent": obj{"type": "cancelSubscription", "cancelSubscription": obj{"subscription": v.sub}}, "user": a.id},
				{"intent": obj{"type": "changeSubscription", "changeSubscription": obj{"subscription": v.sub}}, "user": a.id},
				{"intent": obj{"type": "checkoutAddon", "checkoutAddon": obj{"subscription": v.sub, "addons": []string{attacker.addon}}}, "user": a.id},
				{"intent": obj{"type": "checkoutAddon", "checkoutAddon": obj{"subscription": a.sub, "addons": []string{victim.addon}}}, "user": a.id},
				{"intent": obj{"type": "checkoutNewSubscription", "checkoutNewSubscription": obj{"plan": victim.plan}}, "user": a.id},
				{"intent": obj{"type": "checkoutNewSubscription", "checkoutNewSubscription": obj{"plan": attacker.plan, "sim": victim.spareSIM}}, "user": a.id},
				{"intent": obj{"type": "checkoutNewSubscription", "checkoutNewSubscription": obj{"plan": attacker.plan, "device": v.device}}, "user": a.id},
				{"intent": obj{"type": "checkoutNewSubscription", "checkoutNewSubscription": obj{"plan": attacker.plan, "addons": []string{victim.addon}}}, "user": a.id},
				{"intent": obj{"type": "completePorting", "completePorting": obj{"subscription": v.sub}}, "user": a.id},
				{"intent": obj{"type": "confirmPayment", "confirmPayment": obj{"payment": v.payment}}, "user": a.id},
				{"intent": obj{"type": "resumeSubscription", "resumeSubscription": obj{"subscription": v.sub}}, "user": a.id},
				{"intent": obj{"type": "viewEsimInstallation", "viewEsimInstallation": obj{"subscription": v.sub}}, "user": a.id},
				{"intent": obj{"type": "viewSubscription", "viewSubscription": obj{"subscription": v.sub}}, "user": a.id},
				{"intent": obj{"type": "viewSubscription", "viewSubscription": obj{"subscription": v.sub}}}, // no user
			}
			for _, b := range refs {
				m.api(key, "POST", abase+"/connectSessions", b, http.StatusUnprocessableEntity, "notFound")
			}
			resRefs := []struct {
				coll string
				body obj
			}{
				{"addons", obj{"name": "X", "status": "active", "price": obj{"amount": 1, "currency": "USD"}, "plans": []string{victim.plan}}},
				{"devices", obj{"user": v.id, "manufacturer": "X", "model": "Y", "esimCapable": false}},
				{"subscriptions", obj{"user": v.id, "plan": attacker.plan, "status": "active", "recurring": true}},
				{"subscriptions", obj{"user": a.id, "plan": victim.plan, "status": "active", "recurring": true}},
				{"subscriptions", obj{"user": a.id, "plan": attacker.plan, "sim": victim.spareSIM, "status": "active", "recurring": true}},
				{"subscriptions", obj{"user": a.id, "plan": attacker.plan, "device": v.device, "status": "active", "recurring": true}},
				{"paymentMethods", obj{"user": v.id, "type": "card", "card": obj{"brand": "visa", "last4": "1111", "expMonth": 1, "expYear": 2031}}},
				{"payments", obj{"user": v.id, "amount": 1, "currency": "USD"}},
				{"payments", obj{"user": a.id, "subscription": v.sub, "amount": 1, "currency": "USD"}},
				{"portings", obj{"subscription": v.sub, "phoneNumber": "+14155550000"}},
			}
			for _, c := range resRefs {
				m.api(key, "POST", abase+"/"+c.coll, c.body, http.StatusUnprocessableEntity, "notFound")
			}
			patchRefs := []struct {
				path string
				body obj
			}{
				{"/connectSessions/" + attacker.openSess, obj{"user": v.id}},
				{"/subscriptions/" + a.sub, obj{"plan": victim.plan}},
				{"/subscriptions/" + a.sub, obj{"addons": []string{victim.addon}}},
				{"/addons/" + attacker.addon, obj{"plans": []string{victim.plan}}},
				{"/payments/" + a.payment, obj{"subscription": v.sub}},
			}
			for _, c := range patchRefs {
				m.api(key, "PATCH", abase+c.path, c.body, http.StatusUnprocessableEntity, "notFound")
			}
		}
		// 5. Within the project: a session of one user must not reference
		// the other user's objects: 422 notOwned.
		for ui := range victim.u {
			me, other := victim.u[ui], victim.u[1-ui]
			for _, key := range victim.keys {
				for _, in := range []obj{
					{"type": "cancelSubscription", "cancelSubscription": obj{"subscription": other.sub}},
					{"type": "changeSubscription", "changeSubscription": obj{"subscription": other.sub}},
					{"type": "checkoutAddon", "checkoutAddon": obj{"subscription": other.sub, "addons": []string{victim.addon}}},
					{"type": "checkoutNewSubscription", "checkoutNewSubscription": obj{"plan": victim.plan, "device": other.device}},
					{"type": "completePorting", "completePorting": obj{"subscription": other.sub}},
					{"type": "confirmPayment", "confirmPayment": obj{"payment": other.payment}},
					{"type": "resumeSubscription", "resumeSubscription": obj{"subscription": other.sub}},
					{"type": "viewEsimInstallation", "viewEsimInstallation": obj{"subscription": other.sub}},
					{"type": "viewSubscription", "viewSubscription": obj{"subscription": other.sub}},
				} {
					m.api(key, "POST", vbase+"/connectSessions", obj{"intent": in, "user": me.id}, http.StatusUnprocessableEntity, "notOwned")
				}
				// Associating a user with a session about another user's
				// subscription: the same check.
				m.api(key, "PATCH", vbase+"/connectSessions/"+victim.openSess, obj{"user": victim.u[1].id}, http.StatusUnprocessableEntity, "notOwned")
			}
		}
		// 6. Platform resource writes that attach another user's objects.
		m.attachments(victim)
	}
	m.portal()
	after := m.snapshot()
	for k, v := range before {
		if after[k] != v {
			m.wins = append(m.wins, fmt.Sprintf("data changed: %s\nbefore %s\nafter  %s", k, v, after[k]))
		}
	}
	t.Logf("figure: authorization matrix: %d unauthorized attempts, %d succeeded", m.tries, len(m.wins))
	t.Logf("authorization matrix: %d unauthorized attempts (API and portal), %d succeeded, %d refused with another answer than documented; victims' data unchanged: %v",
		m.tries, len(m.wins), len(m.wrong), len(m.wins) == 0)
	for _, w := range m.wrong {
		t.Errorf("not the documented refusal: %s", w)
	}
	for _, w := range m.wins {
		t.Errorf("UNAUTHORIZED SUCCESS: %s", w)
	}
	if m.tries < 800 {
		t.Errorf("only %d attempts; the matrix lost its rows", m.tries)
	}
}

// attachments tries every platformAttachments write of each user of p
// with each of p's keys.
func (m *matrix) attachments(p *project) {
	for ui := range p.u {
		me, other := p.u[ui], p.u[1-ui]
		for _, key := range p.keys {
			for _, c := range platformAttachments(p, me, other) {
				m.api(key, c.method, "/projects/"+p.id+c.path, c.body, c.status, c.code)
			}
		}
	}
}

// TestPlatformAttachments is the matrix's platform-write part (issue 11)
// on both backends: attaching another user's SIM, device, payment method
// or subscription through any resource endpoint: 0 successes, every one
// refused with its documented answer, nothing changed.
func TestPlatformAttachments(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		m := setup(t, b)
		before := m.snapshot()
		for _, p := range m.p {
			m.attachments(p)
		}
		after := m.snapshot()
		for k, v := range before {
			if after[k] != v {
				m.wins = append(m.wins, "data changed: "+k)
			}
		}
		t.Logf("figure: %s: platform attachments: %d unauthorized attempts, %d succeeded, %d refused with another answer than documented",
			b, m.tries, len(m.wins), len(m.wrong))
		if len(m.wins) > 0 || len(m.wrong) > 0 {
			t.Errorf("unauthorized successes %q; undocumented refusals %q", m.wins, m.wrong)
		}
	})
}

// attachment is one platform write that puts another user's object on one
// of me's, and its documented refusal.
type attachment struct {
	method, path string
	body         obj
	status       int
	code         string
}

// platformAttachments are the API writes through which me could take
// other's SIM, device, payment method or subscription.
func platformAttachments(p *project, me, other userSet) []attachment {
	sub := func(extra obj) obj {
		b := obj{"user": me.id, "plan": p.plan, "status": "active", "recurring": true}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	pay := func(extra obj) obj {
		b := obj{"user": me.id, "amount": 1, "currency": "USD"}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	return []attachment{
		{"POST", "/subscriptions", sub(obj{"sim": other.sim}), http.StatusConflict, "simAssigned"},
		{"POST", "/subscriptions", sub(obj{"device": other.device}), http.StatusUnprocessableEntity, "notOwned"},
		{"POST", "/subscriptions", sub(obj{"sim": other.sim, "device": other.device}), http.StatusUnprocessableEntity, "notOwned"},
		{"PATCH", "/subscriptions/" + me.sub, obj{"sim": other.sim}, http.StatusConflict, "simAssigned"},
		{"PATCH", "/subscriptions/" + me.sub, obj{"device": other.device}, http.StatusUnprocessableEntity, "notOwned"},
		{"POST", "/payments", pay(obj{"subscription": other.sub}), http.StatusUnprocessableEntity, "notOwned"},
		{"POST", "/payments", pay(obj{"paymentMethod": other.pm}), http.StatusUnprocessableEntity, "notOwned"},
		{"PATCH", "/payments/" + me.payment, obj{"subscription": other.sub}, http.StatusUnprocessableEntity, "notOwned"},
		{"PATCH", "/payments/" + me.payment, obj{"paymentMethod": other.pm}, http.StatusUnprocessableEntity, "notOwned"},
		{"PATCH", "/portings/" + me.porting, obj{"subscription": other.sub}, http.StatusUnprocessableEntity, "immutable"},
	}
}

// victimSecrets are strings of the portal victims (user 2 of project A,
// everything of project B) that no page of user 1 may show.
func (m *matrix) victimSecrets() []string {
	var out []string
	add := func(u userSet) {
		out = append(out, u.email, u.sub, u.payment, u.pm, u.activationCode, u.porting, u.device)
	}
	add(m.p[0].u[1])
	for _, u := range m.p[1].u {
		add(u)
	}
	return out
}

// portalAttempt records a portal request of user 1 of project A: it
// succeeded when the page shows a victim's data, or when won says so.
// Echoing an ID the request itself carried ("No payment pay_… was found
// for this account") shows nothing the attacker did not know, so what
// counts as a victim's data excludes the IDs in what.
func (m *matrix) portalAttempt(what string, r *apitest.Response, won bool) {
	sent, _ := url.QueryUnescape(what)
	for _, s := range m.victimSecrets() {
		if strings.Contains(sent, s) {
			continue
		}
		if i := strings.Index(string(r.Body), s); i >= 0 {
			won = true
			what += fmt.Sprintf(" (page shows %q in …%s…)", s, string(r.Body)[max(0, i-200):min(len(r.Body), i+len(s)+50)])
		}
		if strings.Contains(r.Header.Get("Location"), s) {
			won = true
			what += fmt.Sprintf(" (redirect names %q)", s)
		}
	}
	m.record("portal "+what, r, won, true)
}

// enter creates a session of project A's user 1 and enters it.
func (m *matrix) enter(intent obj) *apitest.Browser {
	m.t.Helper()
	a := m.p[0]
	r := m.e.Do(apitest.Request{Method: "POST", Path: "/projects/" + a.id + "/connectSessions", Key: a.keys[0], Body: obj{"intent": intent, "user": a.u[0].id}})
	if r.Status != http.StatusCreated {
		m.t.Fatalf("create session: %d %s", r.Status, r.Body)
	}
	b := m.e.NewBrowser()
	if res := b.Enter(r.JSON(m.t)["url"].(string)); res.Status != http.StatusSeeOther {
		m.t.Fatalf("enter: %d %s", res.Status, res.Body)
	}
	return b
}

func (m *matrix) victimSubs() []string {
	return []string{m.p[0].u[1].sub, m.p[1].u[0].sub, m.p[1].u[1].sub}
}

func (m *matrix) victimPayments() []string {
	return []string{m.p[0].u[1].payment, m.p[1].u[0].payment, m.p[1].u[1].payment}
}

func (m *matrix) victimCards() []string {
	return []string{m.p[0].u[1].pm, m.p[1].u[0].pm, m.p[1].u[1].pm}
}

// changed reports whether a victim's subscription or payment is no longer
// what it was.
func (m *matrix) victimsTouched() bool {
	for i, p := range m.p {
		for j, u := range p.u {
			if i == 0 && j == 0 {
				continue
			}
			s, err := m.e.Service.Platform.Subscriptions().Get(m.ctx, p.id, u.sub)
			m.must(err)
			pay, err := m.e.Service.Platform.Payments().Get(m.ctx, p.id, u.payment)
			m.must(err)
			if s.EndedAt != nil || !s.Recurring || len(s.Addons) > 0 || s.Plan != p.plan || pay.Status != connectd.PaymentRequiresConfirmation {
				return true
			}
		}
	}
	return false
}

// resetMine puts the signed-in user's own subscription and payment back as
// they were, after a request legitimately acted on them.
func (m *matrix) resetMine() {
	a := m.p[0]
	me := a.u[0]
	_, err := connectd.UpdateResource(m.ctx, m.e.Service.Platform.Subscriptions(), a.id, me.sub, func(s *connectd.Subscription) error {
		s.EndedAt, s.Recurring, s.Status = nil, true, connectd.SubscriptionActive
		return nil
	})
	m.must(err)
	_, err = connectd.UpdateResource(m.ctx, m.e.Service.Platform.Payments(), a.id, me.payment, func(p *connectd.Payment) error {
		p.Status = connectd.PaymentRequiresConfirmation
		return nil
	})
	if err != nil {
		m.t.Logf("reset own payment: %v", err) // a state machine may refuse it; the next round then only tampers
	}
}

func doneRedirect(r *apitest.Response) bool {
	return r.Status == http.StatusSeeOther && r.Header.Get("Location") == "/portal/done"
}

// portal tampers with IDs in the portal's forms and URLs, signed in as
// user 1 of project A.
func (m *matrix) portal() {
	a, b := m.p[0], m.p[1]
	me := a.u[0]
	// Cancel: extra form fields and query parameters naming another
	// subscription. The first request legitimately cancels the user's own.
	for _, victim := range m.victimSubs() {
		m.resetMine()
		br := m.enter(obj{"type": "cancelSubscription", "cancelSubscription": obj{"subscription": me.sub}})
		for _, path := range []string{"/portal/subscription/cancel?subscription=" + victim, "/portal/subscription/resume?subscription=" + victim} {
			r := br.Post(path, url.Values{"subscription": {victim}, "id": {victim}, "subscription_id": {victim}, "sub": {victim}})
			m.portalAttempt("POST "+path, r, m.victimsTouched())
		}
		r := br.Get("/portal/subscription?subscription=" + victim)
		m.portalAttempt("GET /portal/subscription?subscription="+victim, r, false)
	}
	// eSIM: another subscription in the URL.
	br := m.enter(obj{"type": "viewEsimInstallation", "viewEsimInstallation": obj{"subscription": me.sub}})
	for _, victim := range m.victimSubs() {
		for _, q := range []string{"subscription=", "sub=", "id=", "sim="} {
			r := br.Get("/portal/esim?" + q + victim)
			m.portalAttempt("GET /portal/esim?"+q+victim, r, false)
		}
	}
	for _, u := range []userSet{a.u[1], b.u[0], b.u[1]} {
		r := br.Get("/portal/esim?sim=" + u.sim)
		m.portalAttempt("GET /portal/esim?sim="+u.sim, r, false)
	}
	// Add-on checkout: saved-card index out of range, another user's card,
	// and another user's pending payment of the same amount as the
	// confirm step.
	br = m.enter(obj{"type": "checkoutAddon", "checkoutAddon": obj{"subscription": me.sub, "addons": []string{a.addon}}})
	forms := []url.Values{
		{"pay_method": {"saved:1"}}, {"pay_method": {"saved:99"}}, {"pay_method": {"saved:-1"}}, {"pay_method": {"saved:"}},
		{"pay_method": {"saved:0x1"}}, {"pay_method": {"saved:9223372036854775808"}},
	}
	for _, pm := range m.victimCards() {
		forms = append(forms, url.Values{"pay_method": {pm}}, url.Values{"pay_method": {"saved:" + pm}}, url.Values{"payment_method": {pm}, "pay_method": {"saved:1"}})
	}
	for _, pay := range m.victimPayments() {
		forms = append(forms, url.Values{"confirm_payment": {pay}}, url.Values{"confirm_payment": {pay}, "pay_method": {"saved:0"}})
	}
	for _, f := range forms {
		r := br.Post("/portal/addons", f)
		m.portalAttempt("POST /portal/addons "+f.Encode(), r, doneRedirect(r) || m.victimsTouched())
	}
	// Change: another user's pending payment as the confirm step of a
	// purchase of the same amount, and another project's plan as choice.
	br = m.enter(obj{"type": "changeSubscription", "changeSubscription": obj{"subscription": me.sub}})
	forms = []url.Values{{"choice": {"plan:" + b.plan2}, "pay_method": {"saved:0"}}, {"choice": {"addon:" + b.addon}, "pay_method": {"saved:0"}}}
	for _, pay := range m.victimPayments() {
		forms = append(forms, url.Values{"choice": {"addon:" + a.addon}, "confirm_payment": {pay}})
	}
	for _, pm := range m.victimCards() {
		forms = append(forms, url.Values{"choice": {"addon:" + a.addon}, "pay_method": {pm}})
	}
	for _, f := range forms {
		r := br.Post("/portal/change", f)
		m.portalAttempt("POST /portal/change "+f.Encode(), r, doneRedirect(r) || m.victimsTouched())
	}
	// Checkout of a new subscription: another user's pending payment.
	br = m.enter(obj{"type": "checkoutNewSubscription", "checkoutNewSubscription": obj{"plan": a.plan, "sim": a.spareSIM, "imei": "490154203237518"}})
	for _, pay := range m.victimPayments() {
		r := br.Post("/portal/checkout", url.Values{"step": {"pay"}, "confirm_payment": {pay}})
		m.portalAttempt("POST /portal/checkout confirm_payment="+pay, r, doneRedirect(r) || m.victimsTouched())
	}
	// Confirm payment: the form and URL name another user's payment.
	for _, pay := range m.victimPayments() {
		m.resetMine()
		br = m.enter(obj{"type": "confirmPayment", "confirmPayment": obj{"payment": me.payment}})
		r := br.Get("/portal/payment?payment=" + pay)
		m.portalAttempt("GET /portal/payment?payment="+pay, r, false)
		r = br.Post("/portal/payment/confirm?payment="+pay, url.Values{"payment": {pay}, "confirm_payment": {pay}, "id": {pay}})
		m.portalAttempt("POST /portal/payment/confirm payment="+pay, r, m.victimsTouched())
		m.resetMine() // the first request confirmed the user's own payment
	}
	// Entry: a session's ID with another session's token, across users and
	// projects. Neither may open, and the real links must still work.
	links := m.links
	for i, l := range links {
		for j, other := range links {
			if i == j {
				continue
			}
			br := m.e.NewBrowser()
			r := br.Get("/checkout/entry?session=" + l.id + "&token=" + other.token)
			m.portalAttempt("GET /checkout/entry with another session's token", r, r.Status == http.StatusOK)
			r = br.Post("/checkout/entry", url.Values{"session": {l.id}, "token": {other.token}})
			m.portalAttempt("POST /checkout/entry with another session's token", r, r.Status == http.StatusSeeOther && strings.HasPrefix(r.Header.Get("Location"), "/portal/"))
			// Both the session and the token field twice: the first wins
			// or the request fails, never a mix.
			r = br.Post("/checkout/entry", url.Values{"session": {l.id, other.id}, "token": {other.token, l.token}})
			m.portalAttempt("POST /checkout/entry with doubled fields", r, r.Status == http.StatusSeeOther && strings.HasPrefix(r.Header.Get("Location"), "/portal/"))
		}
	}
	for _, l := range links {
		if r := m.e.NewBrowser().Get(l.url); r.Status != http.StatusOK || !strings.Contains(string(r.Body), `data-testid="confirm"`) {
			m.wins = append(m.wins, fmt.Sprintf("the tampering burnt or broke session %s's link: %d", l.id, r.Status))
		}
	}
}
