package connectd

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
)

// Content rules of the platform resources, users' addresses and free text:
// one set of rules and limits for the API (package api, on create and
// PATCH), the seed loader (package seed) and the portal's forms. Each
// Check adds its problems to fe under path, the JSON path of the object
// ("" for a request body's root). The shape of the input (JSON types,
// unknown fields, null) is checked where it is read; rules between objects
// (references, ownership, an add-on's plans, duplicates in a file) stay
// with the layer that can see the other objects.

// Content limits.
const (
	MaxNameLength           = 200 // plan, add-on and project names
	MaxDescriptionLength    = 500 // plan and payment descriptions
	MaxDeviceTextLength     = 100 // device manufacturer and model
	MaxPriceAmount          = 1_000_000_000_000
	MaxAllowance            = 1<<53 - 1 // exact in every JSON client
	MaxIDList               = 100       // IDs in an add-on's plans or a subscription's add-ons
	MaxDonorProviderLength  = 100
	MaxAccountFieldLength   = 100 // a porting's accountNumber and accountPin
	MaxDeclinedCodeLength   = 100
	MaxActivationCodeLength = 255
	MinICCIDLength          = 18
	MaxICCIDLength          = 22
	MinCardExpYear          = 2000
	MaxCardExpYear          = 2100
	MaxAddressLineLength    = 200
	MaxAddressCityLength    = 100
	MaxPostalCodeLength     = 20
	MaxAddressStateLength   = 100
)

// check adds the problem code/msg at path unless ok, and returns ok: the
// body of every Check function below.
func check(ok bool, path, code, msg string, fe *FieldErrors) bool {
	if !ok {
		fe.Add(path, code, "%s", msg)
	}
	return ok
}

// MaxEchoedNameLength bounds what a client names and the server logs or
// echoes back as is: a caller's X-Request-Id, a field or parameter name in
// an error detail. Session tokens and API keys are 43 characters and more,
// so a secret sent there by mistake is never logged nor echoed; a UUID (36)
// still fits.
const MaxEchoedNameLength = 40

// The values of each enumerated field.
var (
	PlanStatuses         = []string{PlanDraft, PlanActive, PlanArchived} // add-ons use the same
	ValidityTypes        = []string{ValidityRecurring, ValidityOneTime}
	SIMTypes             = []string{SIMTypeESIM, SIMTypePSIM}
	SIMStatuses          = []string{SIMAvailable, SIMAssigned}
	SubscriptionStatuses = []string{SubscriptionPending, SubscriptionInitiated, SubscriptionActive, SubscriptionEnded}
	PaymentMethodTypes   = []string{"card"}
	CardBrands           = []string{"visa", "mastercard", "amex", "discover", "unknown"}
	PaymentStatuses      = []string{PaymentRequiresConfirmation, PaymentProcessing, PaymentSucceeded, PaymentFailed, PaymentCanceled}
	PortingStatuses      = []string{PortingDraft, PortingInitiated, PortingPending, PortingInformationRequired,
		PortingRequested, PortingDeclined, PortingCompleted, PortingCanceled, PortingExpired, PortingFailed}
)

// JoinPath returns the path of member name of the object at path.
func JoinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// TextFault says what is wrong with a line of free text.
type TextFault int

const (
	TextOK      TextFault = iota
	TextEmpty             // empty or only white space
	TextTooLong           // more than the limit, in characters
	TextControl           // control characters (line breaks, tabs, …) or invalid UTF-8
)

// CheckTextFault applies the free-text rule: not blank, at most max
// characters, no control characters.
func CheckTextFault(s string, max int) TextFault {
	if strings.TrimSpace(s) == "" {
		return TextEmpty
	}
	if utf8.RuneCountInString(s) > max {
		return TextTooLong
	}
	if !utf8.ValidString(s) {
		return TextControl
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 || r == '\u2028' || r == '\u2029' {
			return TextControl
		}
	}
	return TextOK
}

// TextProblem returns what is wrong with free text s, or "".
func TextProblem(s string, max int) string {
	switch CheckTextFault(s, max) {
	case TextEmpty:
		return "must not be empty"
	case TextTooLong:
		return fmt.Sprintf("must be at most %d characters", max)
	case TextControl:
		return "must not contain control characters"
	}
	return ""
}

// CheckText checks free text that is present.
func CheckText(path, s string, max int, fe *FieldErrors) bool {
	if msg := TextProblem(s, max); msg != "" {
		fe.Add(path, "invalid", "%s", msg)
		return false
	}
	return true
}

// checkRequiredText checks a required text field of a typed object, where
// "" means absent.
func checkRequiredText(path, s string, max int, fe *FieldErrors) {
	if s == "" {
		fe.Add(path, "required", "is required")
		return
	}
	CheckText(path, s, max, fe)
}

func checkOptText(path string, s *string, max int, fe *FieldErrors) {
	if s != nil {
		CheckText(path, *s, max, fe)
	}
}

// CheckEnum checks that s, when present, is one of values.
func CheckEnum(path, s string, values []string, fe *FieldErrors) bool {
	if !slices.Contains(values, s) {
		fe.Add(path, "invalid", "must be one of %s", strings.Join(values, ", "))
		return false
	}
	return true
}

// checkRequiredEnum checks a required enumerated field of a typed object.
func checkRequiredEnum(path, s string, values []string, fe *FieldErrors) {
	if s == "" {
		fe.Add(path, "required", "is required: one of %s", strings.Join(values, ", "))
		return
	}
	CheckEnum(path, s, values, fe)
}

// CheckRange checks an integer in [min, max]; the message is the one the
// API's JSON reader gives for a number out of range.
func CheckRange(path string, n, min, max int64, fe *FieldErrors) bool {
	if n < min || n > max {
		fe.Add(path, "outOfRange", "must be an integer from %d to %d", min, max)
		return false
	}
	return true
}

// CheckCurrency checks an ISO 4217 code.
func CheckCurrency(path, s string, fe *FieldErrors) bool {
	return check(len(s) == 3 && isUpper(s), path, "invalidCurrency", "must be an ISO 4217 code of 3 upper-case letters such as USD", fe)
}

// CheckAmount checks an amount in minor units.
func CheckAmount(path string, n int64, fe *FieldErrors) bool {
	return CheckRange(path, n, 0, MaxPriceAmount, fe)
}

// CheckPrice checks a price at path.
func CheckPrice(path string, p Price, fe *FieldErrors) {
	CheckAmount(JoinPath(path, "amount"), p.Amount, fe)
	CheckCurrency(JoinPath(path, "currency"), p.Currency, fe)
}

// AllowanceField is one allowance of a: its JSON name and its field.
type AllowanceField struct {
	Name string
	V    **int64
}

// AllowanceFields lists the allowances of a, in JSON order.
func AllowanceFields(a *Allowances) []AllowanceField {
	return []AllowanceField{{"dataBytes", &a.DataBytes}, {"voiceSeconds", &a.VoiceSeconds}, {"smsMessages", &a.SMSMessages}}
}

// CheckAllowances checks allowances at path.
func CheckAllowances(path string, a Allowances, fe *FieldErrors) {
	for _, f := range AllowanceFields(&a) {
		if *f.V != nil {
			CheckRange(JoinPath(path, f.Name), **f.V, 0, MaxAllowance, fe)
		}
	}
}

// ValidPhoneNumber reports whether s is an E.164 number: "+" and 8 to 15
// digits, the first not 0.
func ValidPhoneNumber(s string) bool {
	if len(s) < 9 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	return allDigits(s[1:])
}

// CheckPhoneNumber checks an E.164 phone number.
func CheckPhoneNumber(path, s string, fe *FieldErrors) bool {
	return check(ValidPhoneNumber(s), path, "invalidPhoneNumber", "must be an E.164 number: + then 8 to 15 digits, such as +14155550123", fe)
}

// ValidActivationCode reports whether s is an eSIM activation code
// LPA:1$<SM-DP+ host>$<matching ID>.
func ValidActivationCode(s string) bool {
	rest, ok := strings.CutPrefix(s, activationCodeP)
	if !ok || len(s) > MaxActivationCodeLength {
		return false
	}
	host, matching, ok := strings.Cut(rest, "$")
	if !ok || !validSMDPHost(host) || matching == "" {
		return false
	}
	for i := 0; i < len(matching); i++ {
		if c := matching[i]; !(isAlnumByte(c) || c == '-') {
			return false
		}
	}
	return true
}

// validSMDPHost accepts a DNS name of labels of letters, digits and
// hyphens, with an optional port.
func validSMDPHost(h string) bool {
	if name, port, ok := strings.Cut(h, ":"); ok {
		if !allDigits(port) || len(port) > 5 {
			return false
		}
		h = name
	}
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !(isAlnumByte(c) || c == '-') {
				return false
			}
		}
	}
	return true
}

// CheckActivationCode checks the form of an eSIM activation code.
func CheckActivationCode(path, s string, fe *FieldErrors) bool {
	return check(ValidActivationCode(s), path, "invalidActivationCode", "must be LPA:1$<SM-DP+ address>$<matching ID>, such as LPA:1$smdp.example.com$K2-1ABCD-EFGH", fe)
}

// CheckICCID checks a SIM's ICCID: 18 to 22 digits.
func CheckICCID(path, s string, fe *FieldErrors) bool {
	if len(s) < MinICCIDLength || len(s) > MaxICCIDLength || !allDigits(s) {
		fe.Add(path, "invalidIccid", "must be %d to %d digits", MinICCIDLength, MaxICCIDLength)
		return false
	}
	return true
}

// CheckIMEI checks a device's IMEI.
func CheckIMEI(path, s string, fe *FieldErrors) bool {
	return check(ValidIMEI(s), path, "invalidImei", "must be 15 digits ending in a valid Luhn check digit", fe)
}

// CheckLast4 checks the last 4 digits of a card number.
func CheckLast4(path, s string, fe *FieldErrors) bool {
	return check(len(s) == 4 && allDigits(s), path, "invalid", "must be the last 4 digits of the card number", fe)
}

// ValidDeclinedCode reports whether s is a declined code: 1 to
// MaxDeclinedCodeLength letters, digits, '_' and '-'.
func ValidDeclinedCode(s string) bool {
	if s == "" || len(s) > MaxDeclinedCodeLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(isAlnumByte(c) || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// CheckDeclinedCode checks the form of a porting's declinedCode.
func CheckDeclinedCode(path, s string, fe *FieldErrors) bool {
	if !ValidDeclinedCode(s) {
		fe.Add(path, "invalid", "must be a code of 1 to %d letters and digits such as portingAccountPinRequiredOrInvalid", MaxDeclinedCodeLength)
		return false
	}
	return true
}

// ValidCountry reports whether s is an ISO 3166-1 alpha-2 code.
func ValidCountry(s string) bool { return len(s) == 2 && isUpper(s) }

// CheckCountry checks an ISO 3166-1 alpha-2 country code.
func CheckCountry(path, s string, fe *FieldErrors) bool {
	return check(ValidCountry(s), path, "invalidCountry", "must be an ISO 3166-1 alpha-2 code such as US", fe)
}

// AddressField is one text field of an address, with its rule; country is
// not one (CheckCountry).
type AddressField struct {
	Name     string // JSON name
	Max      int
	Required bool
	// Get returns the field of a, nil when an optional one is absent.
	Get func(a *Address) *string
	// Set stores a value (nil: absent) into a.
	Set func(a *Address, s *string)
}

// AddressFields are the text fields of an address, in JSON order.
var AddressFields = []AddressField{
	{Name: "line1", Max: MaxAddressLineLength, Required: true,
		Get: func(a *Address) *string { return &a.Line1 }, Set: func(a *Address, s *string) { a.Line1 = deref(s) }},
	{Name: "line2", Max: MaxAddressLineLength,
		Get: func(a *Address) *string { return a.Line2 }, Set: func(a *Address, s *string) { a.Line2 = s }},
	{Name: "city", Max: MaxAddressCityLength, Required: true,
		Get: func(a *Address) *string { return &a.City }, Set: func(a *Address, s *string) { a.City = deref(s) }},
	{Name: "postalCode", Max: MaxPostalCodeLength, Required: true,
		Get: func(a *Address) *string { return &a.PostalCode }, Set: func(a *Address, s *string) { a.PostalCode = deref(s) }},
	{Name: "state", Max: MaxAddressStateLength,
		Get: func(a *Address) *string { return a.State }, Set: func(a *Address, s *string) { a.State = s }},
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// CheckAddress checks an address at path; nil is no address.
func CheckAddress(path string, a *Address, fe *FieldErrors) {
	if a == nil {
		return
	}
	for _, f := range AddressFields {
		p := JoinPath(path, f.Name)
		if f.Required {
			checkRequiredText(p, *f.Get(a), f.Max, fe)
		} else {
			checkOptText(p, f.Get(a), f.Max, fe)
		}
	}
	CheckCountry(JoinPath(path, "country"), a.Country, fe)
}

// Check checks a plan's content.
func (p *Plan) Check(path string, fe *FieldErrors) {
	checkRequiredText(JoinPath(path, "name"), p.Name, MaxNameLength, fe)
	checkOptText(JoinPath(path, "description"), p.Description, MaxDescriptionLength, fe)
	checkRequiredEnum(JoinPath(path, "status"), p.Status, PlanStatuses, fe)
	CheckPrice(JoinPath(path, "price"), p.Price, fe)
	checkRequiredEnum(JoinPath(path, "validity.type"), p.Validity.Type, ValidityTypes, fe)
	CheckAllowances(JoinPath(path, "allowances"), p.Allowances, fe)
}

// Check checks an add-on's content. That its plans exist is the caller's
// to check.
func (a *Addon) Check(path string, fe *FieldErrors) {
	checkRequiredText(JoinPath(path, "name"), a.Name, MaxNameLength, fe)
	checkRequiredEnum(JoinPath(path, "status"), a.Status, PlanStatuses, fe)
	CheckPrice(JoinPath(path, "price"), a.Price, fe)
	CheckAllowances(JoinPath(path, "allowances"), a.Allowances, fe)
	checkIDList(JoinPath(path, "plans"), a.Plans, "plan", fe)
}

// checkIDList checks a list of references: not too many, none twice.
func checkIDList(path string, ids []string, what string, fe *FieldErrors) {
	if len(ids) > MaxIDList {
		fe.Add(path, "tooMany", "must hold at most %d IDs", MaxIDList)
	}
	seen := make(map[string]bool, len(ids))
	for i, id := range ids {
		if seen[id] {
			fe.Add(fmt.Sprintf("%s[%d]", path, i), "duplicate", "%s %s is listed twice", what, id)
		}
		seen[id] = true
	}
}

// Check checks a SIM's content.
func (s *SIM) Check(path string, fe *FieldErrors) {
	checkRequiredEnum(JoinPath(path, "type"), s.Type, SIMTypes, fe)
	if p := JoinPath(path, "iccid"); s.ICCID == "" {
		fe.Add(p, "required", "is required")
	} else {
		CheckICCID(p, s.ICCID, fe)
	}
	checkRequiredEnum(JoinPath(path, "status"), s.Status, SIMStatuses, fe)
	if s.ActivationCode != nil && !CheckActivationCode(JoinPath(path, "activationCode"), *s.ActivationCode, fe) {
		return
	}
	s.CheckActivation(path, fe)
}

// CheckActivation checks the rule between a SIM's type and its activation
// code: an eSIM needs one, a pSIM has none.
func (s *SIM) CheckActivation(path string, fe *FieldErrors) {
	p := JoinPath(path, "activationCode")
	switch {
	case s.Type == SIMTypeESIM && s.ActivationCode == nil:
		fe.Add(p, "required", "is required for an eSIM: LPA:1$<SM-DP+ address>$<matching ID>")
	case s.Type != SIMTypeESIM && s.ActivationCode != nil:
		fe.Add(p, "eSimOnly", "only an eSIM has an activation code; this SIM is a %s", s.Type)
	}
}

// Check checks a device's content. That its user exists is the caller's
// to check.
func (d *Device) Check(path string, fe *FieldErrors) {
	checkRequiredText(JoinPath(path, "manufacturer"), d.Manufacturer, MaxDeviceTextLength, fe)
	checkRequiredText(JoinPath(path, "model"), d.Model, MaxDeviceTextLength, fe)
	if d.IMEI != nil {
		CheckIMEI(JoinPath(path, "imei"), *d.IMEI, fe)
	}
}

// Check checks a subscription's content. Its references (user, plan, SIM,
// device, add-ons for the plan) are the caller's to check.
func (s *Subscription) Check(path string, fe *FieldErrors) {
	if s.PhoneNumber != nil {
		CheckPhoneNumber(JoinPath(path, "phoneNumber"), *s.PhoneNumber, fe)
	}
	checkRequiredEnum(JoinPath(path, "status"), s.Status, SubscriptionStatuses, fe)
	if cp := s.CurrentPeriod; cp != nil {
		p := JoinPath(path, "currentPeriod")
		switch {
		case cp.Start.IsZero() || cp.End.IsZero():
			if cp.Start.IsZero() {
				fe.Add(JoinPath(p, "start"), "required", "is required")
			}
			if cp.End.IsZero() {
				fe.Add(JoinPath(p, "end"), "required", "is required")
			}
		default:
			CheckPeriod(p, *cp, fe)
		}
	}
	checkIDList(JoinPath(path, "addons"), s.Addons, "add-on", fe)
}

// CheckPeriod checks that a period ends after it starts.
func CheckPeriod(path string, p Period, fe *FieldErrors) bool {
	if !p.End.After(p.Start) {
		fe.Add(JoinPath(path, "end"), "beforeStart", "must be after %s", JoinPath(path, "start"))
		return false
	}
	return true
}

// Check checks a payment method's content. Its user, and that a user has
// one default, are the caller's to check.
func (m *PaymentMethod) Check(path string, fe *FieldErrors) {
	checkRequiredEnum(JoinPath(path, "type"), m.Type, PaymentMethodTypes, fe)
	c := JoinPath(path, "card")
	checkRequiredEnum(JoinPath(c, "brand"), m.Card.Brand, CardBrands, fe)
	CheckLast4(JoinPath(c, "last4"), m.Card.Last4, fe)
	CheckRange(JoinPath(c, "expMonth"), int64(m.Card.ExpMonth), 1, 12, fe)
	CheckRange(JoinPath(c, "expYear"), int64(m.Card.ExpYear), MinCardExpYear, MaxCardExpYear, fe)
}

// Check checks a payment's content. Its references are the caller's to
// check.
func (p *Payment) Check(path string, fe *FieldErrors) {
	CheckAmount(JoinPath(path, "amount"), p.Amount, fe)
	CheckCurrency(JoinPath(path, "currency"), p.Currency, fe)
	checkRequiredEnum(JoinPath(path, "status"), p.Status, PaymentStatuses, fe)
	checkOptText(JoinPath(path, "description"), p.Description, MaxDescriptionLength, fe)
}

// Check checks a porting's content. Its subscription is the caller's to
// check.
func (p *Porting) Check(path string, fe *FieldErrors) {
	if f := JoinPath(path, "phoneNumber"); p.PhoneNumber == "" {
		fe.Add(f, "required", "is required")
	} else {
		CheckPhoneNumber(f, p.PhoneNumber, fe)
	}
	checkRequiredEnum(JoinPath(path, "status"), p.Status, PortingStatuses, fe)
	if p.DeclinedCode == nil || CheckDeclinedCode(JoinPath(path, "declinedCode"), *p.DeclinedCode, fe) {
		p.CheckDeclined(path, fe)
	}
	checkOptText(JoinPath(path, "donorProvider"), p.DonorProvider, MaxDonorProviderLength, fe)
	checkOptText(JoinPath(path, "accountNumber"), p.AccountNumber, MaxAccountFieldLength, fe)
	checkOptText(JoinPath(path, "accountPin"), p.AccountPin, MaxAccountFieldLength, fe)
	CheckAddress(JoinPath(path, "address"), p.Address, fe)
}

// CheckDeclined checks the rule between a porting's status and its
// declinedCode: a declined porting has one, no other porting does.
func (p *Porting) CheckDeclined(path string, fe *FieldErrors) {
	f := JoinPath(path, "declinedCode")
	switch {
	case p.Status == PortingDeclined && p.DeclinedCode == nil:
		fe.Add(f, "required", "is required when status is declined")
	case p.Status != PortingDeclined && p.DeclinedCode != nil:
		fe.Add(f, "notDeclined", "may only be given when status is declined")
	}
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

func isAlnumByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

// CheckMetadata checks a metadata map: at most MaxMetadataKeys keys of 1
// to MaxMetadataKeyLength printable characters, values free text ("" is
// allowed).
func CheckMetadata(path string, m map[string]string, fe *FieldErrors) bool {
	n := len(*fe)
	if len(m) > MaxMetadataKeys {
		fe.Add(path, "tooManyKeys", "must have at most %d keys", MaxMetadataKeys)
	}
	badKey := false
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !badKey && (len(k) > MaxMetadataKeyLength || CheckTextFault(k, MaxMetadataKeyLength) != TextOK) {
			fe.Add(path, "invalidKey", "keys must be 1-%d printable characters", MaxMetadataKeyLength)
			badKey = true
		}
		if v := m[k]; v != "" {
			CheckText(path+"."+k, v, MaxMetadataValueLength, fe)
		}
	}
	return len(*fe) == n
}
