package seed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/platform"
)

// loader validates a parsed file and turns it into one SeedBatch.
type loader struct {
	ctx context.Context
	st  Store
	pf  *platform.Builtin
	now time.Time
	ps  problems
	// paths maps "kind id" to the object's path, to locate conflicts.
	paths map[string]string
	fault error // a database error while checking references
}

// ref is what reference checks need to know of an object, whether it is in
// the file or in the database.
type ref struct {
	owner string   // the user of an owned resource
	plans []string // an add-on's plans
}

// scope is one project of the file: the objects it defines, by kind and ID.
type scope struct {
	id    string
	path  string
	users map[string]*connectd.User
	refs  map[connectd.ResourceKind]map[string]ref
	ids   map[string]string // every ID of the project -> its path
}

func (l *loader) build(f *fileIn) (connectd.SeedBatch, int, error) {
	var b connectd.SeedBatch
	recs := map[connectd.ResourceKind][]*connectd.ResourceRecord{}
	objects := 0
	if len(f.Projects) == 0 {
		l.ps.add("projects", "required", "must list at least one project")
	}
	seenProjects := map[string]string{}
	for i, pin := range f.Projects {
		path := fmt.Sprintf("projects[%d]", i)
		if prev, dup := seenProjects[pin.ID]; dup && pin.ID != "" {
			l.ps.add(path+".id", "duplicate", "project %s is already defined at %s", pin.ID, prev)
			continue
		}
		seenProjects[pin.ID] = path
		p := l.project(path, pin)
		b.Projects = append(b.Projects, p)
		objects++
		sc := &scope{id: p.ID, path: path, users: map[string]*connectd.User{}, refs: map[connectd.ResourceKind]map[string]ref{}, ids: map[string]string{}}
		for _, k := range connectd.ResourceKinds {
			sc.refs[k] = map[string]ref{}
		}
		// Index the file's objects first, so that references may point
		// forwards and backwards alike.
		l.index(sc, pin)
		b.Users = append(b.Users, l.users(sc, pin)...)
		objects += len(pin.Users)
		for _, v := range l.resources(sc, pin) {
			rec, err := l.pf.SeedRecord(l.ctx, p.ID, v.obj)
			if err != nil {
				l.ps.add(v.path, "invalid", "%v", err)
				continue
			}
			recs[rec.Kind] = append(recs[rec.Kind], rec)
			objects++
		}
	}
	if l.fault != nil {
		return b, objects, l.fault
	}
	if err := l.ps.err(); err != nil {
		return b, objects, err
	}
	for _, k := range connectd.ResourceKinds {
		b.Resources = append(b.Resources, recs[k]...)
	}
	return b, objects, nil
}

func (l *loader) object(path, got, want string) {
	if got != "" && got != want {
		l.ps.add(path+".object", "invalid", "must be %q (or left out), not %q", want, got)
	}
}

func (l *loader) project(path string, in *projectIn) *connectd.Project {
	l.object(path, in.Object, "project")
	p := &connectd.Project{ID: in.ID, Name: in.Name, CreatedAt: l.created(in.CreatedAt)}
	switch {
	case in.ID == "":
		l.ps.add(path+".id", "required", "is required")
	case !connectd.ValidProjectID(in.ID):
		l.ps.add(path+".id", "invalid", "must be 1-64 characters of a-z, 0-9, '-' and '_'")
	}
	if p.Name == "" {
		p.Name = p.ID
	} else {
		l.text(path+".name", p.Name, connectd.MaxNameLength)
	}
	p.Settings = connectd.DefaultProjectSettings()
	if in.Settings != nil {
		p.Settings = connectd.ProjectSettings(*in.Settings)
	}
	if p.Settings.CallbackAllowList == nil {
		p.Settings.CallbackAllowList = []string{}
	}
	if err := p.Settings.Validate(); err != nil {
		for _, d := range connectd.AsError(err).Details {
			l.ps.add(path+"."+d.Field, d.Code, "%s", d.Message)
		}
	}
	l.paths["project "+p.ID] = path
	return p
}

func (l *loader) created(t time.Time) time.Time {
	if t.IsZero() {
		return l.now
	}
	return t.UTC().Truncate(time.Millisecond)
}

// index records every ID the project defines, refusing duplicates and IDs
// of the wrong form.
func (l *loader) index(sc *scope, in *projectIn) {
	add := func(path, prefix, id string) bool {
		switch {
		case id == "":
			l.ps.add(path+".id", "required", "is required: seed objects name their ID")
			return false
		case !connectd.ValidID(prefix, id):
			l.ps.add(path+".id", "invalidId", "must be an ID of the form %s_ followed by base62 characters, at most %d in all", prefix, connectd.MaxIDLength)
			return false
		}
		if prev, dup := sc.ids[id]; dup {
			l.ps.add(path+".id", "duplicate", "%s is already defined at %s", id, prev)
			return false
		}
		sc.ids[id] = path
		return true
	}
	for i, u := range in.Users {
		if path := fmt.Sprintf("%s.users[%d]", sc.path, i); add(path, connectd.PrefixUser, u.ID) {
			sc.users[u.ID] = &u.User
			l.paths["user "+u.ID] = path
		}
	}
	each := func(kind connectd.ResourceKind, field string, n int, id func(int) string, r func(int) ref) {
		for i := 0; i < n; i++ {
			path := fmt.Sprintf("%s.%s[%d]", sc.path, field, i)
			if add(path, kind.Prefix(), id(i)) {
				sc.refs[kind][id(i)] = r(i)
				l.paths[string(kind)+" "+id(i)] = path
			}
		}
	}
	each(connectd.KindPlan, "plans", len(in.Plans), func(i int) string { return in.Plans[i].ID }, func(int) ref { return ref{} })
	each(connectd.KindAddon, "addons", len(in.Addons), func(i int) string { return in.Addons[i].ID },
		func(i int) ref { return ref{plans: in.Addons[i].Plans} })
	each(connectd.KindSIM, "sims", len(in.SIMs), func(i int) string { return in.SIMs[i].ID }, func(int) ref { return ref{} })
	each(connectd.KindDevice, "devices", len(in.Devices), func(i int) string { return in.Devices[i].ID },
		func(i int) ref { return ref{owner: deref(in.Devices[i].User)} })
	each(connectd.KindSubscription, "subscriptions", len(in.Subscriptions), func(i int) string { return in.Subscriptions[i].ID },
		func(i int) ref { return ref{owner: in.Subscriptions[i].User} })
	each(connectd.KindPaymentMethod, "paymentMethods", len(in.PaymentMethods), func(i int) string { return in.PaymentMethods[i].ID },
		func(i int) ref { return ref{owner: in.PaymentMethods[i].User} })
	each(connectd.KindPayment, "payments", len(in.Payments), func(i int) string { return in.Payments[i].ID },
		func(i int) ref { return ref{owner: in.Payments[i].User} })
	each(connectd.KindPorting, "portings", len(in.Portings), func(i int) string { return in.Portings[i].ID },
		func(int) ref { return ref{} })
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (l *loader) users(sc *scope, in *projectIn) []*connectd.User {
	var out []*connectd.User
	emails := map[string]string{}
	for i, ui := range in.Users {
		path := fmt.Sprintf("%s.users[%d]", sc.path, i)
		l.object(path, ui.Object, "user")
		u := ui.User
		u.ProjectID = sc.id
		u.CreatedAt = l.created(u.CreatedAt)
		switch {
		case u.Email == "":
			l.ps.add(path+".email", "required", "is required")
		case !connectd.ValidEmail(u.Email):
			l.ps.add(path+".email", "invalidEmail", "must be an email address such as jerry@example.com")
		default:
			n := connectd.NormalizeEmail(u.Email)
			if prev, dup := emails[n]; dup {
				l.ps.add(path+".email", "duplicate", "%s is already the email of %s", u.Email, prev)
			}
			emails[n] = path
		}
		l.optText(path+".fullName", u.FullName, connectd.MaxFullNameLength)
		if u.Birthday != nil {
			if !connectd.ValidDate(*u.Birthday) {
				l.ps.add(path+".birthday", "invalidDate", "must be a date in the form YYYY-MM-DD")
			} else if *u.Birthday > l.now.Format(time.DateOnly) {
				l.ps.add(path+".birthday", "inFuture", "must not be in the future")
			}
		}
		if u.PreferredLocale != nil && !connectd.ValidLocale(*u.PreferredLocale) {
			l.ps.add(path+".preferredLocale", "invalidLocale", "must be an IETF language tag such as en-US")
		}
		l.metadata(path+".metadata", u.Metadata)
		if u.Metadata == nil {
			u.Metadata = map[string]string{}
		}
		l.address(path+".address", u.Address)
		out = append(out, &u)
	}
	return out
}

// item is one typed resource ready for SeedRecord, with its path.
type item struct {
	path string
	obj  any
}

// resources checks each resource: its content with connectd's rules (the
// API's), then what only the loader can see: references to the file and
// the database, owners, add-ons for the plan, ICCIDs and default payment
// methods in the file.
func (l *loader) resources(sc *scope, in *projectIn) []item {
	var out []item
	for i, v := range in.Plans {
		path := fmt.Sprintf("%s.plans[%d]", sc.path, i)
		l.object(path, v.Object, string(connectd.KindPlan))
		p := v.Plan
		p.CreatedAt = l.created(p.CreatedAt)
		p.Check(path, (*connectd.FieldErrors)(&l.ps))
		out = append(out, item{path, &p})
	}
	for i, v := range in.Addons {
		path := fmt.Sprintf("%s.addons[%d]", sc.path, i)
		l.object(path, v.Object, string(connectd.KindAddon))
		a := v.Addon
		a.CreatedAt = l.created(a.CreatedAt)
		a.Check(path, (*connectd.FieldErrors)(&l.ps))
		for j, plan := range a.Plans {
			l.resolve(sc, fmt.Sprintf("%s.plans[%d]", path, j), connectd.KindPlan, plan)
		}
		if a.Plans == nil {
			a.Plans = []string{}
		}
		out = append(out, item{path, &a})
	}
	iccids := map[string]string{}
	for i, v := range in.SIMs {
		path := fmt.Sprintf("%s.sims[%d]", sc.path, i)
		l.object(path, v.Object, string(connectd.KindSIM))
		s := v.SIM
		s.CreatedAt = l.created(s.CreatedAt)
		s.Check(path, (*connectd.FieldErrors)(&l.ps))
		if s.ICCID != "" {
			if prev, dup := iccids[s.ICCID]; dup {
				l.ps.add(path+".iccid", "duplicate", "is already the ICCID of %s", prev)
			}
			iccids[s.ICCID] = path
		}
		out = append(out, item{path, &s})
	}
	for i, v := range in.Devices {
		path := fmt.Sprintf("%s.devices[%d]", sc.path, i)
		l.object(path, v.Object, string(connectd.KindDevice))
		d := v.Device
		d.CreatedAt = l.created(d.CreatedAt)
		if d.User != nil {
			l.user(sc, path+".user", *d.User)
		}
		d.Check(path, (*connectd.FieldErrors)(&l.ps))
		out = append(out, item{path, &d})
	}
	holders := map[string]string{} // SIM -> the live subscription on it
	for i, v := range in.Subscriptions {
		path := fmt.Sprintf("%s.subscriptions[%d]", sc.path, i)
		l.object(path, v.Object, string(connectd.KindSubscription))
		s := v.Subscription
		s.CreatedAt = l.created(s.CreatedAt)
		l.user(sc, path+".user", s.User)
		l.resolve(sc, path+".plan", connectd.KindPlan, s.Plan)
		if s.SIM != nil {
			l.resolve(sc, path+".sim", connectd.KindSIM, *s.SIM)
			// One SIM, one subscription that has not ended (issue 11.1; the
			// database refuses it too, against what is already stored).
			if prev, dup := holders[*s.SIM]; dup && s.Status != connectd.SubscriptionEnded {
				l.ps.add(path+".sim", "assigned", "is already the SIM of %s, which has not ended", prev)
			} else if s.Status != connectd.SubscriptionEnded {
				holders[*s.SIM] = path
			}
		}
		if s.Device != nil {
			l.owned(sc, path+".device", connectd.KindDevice, *s.Device, s.User)
		}
		s.Check(path, (*connectd.FieldErrors)(&l.ps))
		for j, a := range s.Addons {
			f := fmt.Sprintf("%s.addons[%d]", path, j)
			if r, ok := l.resolve(sc, f, connectd.KindAddon, a); ok && s.Plan != "" && !slices.Contains(r.plans, s.Plan) {
				l.ps.add(f, "notAvailableForPlan", "add-on %s cannot be bought for plan %s", a, s.Plan)
			}
		}
		if s.Addons == nil {
			s.Addons = []string{}
		}
		out = append(out, item{path, &s})
	}
	defaults := map[string]string{}
	for i, v := range in.PaymentMethods {
		path := fmt.Sprintf("%s.paymentMethods[%d]", sc.path, i)
		l.object(path, v.Object, string(connectd.KindPaymentMethod))
		m := v.PaymentMethod
		m.CreatedAt = l.created(m.CreatedAt)
		l.user(sc, path+".user", m.User)
		m.Check(path, (*connectd.FieldErrors)(&l.ps))
		if m.Default && m.User != "" {
			if prev, dup := defaults[m.User]; dup {
				l.ps.add(path+".default", "duplicate", "user %s already has a default payment method at %s", m.User, prev)
			}
			defaults[m.User] = path
		}
		out = append(out, item{path, &m})
	}
	for i, v := range in.Payments {
		path := fmt.Sprintf("%s.payments[%d]", sc.path, i)
		l.object(path, v.Object, string(connectd.KindPayment))
		p := v.Payment
		p.CreatedAt = l.created(p.CreatedAt)
		l.user(sc, path+".user", p.User)
		if p.Subscription != nil {
			l.owned(sc, path+".subscription", connectd.KindSubscription, *p.Subscription, p.User)
		}
		if p.PaymentMethod != nil {
			l.owned(sc, path+".paymentMethod", connectd.KindPaymentMethod, *p.PaymentMethod, p.User)
		}
		p.Check(path, (*connectd.FieldErrors)(&l.ps))
		out = append(out, item{path, &p})
	}
	for i, v := range in.Portings {
		path := fmt.Sprintf("%s.portings[%d]", sc.path, i)
		l.object(path, v.Object, string(connectd.KindPorting))
		p := v.Porting
		p.AccountPin = v.AccountPin
		p.CreatedAt = l.created(p.CreatedAt)
		// The owner is the subscription's user: taken from there, and
		// checked when the file states it.
		if r, ok := l.resolve(sc, path+".subscription", connectd.KindSubscription, p.Subscription); ok {
			if p.User != "" && p.User != r.owner {
				l.ps.add(path+".user", "invalid", "must be the subscription's user %s (or left out), not %s", r.owner, p.User)
			}
			p.User = r.owner
		}
		p.Check(path, (*connectd.FieldErrors)(&l.ps))
		// accountPinProvided is read-only: accepted so that API output
		// loads back, refused when it contradicts the file.
		if hasPin := p.AccountPin != nil; p.AccountPinProvided && !hasPin {
			l.ps.add(path+".accountPinProvided", "readOnly", "is read-only: give accountPin to set a PIN")
		}
		out = append(out, item{path, &p})
	}
	return out
}

// user checks that a user exists in the file or the database.
func (l *loader) user(sc *scope, path, id string) {
	switch {
	case id == "":
		l.ps.add(path, "required", "is required")
		return
	case !connectd.ValidID(connectd.PrefixUser, id):
		l.ps.add(path, "invalidId", "must be a user ID (usr_…)")
		return
	}
	if _, ok := sc.users[id]; ok {
		return
	}
	_, err := l.st.GetUser(l.ctx, sc.id, id)
	switch {
	case errors.Is(err, connectd.ErrNotFound):
		l.ps.add(path, "notFound", "no user %s in the file or in project %s", id, sc.id)
	case err != nil:
		l.fail(err)
	}
}

// resolve finds a resource in the file or the database.
func (l *loader) resolve(sc *scope, path string, kind connectd.ResourceKind, id string) (ref, bool) {
	switch {
	case id == "":
		l.ps.add(path, "required", "is required")
		return ref{}, false
	case !connectd.ValidID(kind.Prefix(), id):
		l.ps.add(path, "invalidId", "must be a %s ID (%s_…)", kind, kind.Prefix())
		return ref{}, false
	}
	if r, ok := sc.refs[kind][id]; ok {
		return r, true
	}
	rec, err := l.st.GetResource(l.ctx, sc.id, kind, id)
	switch {
	case errors.Is(err, connectd.ErrNotFound):
		l.ps.add(path, "notFound", "no %s %s in the file or in project %s", kind, id, sc.id)
		return ref{}, false
	case err != nil:
		l.fail(err)
		return ref{}, false
	}
	r := ref{owner: rec.UserID}
	if kind == connectd.KindAddon {
		var a connectd.Addon
		if err := json.Unmarshal(rec.Data, &a); err != nil {
			l.fail(fmt.Errorf("decode add-on %s: %w", id, err))
		}
		r.plans = a.Plans
	}
	return r, true
}

// owned resolves a resource that, when it has an owner, must be user's.
func (l *loader) owned(sc *scope, path string, kind connectd.ResourceKind, id, user string) {
	if r, ok := l.resolve(sc, path, kind, id); ok && r.owner != "" && r.owner != user {
		l.ps.add(path, "notOwned", "%s %s belongs to user %s, not to %s", kind, id, r.owner, user)
	}
}

func (l *loader) fail(err error) {
	if l.fault == nil {
		l.fault = err
	}
}

// text checks required text with connectd's rule; "" is absent.
func (l *loader) text(path, s string, max int) {
	if s == "" {
		l.ps.add(path, "required", "is required")
		return
	}
	connectd.CheckText(path, s, max, (*connectd.FieldErrors)(&l.ps))
}

func (l *loader) optText(path string, s *string, max int) {
	if s != nil {
		connectd.CheckText(path, *s, max, (*connectd.FieldErrors)(&l.ps))
	}
}

func (l *loader) metadata(path string, m map[string]string) {
	connectd.CheckMetadata(path, m, (*connectd.FieldErrors)(&l.ps))
}

func (l *loader) address(path string, a *connectd.Address) {
	connectd.CheckAddress(path, a, (*connectd.FieldErrors)(&l.ps))
}
