package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/connectd/connectd"
)

// Issue 11.6: an entered session ends on its own. Its status reads expired
// once every browser session it opened was revoked (a replay) or timed out
// (PortalUntil passed); GetSession, the list filters and FinishSession agree.
// Issue 11.7: the browser that consumed a url (the same pre-consumption
// cookie) may confirm again; any other is refused and nothing is written.

// listedIDs returns the IDs of the project's sessions with status at now.
func listedIDs(t testing.TB, s connectd.Store, projectID string, status connectd.SessionStatus, now time.Time) []string {
	t.Helper()
	page, err := s.ListSessions(t.Context(), projectID, connectd.SessionFilter{Status: status, Now: now,
		ListParams: connectd.ListParams{Limit: connectd.MaxListLimit}})
	is(t, "ListSessions "+string(status), err, nil)
	ids := make([]string, len(page.Items))
	for i, cs := range page.Items {
		ids[i] = cs.ID
	}
	return ids
}

// statusAgrees checks that session id reads status at now, and that the
// list filters of every status agree.
func statusAgrees(t testing.TB, s connectd.Store, projectID, id string, now time.Time, want connectd.SessionStatus) {
	t.Helper()
	equal(t, "Status at "+now.String(), getSession(t, s, projectID, id).Status(now), want)
	for _, st := range connectd.SessionStatuses {
		listed := slices.Contains(listedIDs(t, s, projectID, st, now), id)
		if listed != (st == want) {
			t.Fatalf("at %v session %s listed under status %s: %v (it reads %s)", now, id, st, listed, want)
		}
	}
}

var portalEndTests = []portalTest{
	{"BrowserTimesOut", func(t *testing.T, s PortalStore) {
		p, _, cs, token := mkUserSession(t, s)
		at := cs.CreatedAt.Add(time.Second)
		_, b := enter(t, s, cs, token, at)
		statusAgrees(t, s, p.ID, cs.ID, at, connectd.StatusActive)
		statusAgrees(t, s, p.ID, cs.ID, b.ExpiresAt.Add(-time.Millisecond), connectd.StatusActive)
		statusAgrees(t, s, p.ID, cs.ID, b.ExpiresAt, connectd.StatusExpired)
		// It can no longer be completed: it has ended.
		_, err := s.FinishSession(t.Context(), cs.ID, connectd.StatusCompleted, b.ExpiresAt)
		is(t, "FinishSession after the browser session timed out", err, connectd.ErrConflict)
		statusAgrees(t, s, p.ID, cs.ID, b.ExpiresAt, connectd.StatusExpired)
		// Expiring it writes down what it reads.
		got, err := s.ExpireSession(t.Context(), p.ID, cs.ID, b.ExpiresAt, connectd.Idem{})
		is(t, "ExpireSession", err, nil)
		equal(t, "stored status after ExpireSession", got.StoredStatus, connectd.StatusExpired)
	}},
	{"BrowserRevoked", func(t *testing.T, s PortalStore) {
		p, _, cs, token := mkUserSession(t, s)
		at := cs.CreatedAt.Add(time.Second)
		enter(t, s, cs, token, at)
		replayAt := at.Add(time.Minute)
		is(t, "RecordReplay", s.RecordReplay(t.Context(), cs.ID, replayAt), nil)
		statusAgrees(t, s, p.ID, cs.ID, replayAt.Add(-time.Millisecond), connectd.StatusActive)
		statusAgrees(t, s, p.ID, cs.ID, replayAt, connectd.StatusExpired)
		_, err := s.FinishSession(t.Context(), cs.ID, connectd.StatusCompleted, replayAt.Add(time.Second))
		is(t, "FinishSession after a replay", err, connectd.ErrConflict)
		// A session that ended before the replay keeps its outcome.
		done, doneToken := mkSession(t, s, p.ID, func(c *connectd.Session) { c.UserID = cs.UserID })
		enter(t, s, done, doneToken, at)
		_, err = s.FinishSession(t.Context(), done.ID, connectd.StatusCompleted, at)
		is(t, "FinishSession", err, nil)
		is(t, "RecordReplay of an ended session", s.RecordReplay(t.Context(), done.ID, replayAt), nil)
		statusAgrees(t, s, p.ID, done.ID, replayAt, connectd.StatusCompleted)
	}},
}

// boundEntry enters a new session with a browser bound by binding and
// returns it, its token and the time it entered at.
func boundEntry(t testing.TB, s PortalStore, binding []byte) (*connectd.Session, string, time.Time) {
	t.Helper()
	_, _, cs, token := mkUserSession(t, s)
	at := cs.CreatedAt.Add(time.Second)
	_, err := s.EnterSession(t.Context(), connectd.EnterParams{SessionID: cs.ID, TokenHash: connectd.HashToken(token), Now: at,
		Browser: newBrowser(at, cs.UserID), EntryBinding: binding})
	is(t, "EnterSession", err, nil)
	return cs, token, at
}

var entryBindingTests = []portalTest{
	{"SameBrowserAgain", func(t *testing.T, s PortalStore) {
		binding := connectd.HashToken("the entry cookie " + uid())
		cs, token, at := boundEntry(t, s, binding)
		again := at.Add(time.Second)
		b := newBrowser(again, nil)
		got, err := s.ReenterSession(t.Context(), connectd.EnterParams{SessionID: cs.ID, TokenHash: connectd.HashToken(token),
			Now: again, Browser: b, EntryBinding: binding})
		is(t, "ReenterSession", err, nil)
		equal(t, "its status", got.StoredStatus, connectd.StatusActive)
		equal(t, "PortalUntil extended to the new browser's end", got.PortalUntil, &b.ExpiresAt)
		equal(t, "the new browser's user is the session's", b.UserID, cs.UserID)
		equal(t, "the new browser", getBrowser(t, s, b), b)
		equal(t, "ProjectID and SessionID", []string{b.ProjectID, b.SessionID}, []string{cs.ProjectID, cs.ID})
	}},
	{"Refused", func(t *testing.T, s PortalStore) {
		binding := connectd.HashToken("the entry cookie " + uid())
		for _, c := range []struct {
			name    string
			prepare func(t *testing.T, cs *connectd.Session, at time.Time) // before the second POST
			binding []byte
			token   func(token string) string
			after   time.Duration
		}{
			{name: "another browser", binding: connectd.HashToken("another cookie")},
			{name: "no cookie", binding: nil},
			{name: "wrong token", binding: binding, token: func(string) string { return "not the token" }},
			{name: "after the rebind window", binding: binding, after: connectd.EntryRebindWindow},
			{name: "after a replay", binding: binding, prepare: func(t *testing.T, cs *connectd.Session, at time.Time) {
				is(t, "RecordReplay", s.RecordReplay(t.Context(), cs.ID, at), nil)
			}},
			{name: "after the session ended", binding: binding, prepare: func(t *testing.T, cs *connectd.Session, at time.Time) {
				_, err := s.FinishSession(t.Context(), cs.ID, connectd.StatusAborted, at)
				is(t, "FinishSession", err, nil)
			}},
		} {
			t.Run(c.name, func(t *testing.T) {
				cs, token, at := boundEntry(t, s, binding)
				again := at.Add(time.Second + c.after)
				if c.prepare != nil {
					c.prepare(t, cs, at.Add(time.Millisecond))
				}
				if c.token != nil {
					token = c.token(token)
				}
				before := getSession(t, s, cs.ProjectID, cs.ID)
				b := newBrowser(again, nil)
				_, err := s.ReenterSession(t.Context(), connectd.EnterParams{SessionID: cs.ID, TokenHash: connectd.HashToken(token),
					Now: again, Browser: b, EntryBinding: c.binding})
				is(t, "ReenterSession", err, connectd.ErrNotFound)
				noBrowser(t, s, "refused", b)
				equal(t, "session after the refusal", getSession(t, s, cs.ProjectID, cs.ID), before)
			})
		}
	}},
	{"UnboundEntry", func(t *testing.T, s PortalStore) {
		// A browser that sent no pre-consumption cookie bound nothing: no
		// second POST can claim to be it.
		cs, token, at := boundEntry(t, s, nil)
		b := newBrowser(at.Add(time.Second), nil)
		_, err := s.ReenterSession(t.Context(), connectd.EnterParams{SessionID: cs.ID, TokenHash: connectd.HashToken(token),
			Now: at.Add(time.Second), Browser: b, EntryBinding: nil})
		is(t, "ReenterSession", err, connectd.ErrNotFound)
		noBrowser(t, s, "refused", b)
	}},
}
