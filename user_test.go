package connectd

import (
	"strings"
	"testing"
)

func TestValidEmail(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"jerry@example.com", true},
		{"Jerry.Seinfeld+connect@mail.example.co.uk", true},
		{"a@b.c", true},
		{"o'brien@example.com", true},
		{"x_y-z@sub-domain.example", true},
		{"user@xn--80ak6aa92e.com", true},
		{strings.Repeat("a", 64) + "@" + strings.Repeat("b", 185) + ".com", true},  // 254
		{strings.Repeat("a", 64) + "@" + strings.Repeat("b", 186) + ".com", false}, // 255
		{"", false},
		{"a@", false},
		{"@example.com", false},
		{"jerry", false},
		{"jerry@", false},
		{"jerry@example", false}, // no dot in the domain
		{"jerry@.example.com", false},
		{"jerry@example.com.", false},
		{"jerry@example..com", false},
		{"jerry@exa_mple.com", false},
		{"a@b@example.com", false},
		{"jerry @example.com", false},
		{"jerry@example.com ", false},
		{" jerry@example.com", false},
		{"jerry@exam ple.com", false},
		{"jerry\n@example.com", false},
		{"jerry@example.com\r\n", false},
		{"jerry\x00@example.com", false},
		{"\"jerry\"@example.com", false},
		{"jer,ry@example.com", false},
		{"jer(ry)@example.com", false},
		{"jer<ry>@example.com", false},
		{"jer;ry@example.com", false},
		{"jer:ry@example.com", false},
		{"jer\\ry@example.com", false},
		{"jerry@[127.0.0.1]", false},
		{"jérry@example.com", false}, // non-ASCII local part
		{"jerry@exаmple.com", false}, // Cyrillic а in the domain
		{"jerry@例え.jp", false},
	}
	for _, tc := range tests {
		if got := ValidEmail(tc.in); got != tc.want {
			t.Errorf("ValidEmail(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	if got := NormalizeEmail("Jerry@Example.COM"); got != "jerry@example.com" {
		t.Errorf("NormalizeEmail = %q", got)
	}
	if NormalizeEmail("JERRY@EXAMPLE.COM") != NormalizeEmail("jerry@example.com") {
		t.Error("emails differing only in case normalise differently")
	}
}

func TestValidDate(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"2017-07-21", true},
		{"2000-02-29", true}, // leap year
		{"1900-01-01", true},
		{"0001-01-01", true},
		{"9999-12-31", true},
		{"2024-02-29", true},
		{"2017-02-30", false},
		{"2017-02-29", false}, // not a leap year
		{"1900-02-29", false}, // not a leap year either
		{"2017-04-31", false},
		{"2017-13-01", false},
		{"2017-00-10", false},
		{"2017-07-00", false},
		{"2017-07-32", false},
		{"2017-7-21", false},
		{"2017-07-1", false},
		{"17-07-21", false},
		{"2017/07/21", false},
		{"21-07-2017", false},
		{"2017-07-21T00:00:00Z", false},
		{"2017-07-21 ", false},
		{" 2017-07-21", false},
		{"2017-07-2a", false},
		{"+017-07-21", false},
		{"", false},
	}
	for _, tc := range tests {
		if got := ValidDate(tc.in); got != tc.want {
			t.Errorf("ValidDate(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestValidLocale(t *testing.T) {
	long29 := "en-" + strings.Repeat("a", 8) + "-" + strings.Repeat("b", 8) + "-" + strings.Repeat("c", 8)
	if len(long29) != 29 {
		t.Fatal(len(long29))
	}
	tests := []struct {
		in   string
		want bool
	}{
		{"en", true},
		{"en-US", true},
		{"EN-us", true},
		{"de-DE", true},
		{"fil", true},
		{"zh-Hant-TW", true},
		{"sr-Latn-RS", true},
		{"es-419", true},
		{"de-CH-1996", true},
		{"en-GB-oxendict", true},
		{"", false},
		{"e", false},
		{"engl", false},  // the language is 2-3 letters
		{"12-US", false}, // letters only
		{"en_US", false},
		{"en-", false},
		{"-US", false},
		{"en--US", false},
		{"en-US-", false},
		{"en-abcdefghi", false}, // subtags are at most 8
		{"en US", false},
		{"en-US\n", false},
		{"én", false},
		{long29 + "-ddddd", true},   // 35 characters
		{long29 + "-dddddd", false}, // 36
	}
	for _, tc := range tests {
		if got := ValidLocale(tc.in); got != tc.want {
			t.Errorf("ValidLocale(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
