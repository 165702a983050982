package portal

import (
	"errors"
	"net/http"

	"github.com/connectd/connectd"
)

// demoCallback is what the demo's callback page shows.
type demoCallback struct {
	SessionID, LinkStatus string
	Found                 bool
	APIStatus, Intent     string
}

// RegisterDemoCallback adds GET /demo/callback, the callbackUrl of the
// demo's printed curl line: a page that shows the session_id and status the
// portal sent the browser back with, next to the session as the service
// has it (what an app would fetch through the API). Only serve --demo
// registers it, so that the demo's round trip ends on this machine, also
// offline.
func (p *Portal) RegisterDemoCallback(mux *http.ServeMux, projectID string) {
	mux.Handle("GET /demo/callback", portalHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		d := demoCallback{SessionID: q.Get("session_id"), LinkStatus: q.Get("status")}
		if d.SessionID != "" {
			sess, err := p.svc.GetSession(r.Context(), projectID, d.SessionID)
			var known *connectd.Error
			switch {
			case err == nil:
				d.Found, d.APIStatus, d.Intent = true, string(sess.Status(p.now())), string(sess.Intent.Type)
			case errors.As(err, &known) && known.Type == connectd.TypeNotFound:
			default:
				p.logger.ErrorContext(r.Context(), "demo callback: get session", "err", err.Error())
				p.renderMessage(w, r, http.StatusInternalServerError, nil, messageError)
				return
			}
		}
		p.render(w, r, http.StatusOK, "democallback", nil, pageData{Title: "Back in the app (demo)", Data: d})
	})))
}
