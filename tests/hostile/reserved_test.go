package hostile

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/connectd/connectd/internal/apitest"
)

// Issue 11.9: a callbackUrl may not carry the parameters the portal adds
// when it links back (session_id, status), in any spelling a parser would
// read as them. Create and PATCH refuse it with 422 naming callbackUrl,
// field code reservedParameter; a name that only contains them is fine.
func TestReservedCallbackParameters(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, be apitest.Backend) {
		e := apitest.New(t, apitest.Options{Backend: be})
		open := e.Post("/connectSessions", obj{"intent": obj{"type": "viewSubscriptions"}})
		if open.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", open.Status, open.Body)
		}
		id := open.JSON(t)["id"].(string)
		for _, c := range []struct {
			url  string
			want int
		}{
			{"https://example.com/cb?status=success", 422},
			{"https://example.com/cb?session_id=csn_0000000000000000000000000000", 422},
			{"https://example.com/cb?from=app&status=", 422},
			{"https://example.com/cb?from=app;status=success", 422},
			{"https://example.com/cb?st%61tus=success", 422},
			{"https://example.com/cb?Status=success", 422},
			{"https://example.com/cb?session%5fid=x", 422},
			{"myapp://connect-callback?status=success", 422},
			{"https://example.com/cb?statusPage=1&my_session_id=2", 200},
			{"https://example.com/cb#status=success", 200},
		} {
			b, _ := json.Marshal(c.url)
			for _, req := range []struct{ method, path, body string }{
				{http.MethodPost, "/connectSessions", `{"intent":{"type":"viewSubscriptions"},"callbackUrl":` + string(b) + `}`},
				{http.MethodPatch, "/connectSessions/" + id, `{"callbackUrl":` + string(b) + `}`},
			} {
				r := e.Do(apitest.Request{Method: req.method, Path: "/projects/" + e.Project + req.path, Body: req.body})
				name := req.method + " " + c.url
				if c.want == 200 {
					if r.Status >= 300 {
						t.Errorf("%s: %d %s, want it accepted", name, r.Status, r.Body)
					}
					continue
				}
				if r.Status != http.StatusUnprocessableEntity {
					t.Errorf("%s: %d %s, want 422", name, r.Status, r.Body)
					continue
				}
				checkErrorBody(t, name, r, 422, "validationFailed", "callbackUrl", "reservedParameter")
			}
		}
		// Nothing refused was stored.
		if got := e.Get("/connectSessions/" + id).JSON(t)["callbackUrl"]; got != "https://example.com/cb#status=success" {
			t.Fatalf("callbackUrl %v, want the last accepted one", got)
		}
	})
}
