package api

import (
	"fmt"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/jsonv"
)

// Decoding of platform resource bodies. One reader per kind serves create
// and PATCH: it reads the body's members into the resource, which on create
// is a new one with the defaults and on PATCH the stored one, so that
// present fields replace and absent (or null) ones stay. Fields that cannot
// change are refused on PATCH with code immutable; rules between fields run
// afterwards on the whole resource.

// The content rules and limits are package connectd's (rules.go), shared
// with the seed loader and the portal; the readers here check the shape of
// each member and hand its value to those rules.

// rd reads one object of a body: create or PATCH.
type rd struct {
	o      *jsonv.Obj
	ps     *problems
	create bool
	// whole: the object is read whole (a create, or a nested object that
	// replaces the stored one), so that its required members must be there.
	whole bool
}

func newRd(o *jsonv.Obj, ps *problems, create bool) rd {
	return rd{o: o, ps: ps, create: create, whole: create}
}

// sub reads a nested object, which replaces the stored one whole.
func (r rd) sub(o *jsonv.Obj) rd { return rd{o: o, ps: r.ps, create: r.create, whole: true} }

func (r rd) path(name string) string { return r.o.Path(name) }

// required reports a required member that is missing from an object read
// whole.
func (r rd) required(name string) {
	if r.whole && !r.o.Has(name) {
		r.ps.Add(r.path(name), "required", "is required")
	}
}

// str reads a string member; required ones are reported missing on create.
func (r rd) str(name string, required bool) (string, bool) {
	s, ok := r.o.String(name)
	if !ok && required {
		r.required(name)
	}
	return s, ok
}

// checked reads a string member that check, one of package connectd's
// rules, accepts at the member's path.
func (r rd) checked(name string, required bool, check func(path, s string, fe *connectd.FieldErrors) bool) (string, bool) {
	s, ok := r.str(name, required)
	if !ok || !r.ps.rule(func(fe *connectd.FieldErrors) bool { return check(r.path(name), s, fe) }) {
		return "", false
	}
	return s, true
}

func (r rd) setChecked(name string, required bool, check func(path, s string, fe *connectd.FieldErrors) bool, dst *string) {
	if s, ok := r.checked(name, required, check); ok {
		*dst = s
	}
}

// text reads free text of 1 to max characters without control characters.
func (r rd) text(name string, max int, required bool) (string, bool) {
	return r.checked(name, required, func(path, s string, fe *connectd.FieldErrors) bool { return connectd.CheckText(path, s, max, fe) })
}

func (r rd) setText(name string, max int, required bool, dst *string) {
	if s, ok := r.text(name, max, required); ok {
		*dst = s
	}
}

func (r rd) setOptText(name string, max int, dst **string) {
	if s, ok := r.text(name, max, false); ok {
		*dst = &s
	}
}

// enum reads a string that must be one of values.
func (r rd) enum(name string, required bool, values ...string) (string, bool) {
	return r.checked(name, required, func(path, s string, fe *connectd.FieldErrors) bool { return connectd.CheckEnum(path, s, values, fe) })
}

func (r rd) setEnum(name string, required bool, dst *string, values ...string) {
	if s, ok := r.enum(name, required, values...); ok {
		*dst = s
	}
}

// id reads the ID of another resource.
func (r rd) id(name, prefix, what string, required bool) (string, bool) {
	s, ok := r.str(name, required)
	if !ok {
		return "", false
	}
	if !connectd.ValidID(prefix, s) {
		r.ps.Add(r.path(name), "invalidId", "must be %s ID (%s_…)", what, prefix)
		return "", false
	}
	return s, true
}

func (r rd) setID(name, prefix, what string, required bool, dst *string) {
	if s, ok := r.id(name, prefix, what, required); ok {
		*dst = s
	}
}

func (r rd) setOptID(name, prefix, what string, dst **string) {
	if s, ok := r.id(name, prefix, what, false); ok {
		*dst = &s
	}
}

// ids reads an array of distinct IDs, at least min of them.
func (r rd) ids(name, prefix, what string, min int, required bool) ([]string, bool) {
	v := r.o.Get(name)
	if v == nil {
		if required {
			r.required(name)
		}
		return nil, false
	}
	path := r.path(name)
	if v.Kind != jsonv.Array {
		r.ps.Add(path, "invalidType", "must be an array, not %s", v.Kind)
		return nil, false
	}
	if len(v.Elems) < min {
		r.ps.Add(path, "empty", "must hold at least %d %s ID", min, what)
		return nil, false
	}
	if len(v.Elems) > connectd.MaxIDList {
		r.ps.Add(path, "tooMany", "must hold at most %d IDs", connectd.MaxIDList)
		return nil, false
	}
	ok := true
	ss := make([]string, 0, len(v.Elems))
	seen := make(map[string]bool, len(v.Elems))
	for i, e := range v.Elems {
		ep := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case e.Kind != jsonv.String:
			r.ps.Add(ep, "invalidType", "must be a string, not %s", e.Kind)
		case !connectd.ValidID(prefix, e.Str):
			r.ps.Add(ep, "invalidId", "must be %s ID (%s_…)", what, prefix)
		case seen[e.Str]:
			r.ps.Add(ep, "duplicate", "%s is listed twice", e.Str)
		default:
			seen[e.Str] = true
			ss = append(ss, e.Str)
			continue
		}
		ok = false
	}
	return ss, ok
}

// int reads an integer in [min, max].
func (r rd) int(name string, min, max int64, required bool) (int64, bool) {
	n, ok := r.o.Int(name, min, max)
	if !ok && required {
		r.required(name)
	}
	return n, ok
}

func (r rd) setBool(name string, dst *bool) {
	if b, ok := r.o.Bool(name); ok {
		*dst = b
	}
}

// time reads an RFC 3339 timestamp, kept in UTC.
func (r rd) time(name string, required bool) (time.Time, bool) {
	s, ok := r.str(name, required)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		r.ps.Add(r.path(name), "invalidTime", "must be an RFC 3339 timestamp such as 2026-11-22T08:00:00Z")
		return time.Time{}, false
	}
	return t.UTC(), true
}

// object reads a nested object; required ones are reported missing on
// create.
func (r rd) object(name string, required bool) (rd, bool) {
	o := r.o.Object(name)
	if o == nil {
		if required {
			r.required(name)
		}
		return rd{}, false
	}
	return r.sub(o), true
}

// immutable refuses, on PATCH, members that cannot change.
func (r rd) immutable(names ...string) {
	for _, name := range names {
		if r.o.Get(name) != nil {
			r.ps.Add(r.path(name), "immutable", "cannot be changed after creation")
		}
	}
}

// readOnly refuses members that the server sets.
func (r rd) readOnly(name, why string) {
	if r.o.Get(name) != nil {
		r.ps.Add(r.path(name), "readOnly", "%s", why)
	}
}

// readCommon reads the members every representation has: object (tolerated
// when it names the kind), id and createdAt (set by the server).
func readCommon(r rd, kind connectd.ResourceKind) {
	if v := r.o.Get("object"); v != nil && (v.Kind != jsonv.String || v.Str != string(kind)) {
		if r.create {
			r.ps.Add("object", "invalid", "must be %q when given", kind)
		} else {
			r.ps.Add("object", "immutable", "is always %q", kind)
		}
	}
	if r.create {
		r.readOnly("id", "IDs are generated by connectd: leave id out")
		r.readOnly("createdAt", "is set by connectd: leave createdAt out")
	} else {
		r.immutable("id", "createdAt")
	}
}

func (r rd) price(name string, required bool, dst *connectd.Price) {
	o, ok := r.object(name, required)
	if !ok {
		return
	}
	p := connectd.Price{}
	amountOK, currencyOK := o.amount("amount", &p.Amount), o.currency("currency", &p.Currency)
	o.o.Done()
	if amountOK && currencyOK {
		*dst = p
	}
}

func (r rd) amount(name string, dst *int64) bool {
	n, ok := r.int(name, 0, connectd.MaxPriceAmount, true)
	if ok {
		*dst = n
	}
	return ok
}

func (r rd) currency(name string, dst *string) bool {
	s, ok := r.checked(name, true, connectd.CheckCurrency)
	if ok {
		*dst = s
	}
	return ok
}

func (r rd) allowances(name string, dst *connectd.Allowances) {
	o, ok := r.object(name, false)
	if !ok {
		return
	}
	var a connectd.Allowances
	good := true
	for _, f := range connectd.AllowanceFields(&a) {
		if n, ok := o.int(f.Name, 0, connectd.MaxAllowance, false); ok {
			*f.V = &n
		} else if o.o.Has(f.Name) {
			good = false
		}
	}
	o.o.Done()
	if good {
		*dst = a
	}
}

func (r rd) phone(name string, required bool) (string, bool) {
	return r.checked(name, required, connectd.CheckPhoneNumber)
}

// Plans.

func newPlan() *connectd.Plan {
	return &connectd.Plan{Status: connectd.PlanDraft, Validity: connectd.Validity{Type: connectd.ValidityRecurring}}
}

func readPlan(r rd, v *connectd.Plan) {
	r.setText("name", connectd.MaxNameLength, true, &v.Name)
	r.setOptText("description", connectd.MaxDescriptionLength, &v.Description)
	r.setEnum("status", false, &v.Status, connectd.PlanStatuses...)
	r.price("price", true, &v.Price)
	if o, ok := r.object("validity", false); ok {
		o.setEnum("type", true, &v.Validity.Type, connectd.ValidityTypes...)
		o.o.Done()
	}
	r.allowances("allowances", &v.Allowances)
	if o, ok := r.object("requirements", false); ok {
		var q connectd.Requirements
		o.setBool("fullName", &q.FullName)
		o.setBool("address", &q.Address)
		o.o.Done()
		v.Requirements = q
	}
}

// Add-ons.

func newAddon() *connectd.Addon { return &connectd.Addon{Status: connectd.PlanDraft} }

func readAddon(r rd, v *connectd.Addon) {
	r.setText("name", connectd.MaxNameLength, true, &v.Name)
	r.setEnum("status", false, &v.Status, connectd.PlanStatuses...)
	r.price("price", true, &v.Price)
	r.allowances("allowances", &v.Allowances)
	if ids, ok := r.ids("plans", connectd.PrefixPlan, "a plan", 1, true); ok {
		v.Plans = ids
	}
}

// SIMs.

func newSIM() *connectd.SIM { return &connectd.SIM{Status: connectd.SIMAvailable} }

func readSIM(r rd, v *connectd.SIM) {
	if r.create {
		r.setEnum("type", true, &v.Type, connectd.SIMTypes...)
		r.setChecked("iccid", true, connectd.CheckICCID, &v.ICCID)
	} else {
		r.immutable("type", "iccid")
	}
	r.setEnum("status", false, &v.Status, connectd.SIMStatuses...)
	if s, ok := r.checked("activationCode", false, connectd.CheckActivationCode); ok {
		v.ActivationCode = &s
	}
}

// checkSIM: an eSIM has an activation code, a pSIM none.
func checkSIM(v *connectd.SIM, ps *problems) {
	ps.rule(func(fe *connectd.FieldErrors) bool { v.CheckActivation("", fe); return true })
}

// Devices.

func newDevice() *connectd.Device { return &connectd.Device{} }

func readDevice(r rd, v *connectd.Device) {
	r.setOptID("user", connectd.PrefixUser, "a user", &v.User)
	r.setText("manufacturer", connectd.MaxDeviceTextLength, true, &v.Manufacturer)
	r.setText("model", connectd.MaxDeviceTextLength, true, &v.Model)
	r.setBool("esimCapable", &v.EsimCapable)
	if s, ok := r.checked("imei", false, connectd.CheckIMEI); ok {
		v.IMEI = &s
	}
}

// Subscriptions.

func newSubscription() *connectd.Subscription {
	return &connectd.Subscription{Status: connectd.SubscriptionPending, Addons: []string{}}
}

func readSubscription(r rd, v *connectd.Subscription) {
	if r.create {
		r.setID("user", connectd.PrefixUser, "a user", true, &v.User)
	} else {
		r.immutable("user")
	}
	r.setID("plan", connectd.PrefixPlan, "a plan", true, &v.Plan)
	r.setOptID("sim", connectd.PrefixSIM, "a SIM", &v.SIM)
	r.setOptID("device", connectd.PrefixDevice, "a device", &v.Device)
	if s, ok := r.phone("phoneNumber", false); ok {
		v.PhoneNumber = &s
	}
	r.setEnum("status", false, &v.Status, connectd.SubscriptionStatuses...)
	r.setBool("recurring", &v.Recurring)
	if o, ok := r.object("currentPeriod", false); ok {
		start, okS := o.time("start", true)
		end, okE := o.time("end", true)
		o.o.Done()
		p := connectd.Period{Start: start, End: end}
		if okS && okE && r.ps.rule(func(fe *connectd.FieldErrors) bool { return connectd.CheckPeriod(r.path("currentPeriod"), p, fe) }) {
			v.CurrentPeriod = &p
		}
	}
	if t, ok := r.time("endedAt", false); ok {
		v.EndedAt = &t
	}
	if ids, ok := r.ids("addons", connectd.PrefixAddon, "an add-on", 0, false); ok {
		v.Addons = ids
	}
}

// Payment methods.

func newPaymentMethod() *connectd.PaymentMethod { return &connectd.PaymentMethod{} }

func readPaymentMethod(r rd, v *connectd.PaymentMethod) {
	if r.create {
		r.setID("user", connectd.PrefixUser, "a user", true, &v.User)
		r.setEnum("type", true, &v.Type, connectd.PaymentMethodTypes...)
	} else {
		r.immutable("user", "type")
	}
	if o, ok := r.object("card", true); ok {
		for _, f := range []string{"number", "cvc", "cvv"} {
			if o.o.Get(f) != nil {
				// Never echo the value: it may be a real card number.
				r.ps.Add(o.path(f), "notAccepted", "card numbers and security codes are not accepted here: send only brand, last4, expMonth and expYear; full card details go to the card processor, never to this API")
			}
		}
		c := v.Card
		o.whole = r.create // a PATCH changes some members of the card
		if r.create {
			o.setEnum("brand", true, &c.Brand, connectd.CardBrands...)
			o.setChecked("last4", true, connectd.CheckLast4, &c.Last4)
		} else {
			o.immutable("brand", "last4")
		}
		if n, ok := o.int("expMonth", 1, 12, r.create); ok {
			c.ExpMonth = int(n)
		}
		if n, ok := o.int("expYear", connectd.MinCardExpYear, connectd.MaxCardExpYear, r.create); ok {
			c.ExpYear = int(n)
		}
		o.o.Done()
		v.Card = c
	}
	r.setBool("default", &v.Default)
}

// Payments.

func newPayment() *connectd.Payment {
	return &connectd.Payment{Status: connectd.PaymentRequiresConfirmation}
}

func readPayment(r rd, v *connectd.Payment) {
	if r.create {
		r.setID("user", connectd.PrefixUser, "a user", true, &v.User)
		r.amount("amount", &v.Amount)
		r.currency("currency", &v.Currency)
	} else {
		r.immutable("user", "amount", "currency")
	}
	r.setOptID("subscription", connectd.PrefixSubscription, "a subscription", &v.Subscription)
	r.setOptID("paymentMethod", connectd.PrefixPaymentMethod, "a payment method", &v.PaymentMethod)
	r.setEnum("status", false, &v.Status, connectd.PaymentStatuses...)
	r.setOptText("description", connectd.MaxDescriptionLength, &v.Description)
}

// Portings.

func newPorting() *connectd.Porting { return &connectd.Porting{Status: connectd.PortingDraft} }

func readPorting(r rd, v *connectd.Porting) {
	if r.create {
		r.setID("subscription", connectd.PrefixSubscription, "a subscription", true, &v.Subscription)
	} else {
		r.immutable("subscription")
	}
	r.readOnly("user", "is the subscription's user, set by connectd")
	r.readOnly("accountPinProvided", "is set by connectd when accountPin is given")
	if s, ok := r.phone("phoneNumber", true); ok {
		v.PhoneNumber = s
	}
	oldStatus := v.Status
	r.setEnum("status", false, &v.Status, connectd.PortingStatuses...)
	if v.Status != oldStatus && oldStatus == connectd.PortingDeclined {
		v.DeclinedCode = nil // a porting that moves on from declined keeps no stale code
	}
	if s, ok := r.checked("declinedCode", false, connectd.CheckDeclinedCode); ok {
		v.DeclinedCode = &s
	}
	r.setOptText("donorProvider", connectd.MaxDonorProviderLength, &v.DonorProvider)
	r.setOptText("accountNumber", connectd.MaxAccountFieldLength, &v.AccountNumber)
	r.setOptText("accountPin", connectd.MaxAccountFieldLength, &v.AccountPin)
	if o, ok := r.object("address", false); ok {
		v.Address = readAddress(o.o, r.ps)
	}
}

// checkPorting: a declined porting has a declinedCode, no other one does.
func checkPorting(v *connectd.Porting, ps *problems) {
	ps.rule(func(fe *connectd.FieldErrors) bool { v.CheckDeclined("", fe); return true })
}
