package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/jsonv"
	"github.com/connectd/connectd/service"
)

// The platform resources' REST API: create, retrieve, list and update of
// plans, add-ons, SIMs, devices, subscriptions, payment methods, payments
// and portings under /projects/{project}/, with the auth, input and error
// rules of sessions and users.

// kindAPI describes how the API serves one kind of resource.
type kindAPI[T service.PlatformResource] struct {
	kind connectd.ResourceKind // T's, set by registerKind
	path string                // the collection's path segment, such as "paymentMethods"
	// owned kinds filter lists by ?user=, children of a subscription by
	// ?subscription=, kinds with a status by ?status= (one of statuses).
	owned, child bool
	statuses     []string
	new          func() *T
	read         func(r rd, v *T)
	check        func(v *T, ps *problems) // rules between fields, on the whole resource
	// prepare completes a valid create before it is stored (defaults that
	// depend on other resources).
	prepare func(ctx context.Context, s *Server, projectID string, root *jsonv.Obj, v *T)
	render  func(v *T) any
}

// resourceRoutes registers the endpoints of every platform resource kind.
func (s *Server) resourceRoutes() {
	registerKind(s, kindAPI[connectd.Plan]{path: "plans", statuses: connectd.PlanStatuses,
		new: newPlan, read: readPlan, render: renderPlan})
	registerKind(s, kindAPI[connectd.Addon]{path: "addons", statuses: connectd.PlanStatuses,
		new: newAddon, read: readAddon, render: renderAddon})
	registerKind(s, kindAPI[connectd.SIM]{path: "sims", statuses: connectd.SIMStatuses,
		new: newSIM, read: readSIM, check: checkSIM, render: renderSIM})
	registerKind(s, kindAPI[connectd.Device]{path: "devices", owned: true,
		new: newDevice, read: readDevice, render: renderDevice})
	registerKind(s, kindAPI[connectd.Subscription]{path: "subscriptions", owned: true,
		statuses: connectd.SubscriptionStatuses, new: newSubscription, read: readSubscription, prepare: prepareSubscription,
		render: renderSubscription})
	registerKind(s, kindAPI[connectd.PaymentMethod]{path: "paymentMethods", owned: true,
		new: newPaymentMethod, read: readPaymentMethod, render: renderPaymentMethod})
	registerKind(s, kindAPI[connectd.Payment]{path: "payments", owned: true, child: true,
		statuses: connectd.PaymentStatuses, new: newPayment, read: readPayment, render: renderPayment})
	registerKind(s, kindAPI[connectd.Porting]{path: "portings", owned: true, child: true,
		statuses: connectd.PortingStatuses, new: newPorting, read: readPorting, check: checkPorting, render: renderPorting})
}

func registerKind[T service.PlatformResource](s *Server, k kindAPI[T]) {
	k.kind = service.ResourcesOf[T](s.svc).Kind()
	s.mux.Handle("/projects/{project}/"+k.path, s.methods(map[string]apiFunc{
		http.MethodPost: func(w http.ResponseWriter, r *http.Request, c *call) error { return k.create(s, w, r, c) },
		http.MethodGet:  func(w http.ResponseWriter, r *http.Request, c *call) error { return k.list(s, w, r, c) },
	}))
	s.mux.Handle("/projects/{project}/"+k.path+"/{id}", s.methods(map[string]apiFunc{
		http.MethodGet:   func(w http.ResponseWriter, r *http.Request, c *call) error { return k.get(s, w, r, c) },
		http.MethodPatch: func(w http.ResponseWriter, r *http.Request, c *call) error { return k.update(s, w, r, c) },
	}))
}

// decode reads body into v: create (v holds the defaults) or PATCH (v is
// the stored resource), reporting every problem at once.
func (k kindAPI[T]) decode(root *jsonv.Obj, ps *problems, create bool, v *T) error {
	if len(ps.Problems) > 0 {
		return ps.err() // the body is not an object
	}
	r := newRd(root, ps, create)
	readCommon(r, k.kind)
	k.read(r, v)
	root.Done()
	if len(ps.Problems) == 0 && k.check != nil {
		k.check(v, ps)
	}
	return ps.err()
}

func (k kindAPI[T]) create(s *Server, w http.ResponseWriter, r *http.Request, c *call) error {
	if err := s.svc.CheckPlatform(); err != nil {
		return err // the path before the body
	}
	body, err := parseBody(c.body)
	if err != nil {
		return err
	}
	var ps problems
	root := jsonv.Root(body, &ps.Problems)
	v := k.new()
	if err := k.decode(root, &ps, true, v); err != nil {
		if shape := shapeProblems(err); shape != nil {
			return service.ResourcesOf[T](s.svc).Refuse(r.Context(), c.project.ID, v, shape)
		}
		return err
	}
	if k.prepare != nil {
		k.prepare(r.Context(), s, c.project.ID, root, v)
	}
	out, err := service.ResourcesOf[T](s.svc).Create(r.Context(), c.project.ID, v, c.idem)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, k.render(out))
	return nil
}

func (k kindAPI[T]) get(s *Server, w http.ResponseWriter, r *http.Request, c *call) error {
	v, err := service.ResourcesOf[T](s.svc).Get(r.Context(), c.project.ID, r.PathValue("id"))
	if err != nil {
		return err // the path before the query
	}
	if err := noQuery(r); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, k.render(v))
	return nil
}

func (k kindAPI[T]) update(s *Server, w http.ResponseWriter, r *http.Request, c *call) error {
	res := service.ResourcesOf[T](s.svc)
	id := r.PathValue("id")
	if _, err := res.Get(r.Context(), c.project.ID, id); err != nil {
		return err // the path before the body
	}
	body, err := parseBody(c.body)
	if err != nil {
		return err
	}
	// The body is read into the stored resource, fresh on every attempt of
	// the compare-and-swap update.
	out, err := res.Update(r.Context(), c.project.ID, id, func(v *T) error {
		var ps problems
		err := k.decode(jsonv.Root(body, &ps.Problems), &ps, false, v)
		if shape := shapeProblems(err); shape != nil {
			return res.Refuse(r.Context(), c.project.ID, v, shape)
		}
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, k.render(out))
	return nil
}

func (k kindAPI[T]) list(s *Server, w http.ResponseWriter, r *http.Request, c *call) error {
	if err := s.svc.CheckPlatform(); err != nil {
		return err
	}
	known := []string{"limit", "after", "before"}
	if k.owned {
		known = append(known, "user")
	}
	if k.child {
		known = append(known, "subscription")
	}
	if k.statuses != nil {
		known = append(known, "status")
	}
	q, err := readQuery(r, known...)
	if err != nil {
		return err
	}
	var ps problems
	f := connectd.PlatformFilter{ListParams: q.listParams(k.kind.Prefix(), &ps)}
	if v, ok := q.get("user"); ok && k.owned {
		if connectd.ValidID(connectd.PrefixUser, v) {
			f.UserID = v
		} else {
			ps.Add("user", "invalidId", "must be a user ID (usr_…)")
		}
	}
	if v, ok := q.get("subscription"); ok && k.child {
		if connectd.ValidID(connectd.PrefixSubscription, v) {
			f.Subscription = v
		} else {
			ps.Add("subscription", "invalidId", "must be a subscription ID (sub_…)")
		}
	}
	if v, ok := q.get("status"); ok && k.statuses != nil {
		valid := false
		for _, st := range k.statuses {
			valid = valid || v == st
		}
		if valid {
			f.Status = v
		} else {
			ps.Add("status", "invalid", "must be one of %s", strings.Join(k.statuses, ", "))
		}
	}
	q.problems(&ps)
	if err := ps.err(); err != nil {
		return err
	}
	page, err := service.ResourcesOf[T](s.svc).List(r.Context(), c.project.ID, f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, makeList(page, func(v *T) string { return any(v).(connectd.Resource).ResourceID() }, k.render))
	return nil
}

// prepareSubscription: a subscription created without recurring follows
// its plan's validity. An unknown plan is left for the platform to report.
func prepareSubscription(ctx context.Context, s *Server, projectID string, root *jsonv.Obj, v *connectd.Subscription) {
	if root.Has("recurring") {
		return
	}
	if p, err := service.ResourcesOf[connectd.Plan](s.svc).Get(ctx, projectID, v.Plan); err == nil {
		v.Recurring = p.Validity.Type == connectd.ValidityRecurring
	}
}

// Representations: the resource's JSON with "object", and times in RFC 3339
// UTC to the second, as sessions and users show them. The outer createdAt
// shadows the embedded one.

type planJSON struct {
	Object string `json:"object"`
	*connectd.Plan
	CreatedAt string `json:"createdAt"`
}

func renderPlan(v *connectd.Plan) any {
	return planJSON{Object: string(connectd.KindPlan), Plan: v, CreatedAt: timeJSON(v.CreatedAt)}
}

type addonJSON struct {
	Object string `json:"object"`
	*connectd.Addon
	CreatedAt string `json:"createdAt"`
}

func renderAddon(v *connectd.Addon) any {
	c := *v
	if c.Plans == nil {
		c.Plans = []string{}
	}
	return addonJSON{Object: string(connectd.KindAddon), Addon: &c, CreatedAt: timeJSON(v.CreatedAt)}
}

type simJSON struct {
	Object string `json:"object"`
	*connectd.SIM
	CreatedAt string `json:"createdAt"`
}

func renderSIM(v *connectd.SIM) any {
	return simJSON{Object: string(connectd.KindSIM), SIM: v, CreatedAt: timeJSON(v.CreatedAt)}
}

type deviceJSON struct {
	Object string `json:"object"`
	*connectd.Device
	CreatedAt string `json:"createdAt"`
}

func renderDevice(v *connectd.Device) any {
	return deviceJSON{Object: string(connectd.KindDevice), Device: v, CreatedAt: timeJSON(v.CreatedAt)}
}

type periodJSON struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

type subscriptionJSON struct {
	Object string `json:"object"`
	*connectd.Subscription
	CurrentPeriod *periodJSON `json:"currentPeriod"`
	EndedAt       *string     `json:"endedAt"`
	CreatedAt     string      `json:"createdAt"`
}

func renderSubscription(v *connectd.Subscription) any {
	c := *v
	if c.Addons == nil {
		c.Addons = []string{}
	}
	out := subscriptionJSON{Object: string(connectd.KindSubscription), Subscription: &c, CreatedAt: timeJSON(v.CreatedAt)}
	if p := v.CurrentPeriod; p != nil {
		out.CurrentPeriod = &periodJSON{Start: timeJSON(p.Start), End: timeJSON(p.End)}
	}
	if v.EndedAt != nil {
		t := timeJSON(*v.EndedAt)
		out.EndedAt = &t
	}
	return out
}

type paymentMethodJSON struct {
	Object string `json:"object"`
	*connectd.PaymentMethod
	CreatedAt string `json:"createdAt"`
}

func renderPaymentMethod(v *connectd.PaymentMethod) any {
	return paymentMethodJSON{Object: string(connectd.KindPaymentMethod), PaymentMethod: v, CreatedAt: timeJSON(v.CreatedAt)}
}

type paymentJSON struct {
	Object string `json:"object"`
	*connectd.Payment
	CreatedAt string `json:"createdAt"`
}

func renderPayment(v *connectd.Payment) any {
	return paymentJSON{Object: string(connectd.KindPayment), Payment: v, CreatedAt: timeJSON(v.CreatedAt)}
}

// portingJSON never carries the account PIN: connectd.Porting keeps it out
// of its JSON (json:"-"), and accountPinProvided says whether one is set.
type portingJSON struct {
	Object string `json:"object"`
	*connectd.Porting
	AccountPinProvided bool   `json:"accountPinProvided"`
	CreatedAt          string `json:"createdAt"`
}

func renderPorting(v *connectd.Porting) any {
	return portingJSON{Object: string(connectd.KindPorting), Porting: v,
		AccountPinProvided: v.AccountPin != nil && *v.AccountPin != "", CreatedAt: timeJSON(v.CreatedAt)}
}
