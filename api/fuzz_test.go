package api

import (
	"errors"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/jsonv"
)

// The request decoders under fuzzing: they never panic, refuse only with
// a 400 (the body is not a JSON object) or a 422 (field problems, each
// named), and whatever they accept passes every validator.

// checkDecodeError requires err to be a 400 invalidJson exactly when the
// body does not parse as one JSON object, else a 422 with named details.
func checkDecodeError(t *testing.T, body []byte, err error) {
	t.Helper()
	var e *connectd.Error
	if !errors.As(err, &e) {
		t.Fatalf("%q: error %v is a %T, not a *connectd.Error", body, err, err)
	}
	v, perr := jsonv.Parse(body)
	parses := perr == nil && v.Kind == jsonv.Object
	switch status := statusOf(e.Type); status {
	case 400:
		if parses || e.Code != "invalidJson" || len(e.Details) != 0 {
			t.Fatalf("%q: 400 %s %v for a body that parses=%v", body, e.Code, e.Details, parses)
		}
	case 422:
		if !parses {
			t.Fatalf("%q: 422 for a body that is not a JSON object", body)
		}
		if e.Code != "validationFailed" || len(e.Details) == 0 {
			t.Fatalf("%q: 422 %s without details", body, e.Code)
		}
		for _, d := range e.Details {
			if d.Code == "" || d.Message == "" || d.Field == "" && d.Code != "unknownField" {
				t.Fatalf("%q: incomplete detail %+v", body, d)
			}
			if !utf8.ValidString(d.Field) || !utf8.ValidString(d.Message) {
				t.Fatalf("%q: detail is not UTF-8: %+v", body, d)
			}
		}
	default:
		t.Fatalf("%q: status %d (%s), want 400 or 422", body, status, e.Type)
	}
	if e.Message == "" {
		t.Fatalf("%q: error without a message", body)
	}
}

func fuzzProject() *connectd.Project {
	s := connectd.DefaultProjectSettings()
	return &connectd.Project{ID: "proj", Settings: s}
}

// checkProfile requires the optional user fields to pass their validators.
func checkProfile(t *testing.T, body []byte, fullName, birthday, locale *string, md map[string]string) {
	t.Helper()
	if fullName != nil && checkText(*fullName, connectd.MaxFullNameLength) != "" {
		t.Fatalf("%q: accepted fullName %q", body, *fullName)
	}
	if birthday != nil && !connectd.ValidDate(*birthday) {
		t.Fatalf("%q: accepted birthday %q", body, *birthday)
	}
	if locale != nil && !connectd.ValidLocale(*locale) {
		t.Fatalf("%q: accepted preferredLocale %q", body, *locale)
	}
	if len(md) > connectd.MaxMetadataKeys {
		t.Fatalf("%q: accepted %d metadata keys", body, len(md))
	}
	for k, v := range md {
		if k == "" || len(k) > connectd.MaxMetadataKeyLength || checkText(k, connectd.MaxMetadataKeyLength) != "" {
			t.Fatalf("%q: accepted metadata key %q", body, k)
		}
		if v != "" && checkText(v, connectd.MaxMetadataValueLength) != "" {
			t.Fatalf("%q: accepted metadata value %q", body, v)
		}
	}
}

// FuzzDecodeCreateSession: the create decoder never panics, refuses with
// 400 or 422 only, and any body it accepts yields an input that passes the
// validators: a known intent with exactly its payload, valid IDs, an
// acceptable callbackUrl, a valid user or userDetails (not both).
func FuzzDecodeCreateSession(f *testing.F) {
	for _, s := range []string{
		`{"intent":{"type":"viewSubscriptions"}}`,
		`{"callbackUrl":"https://example.com/cb?x=1","intent":{"type":"cancelSubscription","cancelSubscription":{"subscription":"sub_0U32VAxJ0Z7P8Y40mBAnOP9LPhEr"}},"user":"usr_0SNlurA049MEWV1GWxpaE5D0t2D6"}`,
		`{"intent":{"type":"checkoutNewSubscription","checkoutNewSubscription":{"plan":"pln_0U32ZjA60Z7P8Y5vLtmvXaIMUnlm","sim":"auto","imei":"490154203237518","addons":["add_0U32ZjA60Z7P8Y5vLtmvXaIMUnlm"]}},"appearance":{"theme":"dark"}}`,
		`{"intent":{"type":"checkoutAddon","checkoutAddon":{"subscription":"sub_0U32VAxJ0Z7P8Y40mBAnOP9LPhEr","addons":[]}},"userDetails":{"email":"a@example.com","birthday":"1990-01-01","preferredLocale":"en-US","metadata":{"k":"v"}}}`,
		`{"intent":{"type":"viewSubscriptions"},"callbackUrl":"javascript:alert(1)","user":"usr_x","userDetails":{"email":"jerry@exаmple.com"}}`,
		`{"intent":{"type":"viewSubscriptions"},"intent":null}`,
		`{"intent":{"type":"confirmPayment","confirmPayment":{"payment":"pay_0U32VAxJ0Z7P8Y40mBAnOP9LPhErX"}},"":1}`,
		"{\"intent\":{\"type\":\"viewSubscriptions\"},\"userDetails\":{\"email\":\"a@example.com\",\"fullName\":\"a\\u0000b\"}}",
		`[{"intent":{"type":"viewSubscriptions"}}]`,
		"\xff",
		``,
	} {
		f.Add([]byte(s))
	}
	project := fuzzProject()
	today := time.Now().UTC().Format(time.DateOnly)
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := decodeCreateSession(body, project, today)
		if err != nil {
			checkDecodeError(t, body, err)
			return
		}
		if !utf8.Valid(body) {
			t.Fatalf("accepted invalid UTF-8 %q", body)
		}
		if v, perr := jsonv.Parse(body); perr != nil || v.Kind != jsonv.Object {
			t.Fatalf("accepted %q, which is not a JSON object", body)
		}
		checkIntent(t, body, in.Intent)
		if in.CallbackURL != nil {
			if fe := connectd.CheckCallbackURL("callbackUrl", *in.CallbackURL, project.Settings.CallbackAllowList); fe != nil {
				t.Fatalf("%q: accepted callbackUrl %q: %v", body, *in.CallbackURL, fe)
			}
		}
		if in.UserID != nil && !connectd.ValidID(connectd.PrefixUser, *in.UserID) {
			t.Fatalf("%q: accepted user %q", body, *in.UserID)
		}
		// user and userDetails together decode (issue 10.1): the service
		// checks that the details agree with the user.
		if d := in.UserDetails; d != nil {
			if !connectd.ValidEmail(d.Email) {
				t.Fatalf("%q: accepted email %q", body, d.Email)
			}
			checkProfile(t, body, d.FullName, d.Birthday, d.PreferredLocale, d.Metadata)
		}
		if a := in.Appearance; a != nil && a.Theme != nil && *a.Theme != connectd.ThemeLight && *a.Theme != connectd.ThemeDark {
			t.Fatalf("%q: accepted theme %q", body, *a.Theme)
		}
	})
}

// checkIntent requires a known intent type with exactly its payload.
func checkIntent(t *testing.T, body []byte, in connectd.Intent) {
	t.Helper()
	if !in.Type.Valid() {
		t.Fatalf("%q: accepted intent type %q", body, in.Type)
	}
	used := map[string]bool{}
	for _, f := range in.Type.Payload() {
		used[f.Name] = true
		if f.Array {
			if f.Required && len(in.Addons) == 0 || len(in.Addons) > connectd.MaxAddons {
				t.Fatalf("%q: accepted %d add-ons", body, len(in.Addons))
			}
			seen := map[string]bool{}
			for _, id := range in.Addons {
				if !connectd.ValidID(f.Prefix, id) || seen[id] {
					t.Fatalf("%q: accepted add-on %q", body, id)
				}
				seen[id] = true
			}
			continue
		}
		v := in.Field(f.Name)
		switch {
		case v == "" && f.Required:
			t.Fatalf("%q: accepted intent without %s", body, f.Name)
		case v == "":
		case f.Name == connectd.FieldIMEI:
			if !connectd.ValidIMEI(v) {
				t.Fatalf("%q: accepted imei %q", body, v)
			}
		case !connectd.ValidID(f.Prefix, v):
			t.Fatalf("%q: accepted %s %q", body, f.Name, v)
		}
	}
	for _, name := range []string{connectd.FieldSubscription, connectd.FieldPlan, connectd.FieldSIM, connectd.FieldDevice, connectd.FieldIMEI, connectd.FieldPayment} {
		if !used[name] && in.Field(name) != "" {
			t.Fatalf("%q: intent %s carries %s", body, in.Type, name)
		}
	}
	if !used[connectd.FieldAddons] && len(in.Addons) > 0 {
		t.Fatalf("%q: intent %s carries add-ons", body, in.Type)
	}
}

// FuzzDecodeUser: the users decoder (create and update) never panics,
// refuses with 400 or 422 only, and what it accepts passes the validators.
func FuzzDecodeUser(f *testing.F) {
	for _, s := range []string{
		`{"email":"a@example.com"}`,
		`{"email":"a@example.com","fullName":"Jerry","birthday":"1990-01-01","preferredLocale":"en-US","metadata":{"k":"v"},` +
			`"address":{"line1":"1 Main St","city":"Springfield","postalCode":"12345","country":"US"}}`,
		`{"email":"jerry＠example.com","metadata":{"":"x"},"address":{"country":"usa"}}`,
		`{"email":null,"fullName":"\u2028"}`,
		`{"a":1,"a":2}`,
		``,
	} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	today := time.Now().UTC().Format(time.DateOnly)
	f.Fuzz(func(t *testing.T, body []byte, create bool) {
		in, err := decodeUser(body, create, today)
		if err != nil {
			checkDecodeError(t, body, err)
			return
		}
		if create && in.Email == nil {
			t.Fatalf("%q: created a user without an email", body)
		}
		if in.Email != nil && !connectd.ValidEmail(*in.Email) {
			t.Fatalf("%q: accepted email %q", body, *in.Email)
		}
		checkProfile(t, body, in.FullName, in.Birthday, in.PreferredLocale, in.Metadata)
		if a := in.Address; a != nil {
			for _, s := range []string{a.Line1, a.City, a.PostalCode} {
				if checkText(s, 200) != "" {
					t.Fatalf("%q: accepted address %+v", body, a)
				}
			}
			if len(a.Country) != 2 || a.Country[0] < 'A' || a.Country[0] > 'Z' || a.Country[1] < 'A' || a.Country[1] > 'Z' {
				t.Fatalf("%q: accepted country %q", body, a.Country)
			}
		}
	})
}
