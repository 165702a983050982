package seed_test

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/apitest"
	"github.com/connectd/connectd/seed"
	"github.com/connectd/connectd/service"
)

// demoIntents is a session body per intent against the demo data; the
// README's section "Sessions for every intent against the demo data" uses
// the same payloads.
func demoIntents() map[connectd.IntentType]obj {
	sub := func(id string) obj { return obj{"subscription": id} }
	return map[connectd.IntentType]obj{
		connectd.IntentCancelSubscription:      sub(seed.DemoSubscriptionID),
		connectd.IntentChangeSubscription:      sub(seed.DemoSubscriptionID),
		connectd.IntentCheckoutAddon:           {"subscription": seed.DemoSubscriptionID, "addons": []any{seed.DemoAddonDataBoostID}},
		connectd.IntentCheckoutNewSubscription: {"plan": seed.DemoPlanMaxID, "sim": seed.DemoFreeESIMID, "device": seed.DemoDeviceID, "addons": []any{seed.DemoAddonIntlID}},
		connectd.IntentCompletePorting:         sub(seed.DemoPortingRetrySubscriptionID),
		connectd.IntentConfirmPayment:          {"payment": seed.DemoPaymentID},
		connectd.IntentResumeSubscription:      sub(seed.DemoCanceledSubscriptionID),
		connectd.IntentUpdatePaymentMethod:     nil,
		connectd.IntentUpdateUserAddress:       nil,
		connectd.IntentUpdateUserFullName:      nil,
		connectd.IntentViewEsimInstallation:    sub(seed.DemoSubscriptionID),
		connectd.IntentViewSubscription:        sub(seed.DemoSubscriptionID),
		connectd.IntentViewSubscriptions:       nil,
	}
}

func TestDemo(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		created, err := seed.Demo(ctx, e.Store, nil)
		if err != nil || !created {
			t.Fatalf("first Demo = %v, %v; want true, nil", created, err)
		}
		before := e.dump(t, seed.DemoProjectID)
		created, err = seed.Demo(ctx, e.Store, nil)
		if err != nil || created {
			t.Fatalf("second Demo = %v, %v; want false, nil", created, err)
		}
		if after := e.dump(t, seed.DemoProjectID); len(after) != len(before) {
			t.Errorf("the second Demo changed the data")
		} else {
			for k, v := range before {
				if after[k] != v {
					t.Errorf("the second Demo changed %s", k)
				}
			}
		}

		t.Run("every_intent_answers_201", func(t *testing.T) {
			key, err := e.Service.CreateAPIKey(ctx, seed.DemoProjectID)
			if err != nil {
				t.Fatal(err)
			}
			p, err := e.st.GetProject(ctx, seed.DemoProjectID)
			if err != nil {
				t.Fatal(err)
			}
			if p.Settings.IntentValidation != connectd.IntentValidationStrict {
				t.Fatalf("the demo project is %s, want strict (so that 201 means the data fits)", p.Settings.IntentValidation)
			}
			bodies := demoIntents()
			if len(bodies) != len(connectd.IntentTypes) {
				t.Fatalf("%d intents covered, want %d", len(bodies), len(connectd.IntentTypes))
			}
			for _, it := range connectd.IntentTypes {
				t.Run(string(it), func(t *testing.T) {
					in := obj{"type": string(it)}
					if payload := bodies[it]; payload != nil {
						in[string(it)] = payload
					}
					r := e.Do(apitest.Request{Method: http.MethodPost, Path: "/projects/" + seed.DemoProjectID + "/connectSessions", Key: key,
						Body: obj{"callbackUrl": "https://example.com", "intent": in, "user": seed.DemoUserID}})
					if r.Status != http.StatusCreated {
						t.Fatalf("%s: %d %s", it, r.Status, r.Body)
					}
				})
			}
		})

		t.Run("the_data_the_demo_promises", func(t *testing.T) {
			checkDemoData(t, e)
		})
	})
}

var demoIDRe = regexp.MustCompile(`^[a-z]{3}_[0-9A-Za-z]{28}$`)

func checkDemoData(t *testing.T, e *env) {
	ctx := context.Background()
	pf, p := e.pf, seed.DemoProjectID
	for _, id := range []string{seed.DemoUserID, seed.DemoOtherUserID, seed.DemoPlanMaxID, seed.DemoPlanBasicID, seed.DemoPlanArchivedID,
		seed.DemoAddonDataBoostID, seed.DemoAddonIntlID, seed.DemoFreeESIMID, seed.DemoFreePSIMID, seed.DemoDeviceID,
		seed.DemoSubscriptionID, seed.DemoCanceledSubscriptionID, seed.DemoPortingRetrySubscriptionID,
		seed.DemoPortingDeclinedSubscriptionID, seed.DemoPortingDraftSubscriptionID, seed.DemoPaymentMethodID, seed.DemoPaymentID} {
		if !demoIDRe.MatchString(id) {
			t.Errorf("demo ID %s is not prefix_ + 28 base62 characters", id)
		}
	}
	proj, err := e.st.GetProject(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	s := proj.Settings
	if !s.PortingRetry || !s.HostedLogin || s.DisplayName != "Demo Mobile" || s.PrimaryColor == "" || s.BillingMode != connectd.BillingModePayments {
		t.Errorf("demo settings = %+v", s)
	}
	jerry, err := e.st.GetUser(ctx, p, seed.DemoUserID)
	if err != nil || jerry.Email != seed.DemoUserEmail {
		t.Errorf("Jerry: %+v, %v", jerry, err)
	}
	if u, err := e.st.GetUser(ctx, p, seed.DemoOtherUserID); err != nil || u.Email != seed.DemoOtherUserEmail {
		t.Errorf("Elaine: %+v, %v", u, err)
	}
	if subs, err := pf.Subscriptions().List(ctx, p, connectd.PlatformFilter{UserID: seed.DemoOtherUserID, ListParams: connectd.ListParams{Limit: 10}}); err != nil || len(subs.Items) != 0 {
		t.Errorf("Elaine has subscriptions: %v, %v", subs.Items, err)
	}

	plans, err := pf.Plans().List(ctx, p, connectd.PlatformFilter{ListParams: connectd.ListParams{Limit: 50}})
	if err != nil {
		t.Fatal(err)
	}
	statuses := map[string]int{}
	for _, pl := range plans.Items {
		statuses[pl.Status]++
	}
	if len(plans.Items) != 3 || statuses[connectd.PlanArchived] != 1 || statuses[connectd.PlanActive] != 2 {
		t.Errorf("plans: %d, statuses %v; want 3 with one archived", len(plans.Items), statuses)
	}
	addons, err := pf.Addons().List(ctx, p, connectd.PlatformFilter{ListParams: connectd.ListParams{Limit: 50}})
	if err != nil {
		t.Fatal(err)
	}
	if len(addons.Items) != 2 {
		t.Errorf("%d add-ons, want 2", len(addons.Items))
	}
	for _, a := range addons.Items {
		for _, pl := range a.Plans {
			if got, err := pf.Plans().Get(ctx, p, pl); err != nil || got.Status != connectd.PlanActive {
				t.Errorf("add-on %s is for plan %s, which is not active", a.ID, pl)
			}
		}
	}

	sims, err := pf.SIMs().List(ctx, p, connectd.PlatformFilter{Status: connectd.SIMAvailable, ListParams: connectd.ListParams{Limit: 50}})
	if err != nil {
		t.Fatal(err)
	}
	free := map[string]int{}
	activation := regexp.MustCompile(`^LPA:1\$smdp\.example\.com\$[A-Z0-9-]+$`)
	for _, sim := range sims.Items {
		free[sim.Type]++
		if sim.Type == connectd.SIMTypeESIM && (sim.ActivationCode == nil || !activation.MatchString(*sim.ActivationCode)) {
			t.Errorf("free eSIM %s has activation code %v", sim.ID, sim.ActivationCode)
		}
	}
	if free[connectd.SIMTypeESIM] < 1 || free[connectd.SIMTypePSIM] < 1 {
		t.Errorf("free SIMs: %v; want eSIMs and pSIMs", free)
	}

	active, err := pf.Subscriptions().Get(ctx, p, seed.DemoSubscriptionID)
	if err != nil {
		t.Fatal(err)
	}
	if active.Status != connectd.SubscriptionActive || !active.Recurring || active.EndedAt != nil || active.PhoneNumber == nil ||
		active.CurrentPeriod == nil || active.SIM == nil || active.User != seed.DemoUserID {
		t.Errorf("active subscription: %+v", active)
	} else if sim, err := pf.SIMs().Get(ctx, p, *active.SIM); err != nil || sim.Type != connectd.SIMTypeESIM {
		t.Errorf("active subscription's SIM: %+v, %v; want an eSIM", sim, err)
	}
	boost, err := pf.Addons().Get(ctx, p, seed.DemoAddonDataBoostID)
	if err != nil || !slices.Contains(boost.Plans, active.Plan) {
		t.Errorf("Data Boost cannot be bought for the active subscription's plan")
	}
	if c, err := pf.Subscriptions().Get(ctx, p, seed.DemoCanceledSubscriptionID); err != nil || c.EndedAt == nil || !c.Recurring {
		t.Errorf("canceled subscription: %+v, %v", c, err)
	}
	wantPorting := func(sub, status, code string) {
		t.Helper()
		page, err := pf.Portings().List(ctx, p, connectd.PlatformFilter{Subscription: sub, ListParams: connectd.ListParams{Limit: 10}})
		if err != nil || len(page.Items) != 1 {
			t.Fatalf("portings of %s: %v, %v", sub, page.Items, err)
		}
		prt := page.Items[0]
		got := ""
		if prt.DeclinedCode != nil {
			got = *prt.DeclinedCode
		}
		if prt.Status != status || got != code || prt.User != seed.DemoUserID {
			t.Errorf("porting of %s: %s %q (user %s), want %s %q", sub, prt.Status, got, prt.User, status, code)
		}
	}
	wantPorting(seed.DemoPortingRetrySubscriptionID, connectd.PortingDeclined, "portingAccountPinRequiredOrInvalid")
	wantPorting(seed.DemoPortingDeclinedSubscriptionID, connectd.PortingDeclined, "portingNumberNotPortable")
	wantPorting(seed.DemoPortingDraftSubscriptionID, connectd.PortingDraft, "")
	if !connectd.RetryableDeclinedCodes["portingAccountPinRequiredOrInvalid"] || connectd.RetryableDeclinedCodes["portingNumberNotPortable"] {
		t.Errorf("the demo's declined codes no longer cover a retryable and a non-retryable one")
	}
	if pay, err := pf.Payments().Get(ctx, p, seed.DemoPaymentID); err != nil || pay.Status != connectd.PaymentRequiresConfirmation || pay.User != seed.DemoUserID {
		t.Errorf("payment to confirm: %+v, %v", pay, err)
	}
	if pm, err := pf.PaymentMethods().Get(ctx, p, seed.DemoPaymentMethodID); err != nil || pm.Type != "card" || pm.User != seed.DemoUserID {
		t.Errorf("payment method: %+v, %v", pm, err)
	}
	if d, err := pf.Devices().Get(ctx, p, seed.DemoDeviceID); err != nil || d.User == nil || *d.User != seed.DemoUserID {
		t.Errorf("device: %+v, %v", d, err)
	}
	// Timestamps in the file are kept, so the demo reads the same everywhere.
	if want := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC); !jerry.CreatedAt.Equal(want) {
		t.Errorf("Jerry's createdAt = %v, want %v", jerry.CreatedAt, want)
	}
}

func TestDemoRestartKeepsUserChanges(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		if _, err := seed.Demo(ctx, e.Store, nil); err != nil {
			t.Fatal(err)
		}
		// What the demo's user changed in the portal stays so across
		// restarts, and the restart does not fail on it (issue 13: a second
		// serve --demo exited 1 with "seed conflicts with existing user").
		name := "Jerry Seinfeld-Renamed"
		if _, err := e.Service.UpdateUser(ctx, seed.DemoProjectID, seed.DemoUserID, service.UserInput{FullName: &name}); err != nil {
			t.Fatal(err)
		}
		actor := service.Actor{ProjectID: seed.DemoProjectID, UserID: seed.DemoUserID, BrowserID: "brw_demo_test"}
		canceled, err := e.Service.CancelSubscription(ctx, actor, seed.DemoSubscriptionID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := seed.LoadDemo(ctx, e.st, e.pf); err == nil {
			t.Fatalf("LoadDemo (a seed like any other) accepted a database whose demo user differs; the check lost its teeth")
		}
		created, err := seed.Demo(ctx, e.Store, nil)
		if err != nil || created {
			t.Fatalf("Demo after the user's changes = %v, %v; want false, nil", created, err)
		}
		u, err := e.Service.GetUser(ctx, seed.DemoProjectID, seed.DemoUserID)
		if err != nil || u.FullName == nil || *u.FullName != name {
			t.Errorf("after a restart the user is %+v, %v; want the name %q kept", u, err, name)
		}
		sub, err := e.pf.Subscriptions().Get(ctx, seed.DemoProjectID, seed.DemoSubscriptionID)
		if err != nil || sub.Status != canceled.Status || sub.EndedAt == nil {
			t.Errorf("after a restart the subscription is %+v, %v; want it canceled as the user left it (%s)", sub, err, canceled.Status)
		}
	})
}
