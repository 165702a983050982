package portal

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"sync"

	"github.com/connectd/connectd"
)

//go:embed templates/*.html templates/partials/*.html
var templateFS embed.FS

//go:embed static/portal.css
var css []byte

func serveCSS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(css)
}

// pageData is what a page template gets, besides the layout's fields.
type pageData struct {
	Title string
	// Hidden are hidden form fields of the page's main form.
	Hidden map[string]string
	// Account is the masked email the page acts for.
	Account string
	// Action says what the session lets the user do.
	Action string
	// Errors maps a form field to what is wrong with it; Values keeps what
	// the user typed, so that a page re-rendered after a problem loses
	// nothing.
	Errors map[string]string
	Values map[string]string
	// Notice is a message for the whole form (a declined card, say).
	Notice string
	// Data is the page's own view model.
	Data any
}

// view is the whole model of a rendered page.
type view struct {
	pageData
	ProjectName string
	Color       string
	Theme       string
	// Exit is false on pages that have no session to leave.
	Exit bool
	// Nonce allows the one inline style block (the brand colour).
	Nonce string
}

var (
	templatesOnce sync.Once
	templates     map[string]*template.Template
)

var funcs = template.FuncMap{
	"money": formatMoney,
	"date":  formatDate,
	"deref": func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	},
}

// parseTemplates parses the layout with each page. A broken template is a
// programming error caught by every test.
func parseTemplates() map[string]*template.Template {
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials/*.html"))
	pages, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	out := make(map[string]*template.Template, len(pages))
	for _, path := range pages {
		name := strings.TrimSuffix(strings.TrimPrefix(path, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		out[name] = template.Must(template.Must(layout.Clone()).ParseFS(templateFS, path))
	}
	return out
}

// render writes page name with the project's branding. st may be nil (no
// session) or have a nil browser (the entry page).
func (p *Portal) render(w http.ResponseWriter, r *http.Request, status int, name string, st *state, data pageData) {
	templatesOnce.Do(func() { templates = parseTemplates() })
	v := view{pageData: data, ProjectName: "Connect", Color: "#2f5bea", Theme: "light"}
	if st != nil && st.Project != nil {
		s := st.Project.Settings
		v.ProjectName = st.Project.Name
		if s.DisplayName != "" {
			v.ProjectName = s.DisplayName
		}
		if s.PrimaryColor != "" {
			v.Color = s.PrimaryColor
		}
	}
	if st != nil && st.Session != nil && st.Session.Appearance != nil && st.Session.Appearance.Theme != nil {
		v.Theme = string(*st.Session.Appearance.Theme)
	}
	v.Exit = st != nil && st.Browser != nil && st.Session != nil && st.Session.StoredStatus == connectd.StatusActive
	v.Nonce = newSecret()[:22]
	var buf bytes.Buffer
	if err := templates[name].ExecuteTemplate(&buf, "layout.html", v); err != nil {
		p.logger.ErrorContext(r.Context(), "render page", "page", name, "err", err.Error())
		http.Error(w, "The page could not be shown.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self' 'nonce-"+v.Nonce+"'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// message is a page that only says something.
type message struct {
	Title, Text string
}

var (
	messageExpired = message{"This link has expired",
		"This link was already used, has expired, or is not valid. Links work once and for a short time. Go back to the app and start again."}
	messageUsed = message{"This link was already used",
		"It was opened in another browser or window. Links work once: go back to the app and start again. Nothing was changed."}
	messageCrossOrigin      = message{"This request was refused", "It came from another website, so nothing was changed. Go back to the app and open the link again."}
	messageEnded            = message{"This session has ended", "There is nothing more to do here. You can close this window."}
	messageClosed           = message{"All done", "You can close this window and go back to the app."}
	messageAborted          = message{"Nothing was changed", "You left before finishing. You can close this window and go back to the app."}
	messageBadConfiguration = message{"This can't be done here", "This link can't be used for this account. Please contact support. You can close this window."}
	messageTooMany          = message{"Too many attempts", "There were too many attempts from your network. Wait a minute, then try again."}
	messageError            = message{"Something went wrong", "We could not finish this. Nothing more will happen; please try again later. You can close this window."}
)

func (p *Portal) renderMessage(w http.ResponseWriter, r *http.Request, status int, st *state, m message) {
	p.render(w, r, status, "message", st, pageData{Title: m.Title, Data: m})
}
