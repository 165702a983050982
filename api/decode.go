package api

import (
	"errors"
	"fmt"
	"strings"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/jsonv"
	"github.com/connectd/connectd/service"
)

// problems collects field problems in the connectd shape.
type problems struct{ jsonv.Problems }

func (p *problems) err() error {
	if len(p.Problems) == 0 {
		return nil
	}
	details := make([]connectd.FieldError, len(p.Problems))
	for i, pr := range p.Problems {
		path := pr.Path
		if pr.Code == "unknownField" {
			path = redactJSONPath(path)
		}
		details[i] = connectd.FieldError{Field: path, Code: pr.Code, Message: pr.Message}
	}
	return connectd.ValidationError(details)
}

// shapeProblems returns the field problems of a decode's refusal, which
// the service answers together with the reference problems it finds
// (issue 11.10); nil for any other error, which is answered as it is.
func shapeProblems(err error) []connectd.FieldError {
	var e *connectd.Error
	if errors.As(err, &e) && e.Type == connectd.TypeUnprocessable && len(e.Details) > 0 {
		return e.Details
	}
	return nil
}

// rule runs one of package connectd's content rules and records what it
// finds; it reports whether the value passed.
func (p *problems) rule(check func(fe *connectd.FieldErrors) bool) bool {
	var fe connectd.FieldErrors
	ok := check(&fe)
	for _, e := range fe {
		p.Add(e.Field, e.Code, "%s", e.Message)
	}
	return ok && len(fe) == 0
}

// parseBody parses a request body strictly; a malformed body is a 400.
func parseBody(body []byte) (*jsonv.Value, error) {
	if len(body) == 0 {
		return nil, connectd.Errorf(connectd.TypeBadRequest, "invalidJson", "The request body is empty; send a JSON object.")
	}
	v, err := jsonv.Parse(body)
	if err != nil {
		return nil, connectd.Errorf(connectd.TypeBadRequest, "invalidJson", "The request body is not valid JSON: %s.", err.(*jsonv.SyntaxError).Msg)
	}
	if v.Kind != jsonv.Object {
		// Not a field problem: there are no fields to name.
		return nil, connectd.Errorf(connectd.TypeBadRequest, "invalidJson", "The request body must be a JSON object, not %s.", v.Kind)
	}
	return v, nil
}

// decodeCreateSession reads a create body, checking every field and
// reporting every problem at once.
func decodeCreateSession(body []byte, p *connectd.Project, today string) (service.CreateSessionInput, error) {
	var in service.CreateSessionInput
	v, err := parseBody(body)
	if err != nil {
		return in, err
	}
	var ps problems
	root := jsonv.Root(v, &ps.Problems)
	in.CallbackURL = readCallbackURL(root, p, &ps)
	if intent := root.Object("intent"); intent != nil {
		in.Intent = readIntent(intent, &ps)
	} else if !root.Has("intent") {
		ps.Add("intent", "required", "is required")
	}
	if a := root.Object("appearance"); a != nil {
		in.Appearance = readAppearance(a, &ps)
	}
	in.UserID, in.UserDetails = readSessionUser(root, &ps, today)
	root.Done()
	return in, ps.err()
}

// decodeUpdateSession reads a PATCH body.
func decodeUpdateSession(body []byte, p *connectd.Project, today string) (service.UpdateSessionInput, error) {
	var in service.UpdateSessionInput
	v, err := parseBody(body)
	if err != nil {
		return in, err
	}
	var ps problems
	root := jsonv.Root(v, &ps.Problems)
	in.CallbackURL = readCallbackURL(root, p, &ps)
	in.UserID, in.UserDetails = readSessionUser(root, &ps, today)
	if root.Get("intent") != nil {
		ps.Add("intent", "immutable", "the intent of a session cannot be changed; create a new session instead")
	}
	root.Done()
	return in, ps.err()
}

// readSessionUser reads a session's user: an existing one (user), a new
// one (userDetails), or both, as the vendor's own examples send them: then
// user names the user and the service checks that userDetails agree with it
// (issue 10.1).
func readSessionUser(root *jsonv.Obj, ps *problems, today string) (*string, *connectd.UserDetails) {
	return readUserRef(root, ps), readUserDetails(root, ps, today)
}

func readCallbackURL(o *jsonv.Obj, p *connectd.Project, ps *problems) *string {
	s, ok := o.String("callbackUrl")
	if !ok {
		return nil
	}
	// The service enforces the rule; asking it here reports a bad
	// callbackUrl together with the body's other problems.
	if fe := service.CheckCallbackURL(p, s); fe != nil {
		ps.Add(fe.Field, fe.Code, "%s", fe.Message)
		return nil
	}
	return &s
}

func readUserRef(o *jsonv.Obj, ps *problems) *string {
	s, ok := o.String("user")
	if !ok {
		return nil
	}
	if !connectd.ValidID(connectd.PrefixUser, s) {
		ps.Add("user", "invalidId", "must be a user ID (usr_…)")
		return nil
	}
	return &s
}

func readIntent(o *jsonv.Obj, ps *problems) connectd.Intent {
	var in connectd.Intent
	t, ok := o.RequiredString("type")
	if !ok {
		o.Done()
		return in
	}
	in.Type = connectd.IntentType(t)
	if !in.Type.Valid() {
		ps.Add(o.Path("type"), "invalidIntent", "must be one of %s", intentList())
		// Without a known type nothing else in the object can be judged;
		// skip unknown-field noise.
		return in
	}
	if in.Type.HasPayload() {
		if payload := o.Object(t); payload != nil {
			readPayload(payload, &in, ps)
		} else if !o.Has(t) {
			ps.Add(o.Path(t), "required", "is required for intent %s", t)
		}
	}
	o.Done()
	return in
}

func intentList() string {
	names := make([]string, len(connectd.IntentTypes))
	for i, t := range connectd.IntentTypes {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

var idNames = map[string]string{
	connectd.PrefixSubscription: "a subscription ID (sub_…)",
	connectd.PrefixPlan:         "a plan ID (pln_…)",
	connectd.PrefixSIM:          "a SIM ID (sim_…)",
	connectd.PrefixDevice:       "a device ID (dev_…)",
	connectd.PrefixPayment:      "a payment ID (pay_…)",
	connectd.PrefixAddon:        "an add-on ID (add_…)",
}

func readPayload(o *jsonv.Obj, in *connectd.Intent, ps *problems) {
	for _, f := range in.Type.Payload() {
		path := o.Path(f.Name)
		if f.Array {
			ids, ok := o.StringArray(f.Name)
			if !ok {
				if f.Required && !o.Has(f.Name) {
					ps.Add(path, "required", "is required: give at least one add-on")
				}
				continue
			}
			if f.Required && len(ids) == 0 {
				ps.Add(path, "empty", "must hold at least one add-on")
			}
			if len(ids) > connectd.MaxAddons {
				ps.Add(path, "tooMany", "must hold at most %d add-ons", connectd.MaxAddons)
			}
			seen := make(map[string]bool, len(ids))
			for i, id := range ids {
				ep := fmt.Sprintf("%s[%d]", path, i)
				switch {
				case !connectd.ValidID(f.Prefix, id):
					ps.Add(ep, "invalidId", "must be %s", idNames[f.Prefix])
				case seen[id]:
					ps.Add(ep, "duplicate", "add-on %s is listed twice", id)
				}
				seen[id] = true
			}
			if len(ids) > 0 {
				in.Addons = ids
			}
			continue
		}
		var s string
		var ok bool
		if f.Required {
			s, ok = o.RequiredString(f.Name)
		} else {
			s, ok = o.String(f.Name)
		}
		if !ok {
			continue
		}
		switch {
		case f.Name == connectd.FieldIMEI:
			if !connectd.ValidIMEI(s) {
				ps.Add(path, "invalidImei", "must be 15 digits ending in a valid Luhn check digit")
				continue
			}
		case f.Name == connectd.FieldSIM && strings.EqualFold(s, "auto"):
			ps.Add(path, "autoNotSupported", `"auto" is not supported for Connect Sessions: pass the ID of an available SIM, or leave sim out and the user picks one at checkout`)
			continue
		case !connectd.ValidID(f.Prefix, s):
			ps.Add(path, "invalidId", "must be %s", idNames[f.Prefix])
			continue
		}
		in.SetField(f.Name, s)
	}
	o.Done()
}

func readAppearance(o *jsonv.Obj, ps *problems) *connectd.Appearance {
	a := &connectd.Appearance{}
	if t, ok := o.String("theme"); ok {
		switch th := connectd.Theme(t); th {
		case connectd.ThemeLight, connectd.ThemeDark:
			a.Theme = &th
		default:
			ps.Add(o.Path("theme"), "invalid", "must be light or dark")
		}
	}
	o.Done()
	return a
}

func readUserDetails(root *jsonv.Obj, ps *problems, today string) *connectd.UserDetails {
	o := root.Object("userDetails")
	if o == nil {
		return nil
	}
	d := &connectd.UserDetails{}
	email, emailOK := o.RequiredString("email")
	if emailOK {
		if !connectd.ValidEmail(email) {
			ps.Add(o.Path("email"), "invalidEmail", "must be an email address such as jerry@example.com")
			emailOK = false
		}
		d.Email = email
	}
	fields := readProfile(o, ps, today)
	d.FullName, d.Birthday, d.PreferredLocale, d.Metadata = fields.FullName, fields.Birthday, fields.PreferredLocale, fields.Metadata
	o.Done()
	if !emailOK {
		return nil
	}
	return d
}

// profile holds the optional user fields shared by userDetails and users.
type profile struct {
	FullName        *string
	Birthday        *string
	PreferredLocale *string
	Metadata        map[string]string
}

// today (YYYY-MM-DD, UTC, from the service's clock) bounds birthdays.
func readProfile(o *jsonv.Obj, ps *problems, today string) profile {
	var p profile
	if s, ok := o.String("fullName"); ok {
		if msg := checkText(s, connectd.MaxFullNameLength); msg != "" {
			ps.Add(o.Path("fullName"), "invalid", "%s", msg)
		} else {
			p.FullName = &s
		}
	}
	if s, ok := o.String("birthday"); ok {
		if !connectd.ValidDate(s) {
			ps.Add(o.Path("birthday"), "invalidDate", "must be a date in the form YYYY-MM-DD")
		} else if s > today {
			ps.Add(o.Path("birthday"), "inFuture", "must not be in the future")
		} else {
			p.Birthday = &s
		}
	}
	if s, ok := o.String("preferredLocale"); ok {
		if !connectd.ValidLocale(s) {
			ps.Add(o.Path("preferredLocale"), "invalidLocale", "must be an IETF language tag such as en-US")
		} else {
			p.PreferredLocale = &s
		}
	}
	if m, ok := o.StringMap("metadata"); ok {
		p.Metadata = checkMetadata(o.Path("metadata"), m, ps)
	}
	return p
}

func checkMetadata(path string, m map[string]string, ps *problems) map[string]string {
	if !ps.rule(func(fe *connectd.FieldErrors) bool { return connectd.CheckMetadata(path, m, fe) }) {
		return nil
	}
	return m
}

// checkText returns what is wrong with free text, or "" (connectd's text
// rule).
func checkText(s string, max int) string { return connectd.TextProblem(s, max) }

// decodeUser reads a user create (create=true: email required) or update.
func decodeUser(body []byte, create bool, today string) (service.UserInput, error) {
	var in service.UserInput
	v, err := parseBody(body)
	if err != nil {
		return in, err
	}
	var ps problems
	root := jsonv.Root(v, &ps.Problems)
	var email string
	var ok bool
	if create {
		email, ok = root.RequiredString("email")
	} else {
		email, ok = root.String("email")
	}
	if ok {
		if connectd.ValidEmail(email) {
			in.Email = &email
		} else {
			ps.Add("email", "invalidEmail", "must be an email address such as jerry@example.com")
		}
	}
	p := readProfile(root, &ps, today)
	in.FullName, in.Birthday, in.PreferredLocale, in.Metadata = p.FullName, p.Birthday, p.PreferredLocale, p.Metadata
	if a := root.Object("address"); a != nil {
		in.Address = readAddress(a, &ps)
	}
	root.Done()
	return in, ps.err()
}

// readAddress reads an address, each field with connectd's address rules.
func readAddress(o *jsonv.Obj, ps *problems) *connectd.Address {
	a := &connectd.Address{}
	for _, f := range connectd.AddressFields {
		var s string
		var ok bool
		if f.Required {
			s, ok = o.RequiredString(f.Name)
		} else {
			s, ok = o.String(f.Name)
		}
		if ok && ps.rule(func(fe *connectd.FieldErrors) bool { return connectd.CheckText(o.Path(f.Name), s, f.Max, fe) }) {
			f.Set(a, &s)
		}
	}
	if c, ok := o.RequiredString("country"); ok && ps.rule(func(fe *connectd.FieldErrors) bool { return connectd.CheckCountry(o.Path("country"), c, fe) }) {
		a.Country = c
	}
	o.Done()
	return a
}

func jsonRoot(v *jsonv.Value, ps *problems) *jsonv.Obj { return jsonv.Root(v, &ps.Problems) }

// redactJSONPath applies redactName to each key of an unknown field's path:
// the keys of a body are the client's, and may hold anything.
func redactJSONPath(path string) string {
	keys := strings.Split(path, ".")
	for i, k := range keys {
		name, index, _ := strings.Cut(k, "[")
		keys[i] = redactName(name)
		if index != "" {
			keys[i] += "[" + index
		}
	}
	return strings.Join(keys, ".")
}
