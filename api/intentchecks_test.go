package api_test

// The acceptance matrix of the intents table (spec section 2): every intent
// against every check it has (valid, not found, another user's resource,
// the wrong state), under strict and lenient intent validation, and in a
// billing-mode project. Data comes from one seed file loaded into several
// projects of the same server.

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/apitest"
	"github.com/connectd/connectd/seed"
)

// The matrix's data: the same IDs in every project.
const (
	icJerry  = "usr_0ICJerry00000000000000000001"
	icElaine = "usr_0ICElaine0000000000000000001"

	icPlan         = "pln_0ICPlan000000000000000000001"
	icPlanOther    = "pln_0ICPlanOther0000000000000001"
	icPlanArchived = "pln_0ICPlanArchived0000000000001"

	icAddon         = "add_0ICAddon00000000000000000001" // active, for icPlan
	icAddonArchived = "add_0ICAddonArchived000000000001" // archived, for icPlan
	icAddonOther    = "add_0ICAddonOther000000000000001" // active, for icPlanOther only

	icESIMFree = "sim_0ICEsimFree00000000000000001"
	icESIMUsed = "sim_0ICEsimUsed00000000000000001"
	icPSIMUsed = "sim_0ICPsimUsed00000000000000001"

	icDevJerry  = "dev_0ICDevJerry00000000000000001"
	icDevElaine = "dev_0ICDevElaine0000000000000001"
	icDevShop   = "dev_0ICDevShop000000000000000001" // nobody's

	icSubActive      = "sub_0ICSubActive0000000000000001" // eSIM, recurring, no porting
	icSubCanceled    = "sub_0ICSubCanceled00000000000001" // recurring, endedAt set
	icSubOneTime     = "sub_0ICSubOneTime000000000000001" // not recurring
	icSubPending     = "sub_0ICSubPending000000000000001" // pending, no SIM
	icSubPSIM        = "sub_0ICSubPsim000000000000000001" // active on a pSIM
	icSubPortWaiting = "sub_0ICSubPortWaiting00000000001" // porting declined, waiting for the user
	icSubPortDone    = "sub_0ICSubPortDone00000000000001" // porting requested: nothing for the user
	icSubElaine      = "sub_0ICSubElaine0000000000000001"

	icPayConfirm = "pay_0ICPayConfirm000000000000001"
	icPaySettled = "pay_0ICPaySettled000000000000001"
	icPayElaine  = "pay_0ICPayElaine0000000000000001"

	// icMissing* exist nowhere.
	icMissingSub   = "sub_0ICMissing000000000000000001"
	icMissingPlan  = "pln_0ICMissing000000000000000001"
	icMissingSIM   = "sim_0ICMissing000000000000000001"
	icMissingDev   = "dev_0ICMissing000000000000000001"
	icMissingAddon = "add_0ICMissing000000000000000001"
	icMissingPay   = "pay_0ICMissing000000000000000001"
)

// icProject is the full data set; icBareProject has one plan, no add-ons,
// and one subscription, so that changeSubscription has nothing to offer.
func icProject(id, validation, billing string) obj {
	price := obj{"amount": 1000, "currency": "USD"}
	recurring := obj{"type": "recurring"}
	plan := func(id, status string) obj {
		return obj{"id": id, "name": id, "status": status, "price": price, "validity": recurring}
	}
	addon := func(id, status, plan string) obj {
		return obj{"id": id, "name": id, "status": status, "price": price, "plans": []any{plan}}
	}
	sim := func(id, typ, status string) obj {
		o := obj{"id": id, "type": typ, "iccid": "", "status": status}
		return o
	}
	sub := func(id, user, sim, status string, recurring bool, ended any) obj {
		o := obj{"id": id, "user": user, "plan": icPlan, "status": status, "recurring": recurring, "endedAt": ended}
		if sim != "" {
			o["sim"] = sim
		}
		return o
	}
	sims := []any{sim(icESIMFree, "eSIM", "available"), sim(icESIMUsed, "eSIM", "assigned"), sim(icPSIMUsed, "pSIM", "assigned")}
	for i, s := range sims {
		s := s.(obj)
		s["iccid"] = "89010000000000000" + string(rune('0'+i)) + "0"
		if s["type"] == "eSIM" {
			s["activationCode"] = "LPA:1$smdp.example.com$IC-" + s["id"].(string)[4:]
		}
	}
	return obj{
		"id": id, "name": id,
		"settings": obj{"intentValidation": validation, "billingMode": billing},
		"users": []any{
			obj{"id": icJerry, "email": "jerry@example.com"},
			obj{"id": icElaine, "email": "elaine@example.com"},
		},
		"plans":  []any{plan(icPlan, "active"), plan(icPlanOther, "active"), plan(icPlanArchived, "archived")},
		"addons": []any{addon(icAddon, "active", icPlan), addon(icAddonArchived, "archived", icPlan), addon(icAddonOther, "active", icPlanOther)},
		"sims":   sims,
		"devices": []any{
			obj{"id": icDevJerry, "user": icJerry, "manufacturer": "Apple", "model": "iPhone 15", "esimCapable": true},
			obj{"id": icDevElaine, "user": icElaine, "manufacturer": "Google", "model": "Pixel 9", "esimCapable": true},
			obj{"id": icDevShop, "manufacturer": "Nokia", "model": "3310", "esimCapable": false},
		},
		"subscriptions": []any{
			sub(icSubActive, icJerry, icESIMUsed, "active", true, nil),
			sub(icSubCanceled, icJerry, "", "active", true, "2026-12-01T00:00:00Z"),
			sub(icSubOneTime, icJerry, "", "active", false, nil),
			sub(icSubPending, icJerry, "", "pending", true, nil),
			sub(icSubPSIM, icJerry, icPSIMUsed, "active", true, nil),
			sub(icSubPortWaiting, icJerry, "", "active", true, nil),
			sub(icSubPortDone, icJerry, "", "active", true, nil),
			sub(icSubElaine, icElaine, "", "active", true, nil),
		},
		"payments": []any{
			obj{"id": icPayConfirm, "user": icJerry, "subscription": icSubActive, "amount": 1000, "currency": "USD", "status": "requiresConfirmation"},
			obj{"id": icPaySettled, "user": icJerry, "amount": 1000, "currency": "USD", "status": "succeeded"},
			obj{"id": icPayElaine, "user": icElaine, "amount": 1000, "currency": "USD", "status": "requiresConfirmation"},
		},
		"portings": []any{
			obj{"id": "prt_0ICPrtWaiting000000000000001", "subscription": icSubPortWaiting, "phoneNumber": "+12125550100",
				"status": "declined", "declinedCode": "portingAccountPinRequiredOrInvalid"},
			obj{"id": "prt_0ICPrtDone000000000000000001", "subscription": icSubPortDone, "phoneNumber": "+12125550101", "status": "requested"},
		},
	}
}

func icBareProject(id, validation string) obj {
	return obj{
		"id": id, "name": id,
		"settings": obj{"intentValidation": validation},
		"users":    []any{obj{"id": icJerry, "email": "jerry@example.com"}},
		"plans": []any{obj{"id": icPlan, "name": "Only", "status": "active", "price": obj{"amount": 1000, "currency": "USD"},
			"validity": obj{"type": "recurring"}}},
		"subscriptions": []any{obj{"id": icSubActive, "user": icJerry, "plan": icPlan, "status": "active", "recurring": true}},
	}
}

// icEnv is a server with the matrix's projects and a key for each.
type icEnv struct {
	*apitest.Env
	keys map[string]string
}

func newICEnv(t *testing.T, b apitest.Backend) *icEnv {
	t.Helper()
	e := apitest.New(t, apitest.Options{Backend: b})
	st, ok := e.Store.(seed.Store)
	if !ok {
		t.Fatalf("the %s store does not implement connectd.ResourceStore", b)
	}
	file, err := json.Marshal(obj{"projects": []any{
		icProject("strict", "strict", "payments"),
		icProject("lenient", "lenient", "payments"),
		icProject("billing", "strict", "billing"),
		icBareProject("strict-bare", "strict"),
		icBareProject("lenient-bare", "lenient"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := seed.Load(ctx, st, nil, bytes.NewReader(file)); err != nil {
		t.Fatalf("load the matrix's data: %v", err)
	}
	ie := &icEnv{Env: e, keys: map[string]string{}}
	for _, p := range []string{"strict", "lenient", "billing", "strict-bare", "lenient-bare"} {
		if ie.keys[p], err = e.Service.CreateAPIKey(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	return ie
}

func (e *icEnv) do(method, project, path string, body any) *apitest.Response {
	return e.Do(apitest.Request{Method: method, Path: "/projects/" + project + "/connectSessions" + path, Key: e.keys[project], Body: body})
}

// icWant is an expected answer: 201, or 422 with a top-level code and one
// detail (field, code) that must be listed.
type icWant struct {
	status             int
	code, field, fcode string
}

var icOK = icWant{status: http.StatusCreated}

func icRefused(code, field, fcode string) icWant {
	return icWant{status: http.StatusUnprocessableEntity, code: code, field: field, fcode: fcode}
}

func (w icWant) check(t *testing.T, r *apitest.Response) {
	t.Helper()
	if r.Status != w.status {
		t.Fatalf("status = %d, want %d; body: %s", r.Status, w.status, r.Body)
	}
	if w.status < 400 {
		return
	}
	var body struct {
		Object, Type, Code, Message string
		Details                     []struct{ Field, Code, Message string }
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("error body: %v: %s", err, r.Body)
	}
	if body.Object != "error" || body.Type != "unprocessableEntity" || body.Code != w.code || body.Message == "" {
		t.Errorf("error = %s %s %q (%q), want error unprocessableEntity %q; body: %s", body.Object, body.Type, body.Code, body.Message, w.code, r.Body)
	}
	if w.field == "" {
		return
	}
	for _, d := range body.Details {
		if d.Field == w.field && d.Code == w.fcode && d.Message != "" {
			return
		}
	}
	t.Errorf("details lack {%s %s}; body: %s", w.field, w.fcode, r.Body)
}

// icCase is one row of the matrix: an intent, the check it exercises, a
// payload, and the answers under strict and lenient validation.
type icCase struct {
	intent          connectd.IntentType
	check           string
	payload         obj
	bare            bool // run in the *-bare projects
	strict, lenient icWant
}

func icCases() []icCase {
	sub := func(id string) obj { return obj{"subscription": id} }
	field := func(it connectd.IntentType, f string) string { return "intent." + string(it) + "." + f }
	// both: the same answer in both modes.
	both := func(w icWant) [2]icWant { return [2]icWant{w, w} }
	strictOnly := func(w icWant) [2]icWant { return [2]icWant{w, icOK} }
	var cases []icCase
	add := func(it connectd.IntentType, check string, payload obj, w [2]icWant) {
		cases = append(cases, icCase{intent: it, check: check, payload: payload, strict: w[0], lenient: w[1]})
	}
	// The intents that take one subscription share the existence and
	// ownership rows.
	subIntents := []struct {
		it    connectd.IntentType
		valid string
	}{
		{connectd.IntentCancelSubscription, icSubActive},
		{connectd.IntentChangeSubscription, icSubActive},
		{connectd.IntentCompletePorting, icSubPortWaiting},
		{connectd.IntentResumeSubscription, icSubCanceled},
		{connectd.IntentViewEsimInstallation, icSubActive},
		{connectd.IntentViewSubscription, icSubActive},
	}
	for _, s := range subIntents {
		f := field(s.it, "subscription")
		add(s.it, "valid", sub(s.valid), both(icOK))
		add(s.it, "not_found", sub(icMissingSub), both(icRefused("subscriptionNotFound", f, "notFound")))
		add(s.it, "another_users", sub(icSubElaine), both(icRefused("subscriptionNotOwned", f, "notOwned")))
	}

	it := connectd.IntentCancelSubscription
	add(it, "state_canceled", sub(icSubCanceled), strictOnly(icRefused("subscriptionNotCancelable", field(it, "subscription"), "notCancelable")))
	add(it, "state_one_time", sub(icSubOneTime), strictOnly(icRefused("subscriptionNotCancelable", field(it, "subscription"), "notCancelable")))

	it = connectd.IntentChangeSubscription
	cases = append(cases, icCase{intent: it, check: "state_no_alternatives", payload: sub(icSubActive), bare: true,
		strict: icRefused("subscriptionHasNoAlternatives", field(it, "subscription"), "noAlternatives"), lenient: icOK})

	it = connectd.IntentCompletePorting
	add(it, "state_porting_requested", sub(icSubPortDone), strictOnly(icRefused("portingNotWaiting", field(it, "subscription"), "noPortingWaiting")))
	add(it, "state_no_porting", sub(icSubActive), strictOnly(icRefused("portingNotWaiting", field(it, "subscription"), "noPortingWaiting")))

	it = connectd.IntentResumeSubscription
	add(it, "state_not_canceled", sub(icSubActive), strictOnly(icRefused("subscriptionNotResumable", field(it, "subscription"), "notResumable")))
	add(it, "state_one_time", sub(icSubOneTime), strictOnly(icRefused("subscriptionNotResumable", field(it, "subscription"), "notResumable")))

	it = connectd.IntentViewEsimInstallation
	add(it, "state_psim", sub(icSubPSIM), strictOnly(icRefused("subscriptionNotEsim", field(it, "subscription"), "notEsim")))
	add(it, "state_no_sim", sub(icSubPending), strictOnly(icRefused("subscriptionNotEsim", field(it, "subscription"), "notEsim")))

	it = connectd.IntentCheckoutAddon
	addons := func(s string, a ...any) obj { return obj{"subscription": s, "addons": a} }
	add(it, "valid", addons(icSubActive, icAddon), both(icOK))
	add(it, "not_found_subscription", addons(icMissingSub, icAddon), both(icRefused("subscriptionNotFound", field(it, "subscription"), "notFound")))
	add(it, "not_found_addon", addons(icSubActive, icMissingAddon), both(icRefused("addonNotFound", field(it, "addons[0]"), "notFound")))
	add(it, "another_users", addons(icSubElaine, icAddon), both(icRefused("subscriptionNotOwned", field(it, "subscription"), "notOwned")))
	add(it, "state_not_active", addons(icSubPending, icAddon), strictOnly(icRefused("subscriptionNotActive", field(it, "subscription"), "notActive")))
	add(it, "state_addon_archived", addons(icSubActive, icAddonArchived), strictOnly(icRefused("addonNotActive", field(it, "addons[0]"), "notActive")))
	add(it, "addon_for_another_plan", addons(icSubActive, icAddon, icAddonOther), both(icRefused("addonNotAvailable", field(it, "addons[1]"), "notAvailableForPlan")))

	it = connectd.IntentCheckoutNewSubscription
	checkout := func(kv ...any) obj {
		o := obj{"plan": icPlan}
		for i := 0; i < len(kv); i += 2 {
			o[kv[i].(string)] = kv[i+1]
		}
		return o
	}
	add(it, "valid", checkout("sim", icESIMFree, "device", icDevJerry, "imei", validIMEI, "addons", []any{icAddon}), both(icOK))
	add(it, "valid_plan_only", checkout(), both(icOK))
	add(it, "valid_nobodys_device", checkout("device", icDevShop), both(icOK))
	add(it, "not_found_plan", obj{"plan": icMissingPlan}, both(icRefused("planNotFound", field(it, "plan"), "notFound")))
	add(it, "not_found_sim", checkout("sim", icMissingSIM), both(icRefused("simNotFound", field(it, "sim"), "notFound")))
	add(it, "not_found_device", checkout("device", icMissingDev), both(icRefused("deviceNotFound", field(it, "device"), "notFound")))
	add(it, "not_found_addon", checkout("addons", []any{icMissingAddon}), both(icRefused("addonNotFound", field(it, "addons[0]"), "notFound")))
	add(it, "another_users_device", checkout("device", icDevElaine), both(icRefused("deviceNotOwned", field(it, "device"), "notOwned")))
	add(it, "state_plan_archived", obj{"plan": icPlanArchived}, strictOnly(icRefused("planNotActive", field(it, "plan"), "notActive")))
	add(it, "state_sim_assigned", checkout("sim", icESIMUsed), strictOnly(icRefused("simNotAvailable", field(it, "sim"), "notAvailable")))
	add(it, "state_addon_archived", checkout("addons", []any{icAddonArchived}), strictOnly(icRefused("addonNotActive", field(it, "addons[0]"), "notActive")))
	add(it, "addon_for_another_plan", checkout("addons", []any{icAddonOther}), both(icRefused("addonNotAvailable", field(it, "addons[0]"), "notAvailableForPlan")))
	add(it, "sim_auto", checkout("sim", "auto"), both(icRefused("validationFailed", field(it, "sim"), "autoNotSupported")))
	add(it, "imei_luhn", checkout("imei", "490154203237519"), both(icRefused("validationFailed", field(it, "imei"), "invalidImei")))

	it = connectd.IntentConfirmPayment
	f := field(it, "payment")
	add(it, "valid", obj{"payment": icPayConfirm}, both(icOK))
	add(it, "not_found", obj{"payment": icMissingPay}, both(icRefused("paymentNotFound", f, "notFound")))
	add(it, "another_users", obj{"payment": icPayElaine}, both(icRefused("paymentNotOwned", f, "notOwned")))
	// Not a strict-only check: a payment that needs no confirmation
	// cannot be confirmed in any mode.
	add(it, "state_succeeded", obj{"payment": icPaySettled}, both(icRefused("paymentNotConfirmable", f, "notConfirmable")))

	for _, it := range []connectd.IntentType{connectd.IntentUpdatePaymentMethod, connectd.IntentUpdateUserAddress,
		connectd.IntentUpdateUserFullName, connectd.IntentViewSubscriptions} {
		add(it, "valid", nil, both(icOK))
	}
	return cases
}

func icBody(it connectd.IntentType, payload obj, user any) obj {
	in := obj{"type": string(it)}
	if payload != nil {
		in[string(it)] = payload
	}
	b := obj{"callbackUrl": "https://example.com/done", "intent": in}
	if user != nil {
		b["user"] = user
	}
	return b
}

func TestIntentChecksMatrix(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		e := newICEnv(t, b)
		cases := icCases()

		covered := map[connectd.IntentType]bool{}
		for _, c := range cases {
			covered[c.intent] = true
		}
		for _, it := range connectd.IntentTypes {
			if !covered[it] {
				t.Errorf("intent %s has no row in the matrix", it)
			}
		}

		for _, mode := range []string{"strict", "lenient"} {
			t.Run(mode, func(t *testing.T) {
				for _, c := range cases {
					t.Run(string(c.intent)+"/"+c.check, func(t *testing.T) {
						project, want := mode, c.strict
						if mode == "lenient" {
							want = c.lenient
						}
						if c.bare {
							project += "-bare"
						}
						want.check(t, e.do(http.MethodPost, project, "", icBody(c.intent, c.payload, icJerry)))
					})
				}
			})
		}

		t.Run("billing", func(t *testing.T) {
			for _, c := range cases {
				if c.check != "valid" {
					continue
				}
				t.Run(string(c.intent), func(t *testing.T) {
					want := icRefused("intentNotAvailable", "intent.type", "notAvailable")
					if c.intent == connectd.IntentCompletePorting || c.intent == connectd.IntentViewEsimInstallation {
						want = icOK
					}
					want.check(t, e.do(http.MethodPost, "billing", "", icBody(c.intent, c.payload, icJerry)))
				})
			}
		})
	})
}

// TestIntentChecksOwnershipOnAssociation: a session made without a user
// skips ownership until a user is associated; the PATCH that associates
// one runs it, and a userDetails session (a user who owns nothing yet)
// cannot reference owned resources.
func TestIntentChecksOwnershipOnAssociation(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		e := newICEnv(t, b)
		for _, mode := range []string{"strict", "lenient"} {
			t.Run(mode, func(t *testing.T) {
				create := func(t *testing.T, it connectd.IntentType, payload obj) string {
					t.Helper()
					r := e.do(http.MethodPost, mode, "", icBody(it, payload, nil))
					icOK.check(t, r)
					return r.JSON(t)["id"].(string)
				}
				f := "intent.cancelSubscription.subscription"

				t.Run("patch_user_with_another_users_subscription", func(t *testing.T) {
					id := create(t, connectd.IntentCancelSubscription, obj{"subscription": icSubElaine})
					r := e.do(http.MethodPatch, mode, "/"+id, obj{"user": icJerry})
					icRefused("subscriptionNotOwned", f, "notOwned").check(t, r)
					// Still open and without a user: the owner may take it.
					r = e.do(http.MethodPatch, mode, "/"+id, obj{"user": icElaine})
					if r.Status != http.StatusOK {
						t.Fatalf("PATCH the owner: %d %s", r.Status, r.Body)
					}
					if r.JSON(t)["user"] != icElaine {
						t.Errorf("user = %v, want %s", r.JSON(t)["user"], icElaine)
					}
				})
				t.Run("patch_user_with_another_users_payment", func(t *testing.T) {
					id := create(t, connectd.IntentConfirmPayment, obj{"payment": icPayElaine})
					icRefused("paymentNotOwned", "intent.confirmPayment.payment", "notOwned").
						check(t, e.do(http.MethodPatch, mode, "/"+id, obj{"user": icJerry}))
				})
				t.Run("patch_user_with_another_users_device", func(t *testing.T) {
					id := create(t, connectd.IntentCheckoutNewSubscription, obj{"plan": icPlan, "device": icDevElaine})
					icRefused("deviceNotOwned", "intent.checkoutNewSubscription.device", "notOwned").
						check(t, e.do(http.MethodPatch, mode, "/"+id, obj{"user": icJerry}))
				})
				t.Run("patch_user_details_with_an_owned_subscription", func(t *testing.T) {
					id := create(t, connectd.IntentCancelSubscription, obj{"subscription": icSubActive})
					icRefused("subscriptionNotOwned", f, "notOwned").
						check(t, e.do(http.MethodPatch, mode, "/"+id, obj{"userDetails": obj{"email": "newman@example.com"}}))
				})
				t.Run("user_details_with_an_owned_subscription", func(t *testing.T) {
					body := icBody(connectd.IntentCancelSubscription, obj{"subscription": icSubActive}, nil)
					body["userDetails"] = obj{"email": "newman@example.com"}
					icRefused("subscriptionNotOwned", f, "notOwned").check(t, e.do(http.MethodPost, mode, "", body))
				})
				t.Run("user_details_with_an_owned_device", func(t *testing.T) {
					body := icBody(connectd.IntentCheckoutNewSubscription, obj{"plan": icPlan, "device": icDevJerry}, nil)
					body["userDetails"] = obj{"email": "newman@example.com"}
					icRefused("deviceNotOwned", "intent.checkoutNewSubscription.device", "notOwned").check(t, e.do(http.MethodPost, mode, "", body))
				})
				t.Run("user_details_with_unowned_resources", func(t *testing.T) {
					body := icBody(connectd.IntentCheckoutNewSubscription, obj{"plan": icPlan, "sim": icESIMFree, "device": icDevShop, "addons": []any{icAddon}}, nil)
					body["userDetails"] = obj{"email": "newman@example.com"}
					icOK.check(t, e.do(http.MethodPost, mode, "", body))
				})
			})
		}
	})
}
