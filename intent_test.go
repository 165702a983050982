package connectd

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestIntentTypes(t *testing.T) {
	if len(IntentTypes) != 13 {
		t.Fatalf("%d intents, want 13", len(IntentTypes))
	}
	withPayload := map[IntentType]bool{
		IntentCancelSubscription: true, IntentChangeSubscription: true, IntentCheckoutAddon: true,
		IntentCheckoutNewSubscription: true, IntentCompletePorting: true, IntentConfirmPayment: true,
		IntentResumeSubscription: true, IntentViewEsimInstallation: true, IntentViewSubscription: true,
	}
	seen := map[IntentType]bool{}
	for _, it := range IntentTypes {
		if seen[it] {
			t.Errorf("%s listed twice", it)
		}
		seen[it] = true
		if !it.Valid() {
			t.Errorf("%s.Valid() = false", it)
		}
		if it.HasPayload() != withPayload[it] {
			t.Errorf("%s.HasPayload() = %v", it, it.HasPayload())
		}
	}
	for _, bad := range []IntentType{"", "CancelSubscription", "cancelsubscription", "cancelSubscription ", "unknown", "type"} {
		if bad.Valid() {
			t.Errorf("%q.Valid() = true", bad)
		}
	}
}

func TestIntentPayloadShapes(t *testing.T) {
	type f struct {
		name     string
		prefix   string
		array    bool
		required bool
	}
	sub := []f{{"subscription", "sub", false, true}}
	want := map[IntentType][]f{
		IntentCancelSubscription:      sub,
		IntentChangeSubscription:      sub,
		IntentCheckoutAddon:           {{"subscription", "sub", false, true}, {"addons", "add", true, true}},
		IntentCheckoutNewSubscription: {{"plan", "pln", false, true}, {"sim", "sim", false, false}, {"device", "dev", false, false}, {"imei", "", false, false}, {"addons", "add", true, false}},
		IntentCompletePorting:         sub,
		IntentConfirmPayment:          {{"payment", "pay", false, true}},
		IntentResumeSubscription:      sub,
		IntentUpdatePaymentMethod:     nil,
		IntentUpdateUserAddress:       nil,
		IntentUpdateUserFullName:      nil,
		IntentViewEsimInstallation:    sub,
		IntentViewSubscription:        sub,
		IntentViewSubscriptions:       nil,
	}
	for _, it := range IntentTypes {
		var got []f
		for _, p := range it.Payload() {
			got = append(got, f{p.Name, p.Prefix, p.Array, p.Required})
		}
		if !reflect.DeepEqual(got, want[it]) {
			t.Errorf("%s payload = %+v, want %+v", it, got, want[it])
		}
	}
}

// fullIntent returns an intent of type t with every payload field of t set.
func fullIntent(t IntentType) Intent {
	in := Intent{Type: t}
	for _, f := range t.Payload() {
		switch {
		case f.Array:
			in.Addons = []string{"add_0U32VAxJ0Z7P8Y40mBAnOP9LPhE1", "add_0U32VAxJ0Z7P8Y40mBAnOP9LPhE2"}
		case f.Name == FieldIMEI:
			in.IMEI = "490154203237518"
		default:
			in.SetField(f.Name, f.Prefix+"_0U32VAxJ0Z7P8Y40mBAnOP9LPhEr")
		}
	}
	return in
}

func TestIntentJSONRoundTrip(t *testing.T) {
	for _, it := range IntentTypes {
		t.Run(string(it), func(t *testing.T) {
			in := fullIntent(it)
			b, err := json.Marshal(in)
			if err != nil {
				t.Fatal(err)
			}
			// The documented shape: "type" and, for intents with a payload,
			// exactly one object named after the type. Nothing else.
			var top map[string]json.RawMessage
			if err := json.Unmarshal(b, &top); err != nil {
				t.Fatalf("%s: %v", b, err)
			}
			if string(top["type"]) != `"`+string(it)+`"` {
				t.Errorf("%s: type = %s", b, top["type"])
			}
			if it.HasPayload() {
				if len(top) != 2 || top[string(it)] == nil {
					t.Errorf("%s: want exactly type and %s", b, it)
				}
				var payload map[string]any
				if err := json.Unmarshal(top[string(it)], &payload); err != nil {
					t.Fatalf("payload %s: %v", top[string(it)], err)
				}
				if len(payload) != len(it.Payload()) {
					t.Errorf("%s: payload has %d fields, want %d", b, len(payload), len(it.Payload()))
				}
				for _, f := range it.Payload() {
					if payload[f.Name] == nil {
						t.Errorf("%s: payload lacks %s", b, f.Name)
					}
				}
			} else if string(b) != `{"type":"`+string(it)+`"}` {
				t.Errorf("payload-less intent = %s", b)
			}

			var back Intent
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("unmarshal %s: %v", b, err)
			}
			if !reflect.DeepEqual(back, in) {
				t.Errorf("round trip:\n got %+v\nwant %+v", back, in)
			}
		})
	}
}

func TestIntentMarshalOnlyItsOwnFields(t *testing.T) {
	// Fields that the type does not use never reach the wire, and optional
	// fields left empty are omitted.
	all := Intent{
		Subscription: "sub_1", Plan: "pln_1", SIM: "sim_1", Device: "dev_1",
		IMEI: "490154203237518", Payment: "pay_1", Addons: []string{"add_1"},
	}
	tests := []struct {
		in   Intent
		want string
	}{
		{withType(all, IntentCancelSubscription), `{"cancelSubscription":{"subscription":"sub_1"},"type":"cancelSubscription"}`},
		{withType(all, IntentConfirmPayment), `{"confirmPayment":{"payment":"pay_1"},"type":"confirmPayment"}`},
		{withType(all, IntentCheckoutAddon), `{"checkoutAddon":{"addons":["add_1"],"subscription":"sub_1"},"type":"checkoutAddon"}`},
		{withType(all, IntentViewSubscriptions), `{"type":"viewSubscriptions"}`},
		{withType(all, IntentUpdateUserFullName), `{"type":"updateUserFullName"}`},
		{Intent{Type: IntentCheckoutNewSubscription, Plan: "pln_1"}, `{"checkoutNewSubscription":{"plan":"pln_1"},"type":"checkoutNewSubscription"}`},
		{Intent{Type: IntentCheckoutNewSubscription, Plan: "pln_1", IMEI: "490154203237518"}, `{"checkoutNewSubscription":{"imei":"490154203237518","plan":"pln_1"},"type":"checkoutNewSubscription"}`},
		{withType(all, IntentCheckoutNewSubscription), `{"checkoutNewSubscription":{"addons":["add_1"],"device":"dev_1","imei":"490154203237518","plan":"pln_1","sim":"sim_1"},"type":"checkoutNewSubscription"}`},
	}
	for _, tc := range tests {
		b, err := json.Marshal(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.in.Type, b, tc.want)
		}
	}
}

func withType(in Intent, t IntentType) Intent { in.Type = t; return in }

func TestIntentUnmarshalDocumented(t *testing.T) {
	tests := []struct {
		in   string
		want Intent
	}{
		{`{"type":"cancelSubscription","cancelSubscription":{"subscription":"sub_0U32VAxJ0Z7P8Y40mBAnOP9LPhEr"}}`,
			Intent{Type: IntentCancelSubscription, Subscription: "sub_0U32VAxJ0Z7P8Y40mBAnOP9LPhEr"}},
		{`{"type":"checkoutNewSubscription","checkoutNewSubscription":{"plan":"pln_1","sim":"sim_2","device":"dev_3","imei":"492388841798923","addons":["add_4","add_5"]}}`,
			Intent{Type: IntentCheckoutNewSubscription, Plan: "pln_1", SIM: "sim_2", Device: "dev_3", IMEI: "492388841798923", Addons: []string{"add_4", "add_5"}}},
		{`{"type":"updatePaymentMethod"}`, Intent{Type: IntentUpdatePaymentMethod}},
		{`{"type":"confirmPayment","confirmPayment":{"payment":"pay_0U32VAxJ0Z7P8Y40mBAnOP9LPhErx"}}`,
			Intent{Type: IntentConfirmPayment, Payment: "pay_0U32VAxJ0Z7P8Y40mBAnOP9LPhErx"}},
	}
	for _, tc := range tests {
		// Unmarshal resets what was there before.
		got := Intent{Type: IntentViewSubscription, Subscription: "sub_old", Addons: []string{"x"}}
		if err := json.Unmarshal([]byte(tc.in), &got); err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{`[]`, `"x"`, `{}`, `{"type":1}`, `{"type":"viewSubscription","viewSubscription":[]}`} {
		var in Intent
		if err := json.Unmarshal([]byte(bad), &in); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestIntentFieldAccessors(t *testing.T) {
	var in Intent
	for _, name := range []string{FieldSubscription, FieldPlan, FieldSIM, FieldDevice, FieldIMEI, FieldPayment} {
		in.SetField(name, name+"-value")
		if got := in.Field(name); got != name+"-value" {
			t.Errorf("Field(%s) = %q", name, got)
		}
	}
	want := Intent{Subscription: "subscription-value", Plan: "plan-value", SIM: "sim-value", Device: "device-value", IMEI: "imei-value", Payment: "payment-value"}
	if !reflect.DeepEqual(in, want) {
		t.Errorf("got %+v", in)
	}
	for _, name := range []string{FieldAddons, "", "type", "Subscription"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Field(%q) did not panic", name)
				}
			}()
			in.Field(name)
		}()
	}
}

var validIMEIs = []string{"492388841798923", "490154203237518", "356938035643809", "353918057437564", "000000000000000"}

func TestValidIMEI(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"492388841798923", true},
		{"490154203237518", true},
		{"356938035643809", true},
		{"000000000000000", true},
		{"492388841798920", false}, // wrong check digit
		{"490154203237519", false},
		{"49015420323751", false},   // 14 digits
		{"4901542032375180", false}, // 16 digits
		{"49015420323751a", false},
		{"A90154203237518", false},
		{"4901542032375 8", false},
		{"490154-03237518", false},
		{"+90154203237518", false},
		{"４90154203237518", false}, // a full-width digit
		{"", false},
		{"490154203237518\n", false},
		{" 490154203237518", false},
		{"49-015420-323751-8", false}, // the dashed display form is not accepted
	}
	for _, tc := range tests {
		if got := ValidIMEI(tc.in); got != tc.want {
			t.Errorf("ValidIMEI(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestValidIMEISingleDigitChange(t *testing.T) {
	// Luhn catches every single-digit error: each change of one digit of a
	// valid IMEI must be refused.
	for _, imei := range validIMEIs {
		if !ValidIMEI(imei) {
			t.Fatalf("%s should be valid", imei)
		}
		for i := 0; i < len(imei); i++ {
			for d := byte('0'); d <= '9'; d++ {
				if d == imei[i] {
					continue
				}
				changed := imei[:i] + string(d) + imei[i+1:]
				if ValidIMEI(changed) {
					t.Errorf("ValidIMEI(%s) = true (digit %d of %s changed)", changed, i, imei)
				}
			}
		}
	}
}

// luhnOK is an independent Luhn check, computed from the right.
func luhnOK(s string) bool {
	sum := 0
	for i := 0; i < len(s); i++ {
		d := int(s[len(s)-1-i] - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// FuzzValidIMEI: ValidIMEI never panics, and what it accepts is 15 ASCII
// digits passing the Luhn check, of which no single-digit change passes.
func FuzzValidIMEI(f *testing.F) {
	for _, s := range validIMEIs {
		f.Add(s)
	}
	f.Add("49015420323751")
	f.Add("4901542032375180")
	f.Add("49015420323751a")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		if !ValidIMEI(s) {
			return
		}
		if len(s) != 15 || strings.Trim(s, "0123456789") != "" || !luhnOK(s) {
			t.Fatalf("ValidIMEI(%q) accepted a malformed IMEI", s)
		}
		for i := 0; i < len(s); i++ {
			for d := byte('0'); d <= '9'; d++ {
				if d != s[i] && ValidIMEI(s[:i]+string(d)+s[i+1:]) {
					t.Fatalf("ValidIMEI accepts both %q and a one-digit change of it at %d", s, i)
				}
			}
		}
	})
}
