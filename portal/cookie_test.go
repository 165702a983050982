package portal

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/connectd/connectd/service"
)

// TestBrowserSessionCookie: the browser session cookie is HttpOnly,
// SameSite=Lax, host-only on path /, and Secure with the __Host- prefix
// when the public URL is https; clearing it keeps the same name and
// attributes, so that the browser drops the right cookie.
func TestBrowserSessionCookie(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		publicURL, name string
		secure          bool
	}{
		{"http://127.0.0.1:8080", "connectd", false},
		{"https://connect.example.com", "__Host-connectd", true},
	} {
		p := New(&service.Service{PublicURL: tc.publicURL}, nil, nil)
		set, clear := httptest.NewRecorder(), httptest.NewRecorder()
		p.setCookie(set, "s3cret", time.Now().Add(time.Hour))
		p.clearCookie(clear)
		for what, rec := range map[string]*httptest.ResponseRecorder{"set": set, "clear": clear} {
			cs := rec.Result().Cookies()
			if len(cs) != 1 {
				t.Fatalf("%s %s: %d cookies", tc.publicURL, what, len(cs))
			}
			c := cs[0]
			if c.Name != tc.name || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != tc.secure || c.Path != "/" || c.Domain != "" {
				t.Errorf("%s %s: %s, want %s, HttpOnly, SameSite=Lax, Path=/, no Domain, Secure=%v", tc.publicURL, what, rec.Header().Get("Set-Cookie"), tc.name, tc.secure)
			}
		}
		if c := clear.Result().Cookies()[0]; c.MaxAge >= 0 || c.Value != "" {
			t.Errorf("%s clear: %s, want an empty value that expires now", tc.publicURL, clear.Header().Get("Set-Cookie"))
		}
	}
}
