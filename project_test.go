package connectd

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDefaultProjectSettings(t *testing.T) {
	s := DefaultProjectSettings()
	if err := s.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	if s.BillingMode != BillingModePayments || s.IntentValidation != IntentValidationStrict ||
		!s.HostedLogin || s.PortingRetry || time.Duration(s.SessionTTL) != 15*time.Minute ||
		s.CallbackAllowList == nil || len(s.CallbackAllowList) != 0 {
		t.Errorf("defaults = %+v", s)
	}
	// The allow-list is [] in JSON, never null.
	b, _ := json.Marshal(s)
	if !strings.Contains(string(b), `"callbackAllowList":[]`) || !strings.Contains(string(b), `"sessionTTL":"15m0s"`) {
		t.Errorf("JSON = %s", b)
	}
}

// fieldErrors returns the details of a ValidationError, failing otherwise.
func fieldErrors(t *testing.T, err error) []FieldError {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	if e.Type != TypeUnprocessable || e.Code != "validationFailed" {
		t.Errorf("type %s, code %s", e.Type, e.Code)
	}
	return e.Details
}

func TestProjectSettingsValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*ProjectSettings)
		want   []string // field:code, in order; nil: valid
	}{
		{"defaults", func(*ProjectSettings) {}, nil},
		{"billing", func(s *ProjectSettings) { s.BillingMode = BillingModeBilling }, nil},
		{"lenient", func(s *ProjectSettings) { s.IntentValidation = IntentValidationLenient }, nil},
		{"ttl min", func(s *ProjectSettings) { s.SessionTTL = Duration(time.Minute) }, nil},
		{"ttl max", func(s *ProjectSettings) { s.SessionTTL = Duration(24 * time.Hour) }, nil},
		{"allow-list", func(s *ProjectSettings) {
			s.CallbackAllowList = []string{"https://example.com/cb", "myapp://connect-callback", "http://localhost:3000/cb"}
		}, nil},
		{"branding", func(s *ProjectSettings) {
			s.DisplayName, s.PrimaryColor, s.PreferredLocale = strings.Repeat("n", 100), "#0a7CFF", "en-US"
		}, nil},

		{"billingMode empty", func(s *ProjectSettings) { s.BillingMode = "" }, []string{"settings.billingMode:invalid"}},
		{"billingMode other", func(s *ProjectSettings) { s.BillingMode = "Payments" }, []string{"settings.billingMode:invalid"}},
		{"intentValidation", func(s *ProjectSettings) { s.IntentValidation = "loose" }, []string{"settings.intentValidation:invalid"}},
		{"intentValidation empty", func(s *ProjectSettings) { s.IntentValidation = "" }, []string{"settings.intentValidation:invalid"}},
		{"ttl zero", func(s *ProjectSettings) { s.SessionTTL = 0 }, []string{"settings.sessionTTL:outOfRange"}},
		{"ttl short", func(s *ProjectSettings) { s.SessionTTL = Duration(59 * time.Second) }, []string{"settings.sessionTTL:outOfRange"}},
		{"ttl long", func(s *ProjectSettings) { s.SessionTTL = Duration(24*time.Hour + time.Millisecond) }, []string{"settings.sessionTTL:outOfRange"}},
		{"ttl negative", func(s *ProjectSettings) { s.SessionTTL = Duration(-time.Hour) }, []string{"settings.sessionTTL:outOfRange"}},
		{"allow-list entries", func(s *ProjectSettings) {
			s.CallbackAllowList = []string{"https://example.com/cb", "javascript:alert(1)", "http://example.com/cb", "https://example.com/cb?x=1", "https://u@example.com/", "/cb"}
		}, []string{
			"settings.callbackAllowList[1]:" + CodeCallbackScheme,
			"settings.callbackAllowList[2]:" + CodeCallbackInsecureHTTP,
			"settings.callbackAllowList[3]:" + CodeCallbackInvalid,
			"settings.callbackAllowList[4]:" + CodeCallbackUserInfo,
			"settings.callbackAllowList[5]:" + CodeCallbackInvalid,
		}},
		{"primaryColor name", func(s *ProjectSettings) { s.PrimaryColor = "blue" }, []string{"settings.primaryColor:invalid"}},
		{"primaryColor short", func(s *ProjectSettings) { s.PrimaryColor = "#fff" }, []string{"settings.primaryColor:invalid"}},
		{"primaryColor no hash", func(s *ProjectSettings) { s.PrimaryColor = "0a7cff0" }, []string{"settings.primaryColor:invalid"}},
		{"primaryColor not hex", func(s *ProjectSettings) { s.PrimaryColor = "#0a7cfg" }, []string{"settings.primaryColor:invalid"}},
		{"primaryColor css", func(s *ProjectSettings) { s.PrimaryColor = "#000;}x" }, []string{"settings.primaryColor:invalid"}},
		{"displayName", func(s *ProjectSettings) { s.DisplayName = strings.Repeat("n", 101) }, []string{"settings.displayName:tooLong"}},
		{"preferredLocale", func(s *ProjectSettings) { s.PreferredLocale = "en_US" }, []string{"settings.preferredLocale:invalid"}},

		{"everything at once", func(s *ProjectSettings) {
			*s = ProjectSettings{
				BillingMode: "x", IntentValidation: "y", SessionTTL: Duration(time.Second),
				CallbackAllowList: []string{"data:,x"}, PrimaryColor: "red",
				DisplayName: strings.Repeat("n", 101), PreferredLocale: "x",
			}
		}, []string{
			"settings.billingMode:invalid", "settings.intentValidation:invalid", "settings.sessionTTL:outOfRange",
			"settings.callbackAllowList[0]:" + CodeCallbackScheme, "settings.primaryColor:invalid",
			"settings.displayName:tooLong", "settings.preferredLocale:invalid",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := DefaultProjectSettings()
			tc.modify(&s)
			err := s.Validate()
			if tc.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %v", tc.want)
			}
			var got []string
			for _, d := range fieldErrors(t, err) {
				got = append(got, d.Field+":"+d.Code)
				if d.Message == "" {
					t.Errorf("%s: empty message", d.Field)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestIntentAllowed(t *testing.T) {
	payments := DefaultProjectSettings()
	billing := DefaultProjectSettings()
	billing.BillingMode = BillingModeBilling
	for _, it := range IntentTypes {
		if !payments.IntentAllowed(it) {
			t.Errorf("payments mode refuses %s", it)
		}
		want := it == IntentCompletePorting || it == IntentViewEsimInstallation
		if got := billing.IntentAllowed(it); got != want {
			t.Errorf("billing mode: IntentAllowed(%s) = %v, want %v", it, got, want)
		}
	}
}

func TestDurationJSON(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{15 * time.Minute, `"15m0s"`},
		{time.Minute, `"1m0s"`},
		{24 * time.Hour, `"24h0m0s"`},
		{90 * time.Second, `"1m30s"`},
		{0, `"0s"`},
	} {
		b, err := json.Marshal(Duration(tc.d))
		if err != nil || string(b) != tc.want {
			t.Errorf("Marshal(%v) = %s, %v; want %s", tc.d, b, err, tc.want)
		}
		var back Duration
		if err := json.Unmarshal(b, &back); err != nil || time.Duration(back) != tc.d {
			t.Errorf("Unmarshal(%s) = %v, %v", b, time.Duration(back), err)
		}
	}
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{`"15m"`, 15 * time.Minute},
		{`"1h30m"`, 90 * time.Minute},
		{`"900s"`, 15 * time.Minute},
		{`"24h"`, 24 * time.Hour},
	} {
		var d Duration
		if err := json.Unmarshal([]byte(tc.in), &d); err != nil || time.Duration(d) != tc.want {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v", tc.in, time.Duration(d), err, tc.want)
		}
	}
	for _, bad := range []string{`900`, `"15"`, `"fifteen minutes"`, `""`, `null`, `true`, `{"m":15}`, `"15 m"`} {
		d := Duration(time.Hour)
		err := json.Unmarshal([]byte(bad), &d)
		if bad == `null` {
			// null leaves the value as it is, as for built-in types.
			if err != nil || d != Duration(time.Hour) {
				t.Errorf("Unmarshal(null) = %v, %v; want 1h, nil", time.Duration(d), err)
			}
			continue
		}
		if err == nil {
			t.Errorf("Unmarshal(%s) = %v, want an error", bad, time.Duration(d))
		} else if !strings.Contains(err.Error(), "15m") {
			t.Errorf("Unmarshal(%s): error %q does not show the expected form", bad, err)
		}
	}
	// Inside settings, as in a seed file.
	var s ProjectSettings
	if err := json.Unmarshal([]byte(`{"billingMode":"billing","intentValidation":"lenient","hostedLogin":true,"portingRetry":true,"sessionTTL":"30m","callbackAllowList":["myapp://cb"]}`), &s); err != nil {
		t.Fatal(err)
	}
	want := ProjectSettings{BillingMode: BillingModeBilling, IntentValidation: IntentValidationLenient, HostedLogin: true, PortingRetry: true, SessionTTL: Duration(30 * time.Minute), CallbackAllowList: []string{"myapp://cb"}}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("got %+v", s)
	}
	if err := s.Validate(); err != nil {
		t.Error(err)
	}
}
