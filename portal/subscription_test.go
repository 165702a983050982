package portal_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/connectd/connectd"
)

func TestSubscriptionPageActions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		intent string
		setup  func(f *subFixture)
		page   []string // what the page must show
		post   string
		check  func(t *testing.T, f *subFixture, before, after *connectd.Subscription)
	}{{
		intent: "cancelSubscription",
		page:   []string{"Cancel your subscription", `data-testid="confirm"`, `action="/portal/subscription/cancel"`, "stays active until"},
		post:   "/portal/subscription/cancel",
		check: func(t *testing.T, f *subFixture, before, after *connectd.Subscription) {
			if after.EndedAt == nil || !after.EndedAt.Equal(before.CurrentPeriod.End) {
				t.Fatalf("endedAt %v, want the period's end %v", after.EndedAt, before.CurrentPeriod.End)
			}
		},
	}, {
		intent: "resumeSubscription",
		setup: func(f *subFixture) {
			f.setSub(func(s *connectd.Subscription) { end := s.CurrentPeriod.End; s.EndedAt = &end })
		},
		page: []string{"Resume your subscription", `data-testid="confirm"`, `action="/portal/subscription/resume"`, "Ends on"},
		post: "/portal/subscription/resume",
		check: func(t *testing.T, f *subFixture, before, after *connectd.Subscription) {
			if after.EndedAt != nil {
				t.Fatalf("endedAt %v after resume, want none", after.EndedAt)
			}
		},
	}}
	for _, tc := range tests {
		t.Run(tc.intent, func(t *testing.T) {
			t.Parallel()
			f := newSubFixture(t, nil)
			if tc.setup != nil {
				tc.setup(f)
			}
			before := f.getSub(f.sub.ID)
			b, id := f.open(tc.intent, map[string]any{"subscription": f.sub.ID}, "/portal/subscription")
			page := b.Get("/portal/subscription")
			hasAll(t, page, http.StatusOK, append(tc.page, `data-testid="exit"`, "Basic", "$10.00", "Active", "15550100042", "eSIM", "Current period")...)
			labelled(t, page)
			f.succeeded(b, b.Post(tc.post, nil), id)
			tc.check(t, f, before, f.getSub(f.sub.ID))
		})
	}
}

func TestSubscriptionViewDone(t *testing.T) {
	t.Parallel()
	f := newSubFixture(t, nil)
	b, id := f.open("viewSubscription", map[string]any{"subscription": f.sub.ID}, "/portal/subscription")
	page := b.Get("/portal/subscription")
	hasAll(t, page, http.StatusOK, "Your subscription", "Basic", "15550100042", `data-testid="continue"`, `data-testid="exit"`)
	hasNone(t, page, `data-testid="confirm"`, "/portal/subscription/cancel")
	// A view session cannot cancel: the route sends it back to its page.
	r := b.Post("/portal/subscription/cancel", nil)
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/portal/subscription" {
		t.Fatalf("cancel from a view session: %d %q", r.Status, r.Header.Get("Location"))
	}
	if f.getSub(f.sub.ID).EndedAt != nil {
		t.Fatal("a view session canceled the subscription")
	}
	f.linkedBack(b.Post("/portal/subscription/done", nil), id, "success", "completed")
}

// In lenient mode a session may name a subscription that can't be
// canceled or resumed: the page explains, with no button, and a forced
// POST changes nothing.
func TestSubscriptionNotActionable(t *testing.T) {
	t.Parallel()
	lenient := connectd.DefaultProjectSettings()
	lenient.IntentValidation = connectd.IntentValidationLenient
	tests := []struct {
		intent string
		setup  func(s *connectd.Subscription)
		why    string
		post   string
	}{
		{"cancelSubscription", func(s *connectd.Subscription) { end := s.CurrentPeriod.End; s.EndedAt = &end }, "already canceled", "/portal/subscription/cancel"},
		{"cancelSubscription", func(s *connectd.Subscription) { s.Recurring = false }, "doesn&#39;t renew", "/portal/subscription/cancel"},
		{"resumeSubscription", func(s *connectd.Subscription) {}, "isn&#39;t canceled", "/portal/subscription/resume"},
	}
	for _, tc := range tests {
		t.Run(tc.intent+"/"+tc.why, func(t *testing.T) {
			t.Parallel()
			f := newSubFixture(t, &lenient)
			f.setSub(tc.setup)
			before := f.getSub(f.sub.ID)
			b, id := f.open(tc.intent, map[string]any{"subscription": f.sub.ID}, "/portal/subscription")
			page := b.Get("/portal/subscription")
			hasAll(t, page, http.StatusOK, tc.why, `data-testid="exit"`, "Basic")
			hasNone(t, page, `data-testid="confirm"`)
			r := b.Post(tc.post, nil)
			hasAll(t, r, http.StatusConflict, `data-testid="exit"`)
			after := f.getSub(f.sub.ID)
			if (after.EndedAt == nil) != (before.EndedAt == nil) || after.Recurring != before.Recurring {
				t.Fatalf("subscription changed: %+v -> %+v", before, after)
			}
			if got := f.sessionStatus(id); got != "active" {
				t.Fatalf("session %s after a refused action, want active", got)
			}
			f.linkedBack(b.Post("/portal/exit", nil), id, "user_aborted", "aborted")
		})
	}
}

// The subscription was canceled elsewhere between page and button: the
// page explains and the end date stays what it was.
func TestSubscriptionCanceledMeanwhile(t *testing.T) {
	t.Parallel()
	f := newSubFixture(t, nil)
	b, _ := f.open("cancelSubscription", map[string]any{"subscription": f.sub.ID}, "/portal/subscription")
	hasAll(t, b.Get("/portal/subscription"), http.StatusOK, `data-testid="confirm"`)
	ended := time.Now().UTC().Add(time.Hour).Truncate(time.Second)
	f.setSub(func(s *connectd.Subscription) { s.EndedAt = &ended })
	r := b.Post("/portal/subscription/cancel", nil)
	hasAll(t, r, http.StatusConflict, "already canceled", "Ends on")
	hasNone(t, r, `data-testid="confirm"`)
	if got := f.getSub(f.sub.ID).EndedAt; got == nil || !got.Equal(ended) {
		t.Fatalf("endedAt %v, want %v", got, ended)
	}
}

func TestSubscriptionExit(t *testing.T) {
	t.Parallel()
	f := newSubFixture(t, nil)
	b, id := f.open("cancelSubscription", map[string]any{"subscription": f.sub.ID}, "/portal/subscription")
	f.linkedBack(b.Post("/portal/exit", nil), id, "user_aborted", "aborted")
	if f.getSub(f.sub.ID).EndedAt != nil {
		t.Fatal("exit canceled the subscription")
	}
	// The browser session is over: the action can't be done any more.
	if r := b.Post("/portal/subscription/cancel", nil); r.Status < 400 {
		t.Fatalf("cancel after exit: %d", r.Status)
	}
	if f.getSub(f.sub.ID).EndedAt != nil {
		t.Fatal("cancel after exit canceled the subscription")
	}
}

func TestSubscriptionsOverview(t *testing.T) {
	t.Parallel()
	f := newSubFixture(t, nil)
	second := f.newSubscription(f.user, f.plus.ID, nil)
	_ = second
	theirs := f.newSubscription(f.other, f.plus.ID, nil)
	_, err := connectd.UpdateResource(f.ctx, f.e.Service.Platform.Subscriptions(), f.e.Project, theirs.ID, func(s *connectd.Subscription) error {
		p := "+15550109999"
		s.PhoneNumber = &p
		return nil
	})
	must(t, err)
	b, id := f.open("viewSubscriptions", nil, "/portal/subscriptions")
	page := b.Get("/portal/subscriptions")
	hasAll(t, page, http.StatusOK, "Your subscriptions", "Basic", "Plus", "$25.00", "15550100042", `data-testid="continue"`, `data-testid="exit"`)
	hasNone(t, page, "15550109999")
	// Other intents' pages are not this session's.
	if r := b.Get("/portal/subscription"); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/portal/subscriptions" {
		t.Fatalf("subscription page in a viewSubscriptions session: %d %q", r.Status, r.Header.Get("Location"))
	}
	f.linkedBack(b.Post("/portal/subscriptions/done", nil), id, "success", "completed")
}

func TestSubscriptionsOverviewEmpty(t *testing.T) {
	t.Parallel()
	f := newSubFixture(t, nil)
	id, u := f.e.CreateSession(map[string]any{"callbackUrl": subCallback, "intent": map[string]any{"type": "viewSubscriptions"}, "user": f.other})
	b := f.e.NewBrowser()
	if r := b.Enter(u); r.Status != http.StatusSeeOther {
		t.Fatalf("enter: %d", r.Status)
	}
	hasAll(t, b.Get("/portal/subscriptions"), http.StatusOK, "have any subscriptions yet", `data-testid="continue"`)
	f.linkedBack(b.Post("/portal/subscriptions/done", nil), id, "success", "completed")
}
