package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/service"
	"github.com/connectd/connectd/store/sqlite/sqlitetest"
)

// recordingPlatform keeps the commands the service sends; its actions
// change nothing. Only Actions is used.
type recordingPlatform struct {
	connectd.Platform
	sent []connectd.Command
}

func (p *recordingPlatform) Actions() connectd.Actions { return recordingActions{p: p} }

// recordingActions records the commands of the two actions the test
// sends (every action builds its command the same way).
type recordingActions struct {
	connectd.Actions
	p *recordingPlatform
}

func (a recordingActions) record(c connectd.Command) error {
	a.p.sent = append(a.p.sent, c)
	return nil
}

func (a recordingActions) CancelSubscription(_ context.Context, c connectd.CancelSubscriptionCommand) (*connectd.Subscription, error) {
	return nil, a.record(c.Command)
}
func (a recordingActions) ChangePlan(_ context.Context, c connectd.ChangePlanCommand) (*connectd.Purchase, error) {
	return nil, a.record(c.Command)
}

// TestActionCommands: every portal action reaches the platform as a
// command with the project, the user, the time of the service's clock and
// an idempotency key that a resubmitted form repeats and any other choice,
// action or browser does not.
func TestActionCommands(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2030, 1, 2, 3, 4, 5, 678_900_000, time.UTC)
	svc := service.New(sqlitetest.New(t), "https://connect.example.com", nil)
	svc.Now = func() time.Time { return at }
	rec := &recordingPlatform{}
	svc.Platform = rec
	me := service.Actor{ProjectID: "p", UserID: "usr_1", BrowserID: "bss_1"}
	otherBrowser := me
	otherBrowser.BrowserID = "bss_2"
	card := func(number string) connectd.PaymentInput {
		return connectd.PaymentInput{Card: &connectd.CardInput{Number: number, ExpMonth: 12, ExpYear: 2040, CVC: "123"}}
	}
	// Each call sends one command; pairs of calls name the keys compared.
	calls := []struct {
		name string
		do   func() error
	}{
		{"cancel", func() error { _, err := svc.CancelSubscription(ctx, me, "sub_1"); return err }},
		{"cancel again", func() error { _, err := svc.CancelSubscription(ctx, me, "sub_1"); return err }},
		{"cancel in another browser", func() error { _, err := svc.CancelSubscription(ctx, otherBrowser, "sub_1"); return err }},
		{"change with a card", func() error {
			_, err := svc.ChangePlan(ctx, me, "sub_1", "pln_2", card("4242424242424242"))
			return err
		}},
		{"change with another card", func() error {
			_, err := svc.ChangePlan(ctx, me, "sub_1", "pln_2", card("4000000000000002"))
			return err
		}},
		{"change to another plan", func() error {
			_, err := svc.ChangePlan(ctx, me, "sub_1", "pln_3", card("4242424242424242"))
			return err
		}},
	}
	keys := map[string]string{}
	for i, c := range calls {
		if err := c.do(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got := rec.sent[i]
		wantUser := me
		if c.name == "cancel in another browser" {
			wantUser = otherBrowser
		}
		if got.ProjectID != wantUser.ProjectID || got.UserID != wantUser.UserID || !got.Now.Equal(at.Truncate(time.Millisecond)) || got.IdempotencyKey == "" {
			t.Errorf("%s: command %+v, want project p, user usr_1, now %v and a key", c.name, got, at)
		}
		keys[c.name] = got.IdempotencyKey
	}
	if keys["cancel"] != keys["cancel again"] {
		t.Error("a resubmitted cancel has another idempotency key")
	}
	seen := map[string]string{}
	for _, c := range calls {
		if c.name == "cancel again" {
			continue
		}
		if other, dup := seen[keys[c.name]]; dup {
			t.Errorf("%s and %s share an idempotency key", other, c.name)
		}
		seen[keys[c.name]] = c.name
	}
}
