package seed_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/apitest"
	"github.com/connectd/connectd/platform"
	"github.com/connectd/connectd/seed"
)

// env is a running API server whose store keeps platform resources.
type env struct {
	*apitest.Env
	st connectd.Store
	pf *platform.Builtin
}

// newEnv starts a server on backend b.
func newEnv(t *testing.T, b apitest.Backend) *env {
	t.Helper()
	e := apitest.New(t, apitest.Options{Backend: b})
	return &env{Env: e, st: e.Store, pf: e.Server.Platform}
}

func (e *env) load(t *testing.T, data []byte) (seed.Result, error) {
	t.Helper()
	return seed.Load(context.Background(), e.st, e.pf, bytes.NewReader(data))
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

type obj = map[string]any

func decode(t *testing.T, data []byte) obj {
	t.Helper()
	var m obj
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func encode(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// kinds maps a seed file's list names to their kinds; users are "user".
var lists = []struct{ list, kind string }{
	{"users", "user"}, {"plans", "plan"}, {"addons", "addon"}, {"sims", "sim"}, {"devices", "device"},
	{"subscriptions", "subscription"}, {"paymentMethods", "paymentMethod"}, {"payments", "payment"}, {"portings", "porting"},
}

// countObjects counts the projects, users and resources of a seed file.
func countObjects(f obj) int {
	n := 0
	for _, p := range f["projects"].([]any) {
		n++
		for _, l := range lists {
			if items, ok := p.(obj)[l.list].([]any); ok {
				n += len(items)
			}
		}
	}
	return n
}

// dump returns every stored object of project, with its version and
// timestamps, so that "nothing changed" can be checked exactly.
func (e *env) dump(t *testing.T, project string) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	if p, err := e.st.GetProject(ctx, project); err == nil {
		out["project "+p.ID] = fmt.Sprintf("%s %s %v", p.Name, encode(t, p.Settings), p.CreatedAt)
	} else if !errors.Is(err, connectd.ErrNotFound) {
		t.Fatal(err)
	}
	for after := ""; ; {
		page, err := e.st.ListUsers(ctx, project, connectd.ListParams{Limit: connectd.MaxListLimit, After: after})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page.Items {
			out["user "+u.ID] = string(encode(t, u))
		}
		if !page.MoreAfter || len(page.Items) == 0 {
			break
		}
		after = page.Items[len(page.Items)-1].ID
	}
	for _, k := range connectd.ResourceKinds {
		for after := ""; ; {
			page, err := e.st.ListResources(ctx, project, connectd.ResourceFilter{Kind: k, ListParams: connectd.ListParams{Limit: connectd.MaxListLimit, After: after}})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page.Items {
				out[string(k)+" "+r.ID] = fmt.Sprintf("v%d %s %s %s %s %v %v", r.Version, r.UserID, r.ParentID, r.Status, r.Data, r.CreatedAt, r.UpdatedAt)
			}
			if !page.MoreAfter || len(page.Items) == 0 {
				break
			}
			after = page.Items[len(page.Items)-1].ID
		}
	}
	return out
}

// resourcesServed reports whether the API serves platform resources (the
// endpoints of spec section 4); until it does, resources are read through
// the Platform, which is what those endpoints render.
func resourcesServed(e *env, project, key string) bool {
	r := e.Do(apitest.Request{Method: http.MethodGet, Path: "/projects/" + project + "/plans", Key: key})
	return r.Status == http.StatusOK
}

// readBack returns the API representation of one object.
func (e *env) readBack(t *testing.T, project, key, list, kind, id string, viaAPI bool) obj {
	t.Helper()
	if kind == "user" || viaAPI {
		r := e.Do(apitest.Request{Method: http.MethodGet, Path: "/projects/" + project + "/" + list + "/" + id, Key: key})
		if r.Status != http.StatusOK {
			t.Fatalf("GET %s %s: %d %s", list, id, r.Status, r.Body)
		}
		return r.JSON(t)
	}
	ctx := context.Background()
	var v any
	var err error
	pf := e.Service.Platform
	switch connectd.ResourceKind(kind) {
	case connectd.KindPlan:
		v, err = pf.Plans().Get(ctx, project, id)
	case connectd.KindAddon:
		v, err = pf.Addons().Get(ctx, project, id)
	case connectd.KindSIM:
		v, err = pf.SIMs().Get(ctx, project, id)
	case connectd.KindDevice:
		v, err = pf.Devices().Get(ctx, project, id)
	case connectd.KindSubscription:
		v, err = pf.Subscriptions().Get(ctx, project, id)
	case connectd.KindPaymentMethod:
		v, err = pf.PaymentMethods().Get(ctx, project, id)
	case connectd.KindPayment:
		v, err = pf.Payments().Get(ctx, project, id)
	case connectd.KindPorting:
		v, err = pf.Portings().Get(ctx, project, id)
	}
	if err != nil {
		t.Fatalf("get %s %s: %v", kind, id, err)
	}
	m := decode(t, encode(t, v))
	m["object"] = kind
	return m
}

// zeroish reports whether v is what an absent field reads back as.
func zeroish(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case bool:
		return !v
	case float64:
		return v == 0
	case string:
		return v == ""
	case []any:
		return len(v) == 0
	case obj:
		for _, e := range v {
			if !zeroish(e) {
				return false
			}
		}
		return true
	}
	return false
}

// sameObject compares a read-back object with the file's: every member the
// file gives must read back equal (accountPin aside: write-only), every
// other member must be the zero value of an absent field, createdAt being
// set. derived holds read-only members the file may leave out.
func sameObject(t *testing.T, where string, file, got obj, kind string, derived obj) {
	t.Helper()
	want := obj{}
	for k, v := range file {
		want[k] = v
	}
	delete(want, "accountPin")
	want["object"] = kind
	for k, v := range derived {
		want[k] = v
	}
	for k, v := range want {
		if g, ok := got[k]; !ok {
			if !zeroish(v) {
				t.Errorf("%s: %s is missing; want %v", where, k, v)
			}
		} else if !reflect.DeepEqual(g, v) {
			t.Errorf("%s: %s = %s, want %s", where, k, encode(t, g), encode(t, v))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; ok {
			continue
		}
		if k == "createdAt" {
			if s, _ := g.(string); s == "" {
				t.Errorf("%s: createdAt = %v, want a timestamp", where, g)
			}
			continue
		}
		if k == "accountPin" {
			t.Errorf("%s: the write-only accountPin reads back", where)
		}
		if !zeroish(g) {
			t.Errorf("%s: %s = %s, which the file does not give", where, k, encode(t, g))
		}
	}
}

// checkRoundTrip reads every object of the file back and compares.
func checkRoundTrip(t *testing.T, e *env, file obj) {
	t.Helper()
	ctx := context.Background()
	for pi, praw := range file["projects"].([]any) {
		p := praw.(obj)
		id := p["id"].(string)
		stored, err := e.st.GetProject(ctx, id)
		if err != nil {
			t.Fatalf("project %s: %v", id, err)
		}
		if name, _ := p["name"].(string); stored.Name != name {
			t.Errorf("project %s: name = %q, want %q", id, stored.Name, name)
		}
		if s, ok := p["settings"]; ok {
			got := decode(t, encode(t, stored.Settings))
			for k, v := range s.(obj) {
				if !reflect.DeepEqual(got[k], v) {
					t.Errorf("project %s: settings.%s = %s, want %s", id, k, encode(t, got[k]), encode(t, v))
				}
			}
		}
		key, err := e.Service.CreateAPIKey(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		viaAPI := resourcesServed(e, id, key)
		t.Logf("platform resources read back through the API: %v", viaAPI)
		subUser := map[string]any{}
		for _, s := range asList(p["subscriptions"]) {
			subUser[s["id"].(string)] = s["user"]
		}
		for _, l := range lists {
			for i, o := range asList(p[l.list]) {
				where := fmt.Sprintf("projects[%d].%s[%d]", pi, l.list, i)
				got := e.readBack(t, id, key, l.list, l.kind, o["id"].(string), viaAPI)
				var derived obj
				if l.kind == "porting" {
					_, pin := o["accountPin"]
					derived = obj{"user": subUser[o["subscription"].(string)], "accountPinProvided": pin}
				}
				sameObject(t, where, o, got, l.kind, derived)
			}
		}
	}
}

func asList(v any) []obj {
	items, _ := v.([]any)
	out := make([]obj, 0, len(items))
	for _, it := range items {
		out = append(out, it.(obj))
	}
	return out
}

func TestSeedRoundTrip(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		e := newEnv(t, b)
		data := readFixture(t, "full.json")
		file := decode(t, data)
		want := countObjects(file)

		res, err := e.load(t, data)
		if err != nil {
			t.Fatalf("load: %v", err)
		}
		if res.Created != want || res.Objects != want {
			t.Errorf("first load: %+v, want %d created of %d", res, want, want)
		}
		checkRoundTrip(t, e, file)
		before := e.dump(t, "gigs")
		if len(before) != want {
			t.Errorf("stored %d objects, want %d", len(before), want)
		}

		t.Run("loading_twice_changes_nothing", func(t *testing.T) {
			res, err := e.load(t, data)
			if err != nil {
				t.Fatalf("second load: %v", err)
			}
			if res.Created != 0 || res.Objects != want {
				t.Errorf("second load: %+v, want 0 created of %d", res, want)
			}
			if after := e.dump(t, "gigs"); !reflect.DeepEqual(before, after) {
				t.Errorf("the second load changed stored data:\nbefore %v\nafter  %v", before, after)
			}
		})

		t.Run("api_output_loads_back", func(t *testing.T) {
			// Objects in their API representation, read-only members
			// included, load as they are (and change nothing).
			ctx := context.Background()
			key, err := e.Service.CreateAPIKey(ctx, "gigs")
			if err != nil {
				t.Fatal(err)
			}
			viaAPI := resourcesServed(e, "gigs", key)
			p := file["projects"].([]any)[0].(obj)
			again := obj{"id": "gigs", "name": p["name"], "settings": p["settings"]}
			for _, l := range lists {
				var items []any
				for _, o := range asList(p[l.list]) {
					got := e.readBack(t, "gigs", key, l.list, l.kind, o["id"].(string), viaAPI)
					if pin, ok := o["accountPin"]; ok {
						got["accountPin"] = pin
					}
					items = append(items, got)
				}
				again[l.list] = items
			}
			res, err := e.load(t, encode(t, obj{"projects": []any{again}}))
			if err != nil {
				t.Fatalf("load the API output: %v", err)
			}
			if res.Created != 0 {
				t.Errorf("created %d, want 0", res.Created)
			}
			if after := e.dump(t, "gigs"); !reflect.DeepEqual(before, after) {
				t.Errorf("loading the API output changed stored data")
			}
		})

		t.Run("references_to_the_database", func(t *testing.T) {
			// A later file adds to the project and references what the
			// first one stored.
			p := file["projects"].([]any)[0].(obj)
			more := obj{"id": "gigs", "name": p["name"], "settings": p["settings"],
				"subscriptions": []any{obj{"id": "sub_0FixSubLater0000000000000001", "user": "usr_0FixUserJerry000000000000001",
					"plan": "pln_0FixPlanMax00000000000000001", "sim": "sim_0FixSimFreeEsim0000000000001",
					"device": "dev_0FixDevJerry0000000000000001", "status": "pending", "recurring": true,
					"addons": []any{"add_0FixAddonBoost00000000000001"}}},
				"portings": []any{obj{"id": "prt_0FixPrtLater0000000000000001", "subscription": "sub_0FixSubActive000000000000001",
					"phoneNumber": "+12125550111", "status": "requested"}},
			}
			res, err := e.load(t, encode(t, obj{"projects": []any{more}}))
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			if res.Created != 2 {
				t.Errorf("created %d, want 2", res.Created)
			}
			prt, err := e.pf.Portings().Get(context.Background(), "gigs", "prt_0FixPrtLater0000000000000001")
			if err != nil {
				t.Fatal(err)
			}
			if prt.User != "usr_0FixUserJerry000000000000001" {
				t.Errorf("porting user = %q, want the subscription's user", prt.User)
			}
		})
	})
}

func TestSeedConflict(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		e := newEnv(t, b)
		data := readFixture(t, "full.json")
		if _, err := e.load(t, data); err != nil {
			t.Fatal(err)
		}
		before := e.dump(t, "gigs")

		const newPlan, newUser = "pln_0FixPlanNew00000000000000001", "usr_0FixUserNew00000000000000001"
		cases := []struct {
			name   string
			change func(p obj)
			kind   string
			id     string
			path   string
		}{
			{"plan_name", func(p obj) { p["plans"].([]any)[0].(obj)["name"] = "Max!" },
				"plan", "pln_0FixPlanMax00000000000000001", "projects[0].plans[0]"},
			{"porting_pin", func(p obj) { p["portings"].([]any)[0].(obj)["accountPin"] = "9999" },
				"porting", "prt_0FixPrtDeclined0000000000001", "projects[0].portings[0]"},
			{"user_email", func(p obj) { p["users"].([]any)[1].(obj)["email"] = "elaine.benes@example.com" },
				"user", "usr_0FixUserElaine00000000000001", "projects[0].users[1]"},
			{"project_settings", func(p obj) { p["settings"].(obj)["portingRetry"] = false },
				"project", "gigs", "projects[0]"},
			{"missing_settings_default", func(p obj) { delete(p, "settings") },
				"project", "gigs", "projects[0]"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				f := decode(t, data)
				p := f["projects"].([]any)[0].(obj)
				c.change(p)
				// Things that would be new are in the same file: they must
				// not be written either.
				p["plans"] = append(p["plans"].([]any), obj{"id": newPlan, "name": "New", "status": "active",
					"price": obj{"amount": 1, "currency": "USD"}, "validity": obj{"type": "oneTime"}})
				p["users"] = append(p["users"].([]any), obj{"id": newUser, "email": "newman@example.com"})
				res, err := e.load(t, encode(t, f))
				if err == nil {
					t.Fatalf("load succeeded (%+v), want a conflict", res)
				}
				var ce *connectd.SeedConflictError
				if !errors.As(err, &ce) || ce.Kind != c.kind || ce.ID != c.id {
					t.Fatalf("err = %v, want a SeedConflictError for %s %s", err, c.kind, c.id)
				}
				var le *seed.ConflictError
				if !errors.As(err, &le) || le.Path != c.path {
					t.Errorf("err = %v, want it located at %s", err, c.path)
				}
				for _, s := range []string{c.kind + " " + c.id, c.path} {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("message %q does not name %q", err, s)
					}
				}
				ctx := context.Background()
				if _, err := e.st.GetResource(ctx, "gigs", connectd.KindPlan, newPlan); !errors.Is(err, connectd.ErrNotFound) {
					t.Errorf("the new plan of the conflicting file was written (err %v)", err)
				}
				if _, err := e.st.GetUser(ctx, "gigs", newUser); !errors.Is(err, connectd.ErrNotFound) {
					t.Errorf("the new user of the conflicting file was written (err %v)", err)
				}
				if after := e.dump(t, "gigs"); !reflect.DeepEqual(before, after) {
					t.Errorf("a conflicting load changed stored data")
				}
			})
		}
	})
}

// wantInvalid checks that err is an *seed.InvalidError listing every
// given path with its code, and that its message names them.
func wantInvalid(t *testing.T, err error, want ...[2]string) {
	t.Helper()
	var ie *seed.InvalidError
	if !errors.As(err, &ie) {
		t.Fatalf("err = %v (%T), want *seed.InvalidError", err, err)
	}
	for _, w := range want {
		found := false
		for _, p := range ie.Problems {
			if p.Field == w[0] && (w[1] == "" || p.Code == w[1]) {
				found = true
			}
		}
		if !found {
			t.Errorf("problems lack {%s %s}; got %v", w[0], w[1], ie.Problems)
		}
		if !strings.Contains(err.Error(), w[0]) {
			t.Errorf("message does not name %s: %v", w[0], err)
		}
	}
}

func TestSeedReferences(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		e := newEnv(t, b)
		if _, err := e.load(t, readFixture(t, "full.json")); err != nil {
			t.Fatal(err)
		}
		const (
			jerry  = "usr_0FixUserJerry000000000000001"
			elaine = "usr_0FixUserElaine00000000000001"
			max    = "pln_0FixPlanMax00000000000000001"
			ghost  = "pln_0FixPlanGhost000000000000001"
		)
		cases := []struct {
			name string
			p    obj
			want [][2]string
		}{
			{"dangling_plan", obj{"subscriptions": []any{obj{"id": "sub_0RefSub000000000000000000001", "user": jerry, "plan": ghost, "status": "active"}}},
				[][2]string{{"projects[0].subscriptions[0].plan", "notFound"}}},
			{"dangling_everything", obj{
				"addons":  []any{obj{"id": "add_0RefAddon0000000000000000001", "name": "A", "status": "active", "price": obj{"amount": 1, "currency": "USD"}, "plans": []any{max, ghost}}},
				"devices": []any{obj{"id": "dev_0RefDev000000000000000000001", "user": "usr_0RefNobody000000000000000001", "manufacturer": "X", "model": "Y"}},
				"subscriptions": []any{obj{"id": "sub_0RefSub000000000000000000001", "user": "usr_0RefNobody000000000000000001", "plan": max,
					"sim": "sim_0RefNoSim0000000000000000001", "device": "dev_0RefNoDev0000000000000000001", "status": "active",
					"addons": []any{"add_0RefNoAddon00000000000000001"}}},
				"payments": []any{obj{"id": "pay_0RefPay000000000000000000001", "user": jerry, "subscription": "sub_0RefNoSub0000000000000000001",
					"paymentMethod": "pmt_0RefNoPmt0000000000000000001", "amount": 1, "currency": "USD", "status": "succeeded"}},
				"paymentMethods": []any{obj{"id": "pmt_0RefPmt000000000000000000001", "user": "usr_0RefNobody000000000000000001", "type": "card",
					"card": obj{"brand": "visa", "last4": "4242", "expMonth": 1, "expYear": 2030}}},
				"portings": []any{obj{"id": "prt_0RefPrt000000000000000000001", "subscription": "sub_0RefNoSub0000000000000000001", "phoneNumber": "+12125550100", "status": "draft"}},
			}, [][2]string{
				{"projects[0].addons[0].plans[1]", "notFound"},
				{"projects[0].devices[0].user", "notFound"},
				{"projects[0].subscriptions[0].user", "notFound"},
				{"projects[0].subscriptions[0].sim", "notFound"},
				{"projects[0].subscriptions[0].device", "notFound"},
				{"projects[0].subscriptions[0].addons[0]", "notFound"},
				{"projects[0].payments[0].subscription", "notFound"},
				{"projects[0].payments[0].paymentMethod", "notFound"},
				{"projects[0].paymentMethods[0].user", "notFound"},
				{"projects[0].portings[0].subscription", "notFound"},
			}},
			{"another_users_resources", obj{
				"subscriptions": []any{obj{"id": "sub_0RefSub000000000000000000001", "user": elaine, "plan": max,
					"device": "dev_0FixDevJerry0000000000000001", "status": "active"}},
				"payments": []any{obj{"id": "pay_0RefPay000000000000000000001", "user": elaine, "subscription": "sub_0FixSubActive000000000000001",
					"paymentMethod": "pmt_0FixPmtVisa00000000000000001", "amount": 1, "currency": "USD", "status": "succeeded"}},
				"portings": []any{obj{"id": "prt_0RefPrt000000000000000000001", "subscription": "sub_0FixSubActive000000000000001",
					"user": elaine, "phoneNumber": "+12125550100", "status": "draft"}},
			}, [][2]string{
				{"projects[0].subscriptions[0].device", "notOwned"},
				{"projects[0].payments[0].subscription", "notOwned"},
				{"projects[0].payments[0].paymentMethod", "notOwned"},
				{"projects[0].portings[0].user", "invalid"},
			}},
			{"addon_not_for_the_plan", obj{"subscriptions": []any{obj{"id": "sub_0RefSub000000000000000000001", "user": jerry,
				"plan": "pln_0FixPlanDay00000000000000001", "status": "active", "addons": []any{"add_0FixAddonBoost00000000000001"}}}},
				[][2]string{{"projects[0].subscriptions[0].addons[0]", "notAvailableForPlan"}}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before := e.dump(t, "gigs")
				base := decode(t, readFixture(t, "full.json"))["projects"].([]any)[0].(obj)
				p := obj{"id": "gigs", "name": base["name"], "settings": base["settings"]}
				for k, v := range c.p {
					p[k] = v
				}
				_, err := e.load(t, encode(t, obj{"projects": []any{p}}))
				wantInvalid(t, err, c.want...)
				if after := e.dump(t, "gigs"); !reflect.DeepEqual(before, after) {
					t.Errorf("an invalid file changed stored data")
				}
			})
		}
		t.Run("nothing_of_a_new_project_is_written", func(t *testing.T) {
			_, err := e.load(t, []byte(`{"projects":[{"id":"fresh","users":[{"id":"usr_0RefNew000000000000000000001","email":"a@example.com"}],
				"subscriptions":[{"id":"sub_0RefSub000000000000000000001","user":"usr_0RefNew000000000000000000001","plan":"`+max+`","status":"active"}]}]}`))
			wantInvalid(t, err, [2]string{"projects[0].subscriptions[0].plan", "notFound"})
			if _, err := e.st.GetProject(context.Background(), "fresh"); !errors.Is(err, connectd.ErrNotFound) {
				t.Errorf("project of an invalid file exists (err %v)", err)
			}
		})
	})
}

func TestSeedStrictParsing(t *testing.T) {
	e := newEnv(t, apitest.SQLite)
	plan := func(extra string) string {
		return `{"id":"pln_0P00000000000000000000000001","name":"P","status":"active","price":{"amount":1,"currency":"USD"},"validity":{"type":"recurring"}` + extra + `}`
	}
	threePlans := func(third string) string {
		return `{"projects":[{"id":"p","plans":[` + plan("") + `,` + strings.Replace(plan(""), "01\"", "02\"", 1) + `,` + third + `]}]}`
	}
	cases := []struct {
		name, file string
		want       [][2]string
	}{
		{"wrong_type_deep", threePlans(`{"id":"pln_0P00000000000000000000000003","name":"P","status":"active","price":{"amount":1,"currency":5},"validity":{"type":"recurring"}}`),
			[][2]string{{"projects[0].plans[2].price.currency", "invalidType"}}},
		{"invalid_value_deep", threePlans(`{"id":"pln_0P00000000000000000000000003","name":"P","status":"active","price":{"amount":1,"currency":"usd"},"validity":{"type":"recurring"}}`),
			[][2]string{{"projects[0].plans[2].price.currency", "invalidCurrency"}}},
		{"unknown_field_deep", threePlans(`{"id":"pln_0P00000000000000000000000003","name":"P","status":"active","price":{"amount":1,"currncy":"USD"},"validity":{"type":"recurring"}}`),
			[][2]string{{"projects[0].plans[2].price.currncy", "unknownField"}}},
		{"unknown_list", `{"projects":[{"id":"p","plan":[]}]}`, [][2]string{{"projects[0].plan", "unknownField"}}},
		{"unknown_top_level", `{"projects":[],"version":1}`, [][2]string{{"version", "unknownField"}}},
		{"unknown_setting", `{"projects":[{"id":"p","settings":{"portingRetries":true}}]}`, [][2]string{{"projects[0].settings.portingRetries", "unknownField"}}},
		{"bad_setting", `{"projects":[{"id":"p","settings":{"billingMode":"cash","sessionTTL":"1s"}}]}`,
			[][2]string{{"projects[0].settings.billingMode", "invalid"}, {"projects[0].settings.sessionTTL", "outOfRange"}}},
		{"bad_duration", `{"projects":[{"id":"p","settings":{"sessionTTL":"soon"}}]}`, [][2]string{{"projects[0].settings.sessionTTL", "invalidDuration"}}},
		{"not_an_integer", `{"projects":[{"id":"p","plans":[` + strings.Replace(plan(""), `"amount":1`, `"amount":1.5`, 1) + `]}]}`,
			[][2]string{{"projects[0].plans[0].price.amount", "invalidNumber"}}},
		{"bad_timestamp", `{"projects":[{"id":"p","plans":[` + plan(`,"createdAt":"yesterday"`) + `]}]}`,
			[][2]string{{"projects[0].plans[0].createdAt", "invalidTime"}}},
		{"wrong_object", `{"projects":[{"id":"p","plans":[` + plan(`,"object":"addon"`) + `]}]}`,
			[][2]string{{"projects[0].plans[0].object", "invalid"}}},
		{"wrong_prefix", `{"projects":[{"id":"p","plans":[` + strings.Replace(plan(""), "pln_", "add_", 1) + `]}]}`,
			[][2]string{{"projects[0].plans[0].id", "invalidId"}}},
		{"missing_id", `{"projects":[{"id":"p","users":[{"email":"a@example.com"}]}]}`, [][2]string{{"projects[0].users[0].id", "required"}}},
		{"duplicate_id", `{"projects":[{"id":"p","plans":[` + plan("") + `,` + plan("") + `]}]}`, [][2]string{{"projects[0].plans[1].id", "duplicate"}}},
		{"shared_sim", `{"projects":[{"id":"p","plans":[` + plan("") + `],"users":[{"id":"usr_0U00000000000000000000000001","email":"a@example.com"}],
			"sims":[{"id":"sim_0S00000000000000000000000001","type":"pSIM","iccid":"8901000000000000001","status":"assigned"}],
			"subscriptions":[` + sharedSIMSub("1", "active") + `,` + sharedSIMSub("2", "ended") + `,` + sharedSIMSub("3", "pending") + `]}]}`,
			[][2]string{{"projects[0].subscriptions[2].sim", "assigned"}}},
		{"null_element", `{"projects":[{"id":"p","plans":[null]}]}`, [][2]string{{"projects[0].plans[0]", "invalidType"}}},
		{"bad_values", `{"projects":[{"id":"P!","users":[{"id":"usr_0U00000000000000000000000001","email":"nope","birthday":"1990-02-30","address":{"line1":"x","city":"y","postalCode":"1","country":"usa"}}],
			"sims":[{"id":"sim_0S00000000000000000000000001","type":"eSIM","iccid":"12","status":"free","activationCode":"LPA:2$x"}]}]}`,
			[][2]string{{"projects[0].id", "invalid"}, {"projects[0].users[0].email", "invalidEmail"}, {"projects[0].users[0].birthday", "invalidDate"},
				{"projects[0].users[0].address.country", "invalidCountry"}, {"projects[0].sims[0].iccid", "invalidIccid"},
				{"projects[0].sims[0].status", "invalid"}, {"projects[0].sims[0].activationCode", "invalidActivationCode"}}},
		{"syntax", `{"projects":[{"id":"p",}]}`, [][2]string{{"", "invalidJson"}}},
		{"duplicate_key", `{"projects":[{"id":"p","id":"q"}]}`, [][2]string{{"", "invalidJson"}}},
		{"trailing_data", `{"projects":[]} {}`, [][2]string{{"", "invalidJson"}}},
		{"not_an_object", `[]`, [][2]string{{"", "invalidType"}}},
		{"no_projects", `{"projects":[]}`, [][2]string{{"projects", "required"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.load(t, []byte(c.file))
			wantInvalid(t, err, c.want...)
		})
	}
	t.Run("syntax_error_names_line_and_column", func(t *testing.T) {
		_, err := e.load(t, []byte("{\"projects\":[\n  {\"id\": \"p\",}\n]}"))
		if err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("err = %v, want the line named", err)
		}
	})
}

// sharedSIMSub is a seed subscription n of status on the one SIM of the
// shared_sim case.
func sharedSIMSub(n, status string) string {
	return `{"id":"sub_0B0000000000000000000000000` + n + `","user":"usr_0U00000000000000000000000001","plan":"pln_0P00000000000000000000000001",` +
		`"sim":"sim_0S00000000000000000000000001","status":"` + status + `","recurring":true}`
}
