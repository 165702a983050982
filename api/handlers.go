package api

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/connectd/connectd"
)

// sessionJSON is the wire form of a session. Every field is always present.
type sessionJSON struct {
	Object      string               `json:"object"`
	ID          string               `json:"id"`
	CallbackURL *string              `json:"callbackUrl"`
	Intent      connectd.Intent      `json:"intent"`
	URL         *string              `json:"url"`
	User        *string              `json:"user"`
	Appearance  *connectd.Appearance `json:"appearance"`
	Status      string               `json:"status"`
	CreatedAt   string               `json:"createdAt"`
	ExpiresAt   string               `json:"expiresAt"`
}

func timeJSON(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func (s *Server) sessionJSON(sess *connectd.Session, url string) sessionJSON {
	out := sessionJSON{
		Object:      "connectSession",
		ID:          sess.ID,
		CallbackURL: sess.CallbackURL,
		Intent:      sess.Intent,
		User:        sess.UserID,
		Appearance:  sess.Appearance,
		Status:      string(sess.Status(s.svc.Now())),
		CreatedAt:   timeJSON(sess.CreatedAt),
		ExpiresAt:   timeJSON(sess.ExpiresAt),
	}
	if out.Appearance == nil {
		// The vendor documents appearance as an object that is always
		// present: a session created without one answers {} (issue 10.2).
		out.Appearance = &connectd.Appearance{}
	}
	if url != "" {
		out.URL = &url
	}
	return out
}

type listJSON[T any] struct {
	Object          string  `json:"object"`
	Items           []T     `json:"items"`
	MoreItemsAfter  *string `json:"moreItemsAfter"`
	MoreItemsBefore *string `json:"moreItemsBefore"`
}

func makeList[T, J any](page connectd.Page[T], id func(T) string, render func(T) J) listJSON[J] {
	out := listJSON[J]{Object: "list", Items: make([]J, len(page.Items))}
	for i, it := range page.Items {
		out.Items[i] = render(it)
	}
	if n := len(page.Items); n > 0 {
		if page.MoreAfter {
			last := id(page.Items[n-1])
			out.MoreItemsAfter = &last
		}
		if page.MoreBefore {
			first := id(page.Items[0])
			out.MoreItemsBefore = &first
		}
	}
	return out
}

func (s *Server) createSession(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := noQuery(r); err != nil {
		return err
	}
	in, err := decodeCreateSession(c.body, c.project, s.today())
	if in.Problems = shapeProblems(err); err != nil && in.Problems == nil {
		return err
	}
	res, err := s.svc.CreateSession(r.Context(), c.project, in, c.idem)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, s.sessionJSON(res.Session, res.URL))
	return nil
}

func (s *Server) getSession(w http.ResponseWriter, r *http.Request, c *call) error {
	sess, err := s.svc.GetSession(r.Context(), c.project.ID, r.PathValue("id"))
	if err != nil {
		return err // the path before the query
	}
	if err := noQuery(r); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.sessionJSON(sess, ""))
	return nil
}

func (s *Server) updateSession(w http.ResponseWriter, r *http.Request, c *call) error {
	if _, err := s.svc.GetSession(r.Context(), c.project.ID, r.PathValue("id")); err != nil {
		return err // the path before the query and body
	}
	if err := noQuery(r); err != nil {
		return err
	}
	in, err := decodeUpdateSession(c.body, c.project, s.today())
	if in.Problems = shapeProblems(err); err != nil && in.Problems == nil {
		return err
	}
	res, err := s.svc.UpdateSession(r.Context(), c.project, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.sessionJSON(res.Session, res.URL))
	return nil
}

func (s *Server) expireSession(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	if _, err := s.svc.GetSession(r.Context(), c.project.ID, id); err != nil {
		return err
	}
	if err := noQuery(r); err != nil {
		return err
	}
	if len(c.body) > 0 {
		if err := decodeEmpty(c.body); err != nil {
			return err
		}
	}
	sess, err := s.svc.ExpireSession(r.Context(), c.project.ID, id, c.idem)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.sessionJSON(sess, ""))
	return nil
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request, c *call) error {
	q, err := readQuery(r, "user", "status", "limit", "after", "before")
	if err != nil {
		return err
	}
	var ps problems
	f := connectd.SessionFilter{ListParams: q.listParams(connectd.PrefixSession, &ps)}
	if v, ok := q.get("user"); ok {
		if connectd.ValidID(connectd.PrefixUser, v) {
			f.UserID = v
		} else {
			ps.Add("user", "invalidId", "must be a user ID (usr_…)")
		}
	}
	if v, ok := q.get("status"); ok {
		if st := connectd.SessionStatus(v); st.Valid() {
			f.Status = st
		} else {
			ps.Add("status", "invalid", "must be one of open, active, completed, aborted, failed, expired")
		}
	}
	q.problems(&ps)
	if err := ps.err(); err != nil {
		return err
	}
	page, err := s.svc.ListSessions(r.Context(), c.project.ID, f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, makeList(page, func(x *connectd.Session) string { return x.ID },
		func(x *connectd.Session) sessionJSON { return s.sessionJSON(x, "") }))
	return nil
}

// userJSON is the wire form of a user.
type userJSON struct {
	Object          string            `json:"object"`
	ID              string            `json:"id"`
	Email           string            `json:"email"`
	FullName        *string           `json:"fullName"`
	Birthday        *string           `json:"birthday"`
	PreferredLocale *string           `json:"preferredLocale"`
	Metadata        map[string]string `json:"metadata"`
	Address         *connectd.Address `json:"address"`
	CreatedAt       string            `json:"createdAt"`
}

func renderUser(u *connectd.User) userJSON {
	md := u.Metadata
	if md == nil {
		md = map[string]string{}
	}
	return userJSON{Object: "user", ID: u.ID, Email: u.Email, FullName: u.FullName, Birthday: u.Birthday,
		PreferredLocale: u.PreferredLocale, Metadata: md, Address: u.Address, CreatedAt: timeJSON(u.CreatedAt)}
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := noQuery(r); err != nil {
		return err
	}
	in, err := decodeUser(c.body, true, s.today())
	if err != nil {
		return err
	}
	u, err := s.svc.CreateUser(r.Context(), c.project.ID, in, c.idem)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, renderUser(u))
	return nil
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, c *call) error {
	u, err := s.svc.GetUser(r.Context(), c.project.ID, r.PathValue("id"))
	if err != nil {
		return err // the path before the query
	}
	if err := noQuery(r); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, renderUser(u))
	return nil
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request, c *call) error {
	if _, err := s.svc.GetUser(r.Context(), c.project.ID, r.PathValue("id")); err != nil {
		return err
	}
	if err := noQuery(r); err != nil {
		return err
	}
	in, err := decodeUser(c.body, false, s.today())
	if err != nil {
		return err
	}
	u, err := s.svc.UpdateUser(r.Context(), c.project.ID, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, renderUser(u))
	return nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, c *call) error {
	q, err := readQuery(r, "limit", "after", "before")
	if err != nil {
		return err
	}
	var ps problems
	p := q.listParams(connectd.PrefixUser, &ps)
	q.problems(&ps)
	if err := ps.err(); err != nil {
		return err
	}
	page, err := s.svc.ListUsers(r.Context(), c.project.ID, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, makeList(page, func(u *connectd.User) string { return u.ID }, renderUser))
	return nil
}

// query is a parsed query string whose parameters are checked against the
// ones an endpoint knows.
type query struct {
	values url.Values
	bad    problems
}

func readQuery(r *http.Request, known ...string) (*query, error) {
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, connectd.Errorf(connectd.TypeBadRequest, "invalidQuery", "The query string is malformed.")
	}
	q := &query{values: values}
	isKnown := make(map[string]bool, len(known))
	for _, k := range known {
		isKnown[k] = true
	}
	for k, vs := range values {
		switch {
		case !isKnown[k]:
			q.bad.Add(redactName(k), "unknownParameter", "is not a known query parameter")
		case len(vs) > 1:
			q.bad.Add(k, "repeated", "must be given at most once")
		case vs[0] == "":
			q.bad.Add(k, "empty", "must not be empty: leave the parameter out to not filter")
		}
	}
	return q, nil
}

func noQuery(r *http.Request) error {
	q, err := readQuery(r)
	if err != nil {
		return err
	}
	return q.bad.err()
}

// get returns a parameter that is present once and not empty (other cases
// are reported by problems).
func (q *query) get(k string) (string, bool) {
	vs := q.values[k]
	if len(vs) != 1 || vs[0] == "" {
		return "", false
	}
	return vs[0], true
}

func (q *query) problems(ps *problems) { ps.Problems = append(q.bad.Problems, ps.Problems...) }

func (q *query) listParams(prefix string, ps *problems) connectd.ListParams {
	p := connectd.ListParams{Limit: connectd.DefaultListLimit}
	if v, ok := q.get("limit"); ok {
		n, err := strconv.Atoi(v)
		// limit=0 is refused (issue 10.7): a page of no items cannot name
		// a cursor to go on from, so it could only answer a misleading
		// empty list.
		if err != nil || n < 1 || n > connectd.MaxListLimit {
			ps.Add("limit", "outOfRange", "must be an integer from 1 to %d", connectd.MaxListLimit)
		} else {
			p.Limit = n
		}
	}
	for _, k := range []string{"after", "before"} {
		if v, ok := q.get(k); ok {
			if !connectd.ValidID(prefix, v) {
				ps.Add(k, "invalidId", "must be an ID (%s_…) from a previous page", prefix)
				continue
			}
			if k == "after" {
				p.After = v
			} else {
				p.Before = v
			}
		}
	}
	if q.values.Has("after") && q.values.Has("before") {
		ps.Add("before", "exclusive", "give at most one of after and before")
	}
	return p
}

// decodeEmpty accepts only an empty JSON object.
func decodeEmpty(body []byte) error {
	v, err := parseBody(body)
	if err != nil {
		return err
	}
	var ps problems
	root := jsonRoot(v, &ps)
	root.Done()
	return ps.err()
}
