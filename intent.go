package connectd

import (
	"encoding/json"
	"fmt"
)

// IntentType names what a Connect Session lets the user do.
type IntentType string

// The 13 documented intents.
const (
	IntentCancelSubscription      IntentType = "cancelSubscription"
	IntentChangeSubscription      IntentType = "changeSubscription"
	IntentCheckoutAddon           IntentType = "checkoutAddon"
	IntentCheckoutNewSubscription IntentType = "checkoutNewSubscription"
	IntentCompletePorting         IntentType = "completePorting"
	IntentConfirmPayment          IntentType = "confirmPayment"
	IntentResumeSubscription      IntentType = "resumeSubscription"
	IntentUpdatePaymentMethod     IntentType = "updatePaymentMethod"
	IntentUpdateUserAddress       IntentType = "updateUserAddress"
	IntentUpdateUserFullName      IntentType = "updateUserFullName"
	IntentViewEsimInstallation    IntentType = "viewEsimInstallation"
	IntentViewSubscription        IntentType = "viewSubscription"
	IntentViewSubscriptions       IntentType = "viewSubscriptions"
)

// IntentTypes lists every intent in documented order.
var IntentTypes = []IntentType{
	IntentCancelSubscription, IntentChangeSubscription, IntentCheckoutAddon,
	IntentCheckoutNewSubscription, IntentCompletePorting, IntentConfirmPayment,
	IntentResumeSubscription, IntentUpdatePaymentMethod, IntentUpdateUserAddress,
	IntentUpdateUserFullName, IntentViewEsimInstallation, IntentViewSubscription,
	IntentViewSubscriptions,
}

// Payload field names.
const (
	FieldSubscription = "subscription"
	FieldAddons       = "addons"
	FieldPlan         = "plan"
	FieldSIM          = "sim"
	FieldDevice       = "device"
	FieldIMEI         = "imei"
	FieldPayment      = "payment"
)

// PayloadField describes one field of an intent payload.
type PayloadField struct {
	Name     string
	Prefix   string // ID prefix; "" for imei
	Array    bool   // an array of IDs (addons)
	Required bool
}

var subscriptionPayload = []PayloadField{{Name: FieldSubscription, Prefix: PrefixSubscription, Required: true}}

// intentPayloads gives each intent's payload shape; nil means the intent takes
// no payload object.
var intentPayloads = map[IntentType][]PayloadField{
	IntentCancelSubscription: subscriptionPayload,
	IntentChangeSubscription: subscriptionPayload,
	IntentCheckoutAddon: {
		{Name: FieldSubscription, Prefix: PrefixSubscription, Required: true},
		{Name: FieldAddons, Prefix: PrefixAddon, Array: true, Required: true},
	},
	IntentCheckoutNewSubscription: {
		{Name: FieldPlan, Prefix: PrefixPlan, Required: true},
		{Name: FieldSIM, Prefix: PrefixSIM},
		{Name: FieldDevice, Prefix: PrefixDevice},
		{Name: FieldIMEI},
		{Name: FieldAddons, Prefix: PrefixAddon, Array: true},
	},
	IntentCompletePorting:      subscriptionPayload,
	IntentConfirmPayment:       {{Name: FieldPayment, Prefix: PrefixPayment, Required: true}},
	IntentResumeSubscription:   subscriptionPayload,
	IntentUpdatePaymentMethod:  nil,
	IntentUpdateUserAddress:    nil,
	IntentUpdateUserFullName:   nil,
	IntentViewEsimInstallation: subscriptionPayload,
	IntentViewSubscription:     subscriptionPayload,
	IntentViewSubscriptions:    nil,
}

// Valid reports whether t is one of the 13 intents.
func (t IntentType) Valid() bool {
	_, ok := intentPayloads[t]
	return ok
}

// Payload returns the payload fields of t, or nil when t takes no payload.
func (t IntentType) Payload() []PayloadField { return intentPayloads[t] }

// HasPayload reports whether t carries a payload object named after it.
func (t IntentType) HasPayload() bool { return len(intentPayloads[t]) > 0 }

// MaxAddons bounds the addons arrays of intents.
const MaxAddons = 20

// Intent is what a session lets the user do. The payload fields that t does
// not use are empty.
type Intent struct {
	Type         IntentType
	Subscription string
	Plan         string
	SIM          string
	Device       string
	IMEI         string
	Payment      string
	Addons       []string
}

// Get returns the payload field name as a string (for ID fields) or the
// add-ons (for "addons").
func (in *Intent) field(name string) *string {
	switch name {
	case FieldSubscription:
		return &in.Subscription
	case FieldPlan:
		return &in.Plan
	case FieldSIM:
		return &in.SIM
	case FieldDevice:
		return &in.Device
	case FieldIMEI:
		return &in.IMEI
	case FieldPayment:
		return &in.Payment
	}
	panic(fmt.Sprintf("connectd: unknown intent field %q", name))
}

// SetField sets a string payload field by its wire name.
func (in *Intent) SetField(name, value string) { *in.field(name) = value }

// Field returns a string payload field by its wire name.
func (in *Intent) Field(name string) string { return *in.field(name) }

// MarshalJSON writes the documented shape: {"type":T,"T":{payload}}, where
// the payload object appears only for intents that take one and holds only
// the fields that are set.
func (in Intent) MarshalJSON() ([]byte, error) {
	fields := in.Type.Payload()
	if len(fields) == 0 {
		return json.Marshal(struct {
			Type IntentType `json:"type"`
		}{in.Type})
	}
	payload := make(map[string]any, len(fields))
	for _, f := range fields {
		if f.Array {
			if len(in.Addons) > 0 {
				payload[f.Name] = in.Addons
			}
			continue
		}
		if v := in.Field(f.Name); v != "" {
			payload[f.Name] = v
		}
	}
	return json.Marshal(map[string]any{"type": in.Type, string(in.Type): payload})
}

// UnmarshalJSON reads what MarshalJSON writes. It trusts its input: it is for
// reading back stored intents, not for requests (package api checks those).
func (in *Intent) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*in = Intent{}
	if err := json.Unmarshal(raw["type"], &in.Type); err != nil {
		return fmt.Errorf("intent type: %w", err)
	}
	p, ok := raw[string(in.Type)]
	if !ok {
		return nil
	}
	var payload struct {
		Subscription string   `json:"subscription"`
		Plan         string   `json:"plan"`
		SIM          string   `json:"sim"`
		Device       string   `json:"device"`
		IMEI         string   `json:"imei"`
		Payment      string   `json:"payment"`
		Addons       []string `json:"addons"`
	}
	if err := json.Unmarshal(p, &payload); err != nil {
		return fmt.Errorf("intent payload: %w", err)
	}
	in.Subscription, in.Plan, in.SIM, in.Device = payload.Subscription, payload.Plan, payload.SIM, payload.Device
	in.IMEI, in.Payment, in.Addons = payload.IMEI, payload.Payment, payload.Addons
	return nil
}

// ValidIMEI reports whether s is 15 decimal digits whose last digit is the
// Luhn check digit of the first 14.
func ValidIMEI(s string) bool {
	if len(s) != 15 {
		return false
	}
	sum := 0
	for i := 0; i < 15; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		if i%2 == 1 { // every second digit from the left, counting the check digit as the 15th
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}
