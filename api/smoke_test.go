package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/connectd/connectd/internal/apitest"
)

// TestCreateRetrieveRoundTrip is the happy path over real HTTP on both
// backends: create answers 201 with a url, retrieve answers the same session
// with url null.
func TestCreateRetrieveRoundTrip(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		e := apitest.New(t, apitest.Options{Backend: b})
		user := seedJerry(t, e) // the subscription below must exist and be the user's
		r := e.Post("/connectSessions", map[string]any{
			"callbackUrl": "https://example.com",
			"intent":      map[string]any{"type": "cancelSubscription", "cancelSubscription": map[string]any{"subscription": "sub_0U32VAxJ0Z7P8Y40mBAnOP9LPhEr"}},
			"user":        user,
		})
		if r.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		created := r.JSON(t)
		url, _ := created["url"].(string)
		if !strings.HasPrefix(url, e.URL+"/checkout/entry?session="+created["id"].(string)+"&token=") {
			t.Fatalf("url = %q", url)
		}
		if r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control = %q", r.Header.Get("Cache-Control"))
		}
		g := e.Get("/connectSessions/" + created["id"].(string))
		if g.Status != http.StatusOK {
			t.Fatalf("get: %d %s", g.Status, g.Body)
		}
		got := g.JSON(t)
		if got["url"] != nil {
			t.Errorf("GET url = %v, want null", got["url"])
		}
		delete(created, "url")
		delete(got, "url")
		for k, v := range created {
			if got[k] == nil && v != nil || got[k] != nil && v == nil {
				t.Errorf("field %s: create %v, get %v", k, v, got[k])
			}
		}
	})
}
