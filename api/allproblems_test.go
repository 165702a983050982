package api_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/connectd/connectd/internal/apitest"
)

// Issue 11.10: shape, reference and state problems in one answer, in the
// documented order (shape problems in the order of the body's fields, then
// reference and state problems in check order); a reference whose own
// shape is wrong is reported for its shape only.

type apCase struct {
	name   string
	method string
	path   string // under /projects/{project}
	body   obj
	want   []detail // exactly, in order
}

func runAllProblems(t *testing.T, do func(method, path string, body any) *apitest.Response, cases []apCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := wantError(t, do(c.method, c.path, c.body), http.StatusUnprocessableEntity, "unprocessableEntity", "validationFailed")
			if got := detailsOf(t, m); !slices.Equal(got, c.want) {
				t.Errorf("details = %v, want exactly %v", got, c.want)
			}
		})
	}
}

func TestAllProblemsSessions(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		e := newICEnv(t, b)
		do := func(method, path string, body any) *apitest.Response { return e.do(method, "strict", path, body) }
		// An open session without a user, to PATCH.
		r := do(http.MethodPost, "", obj{"intent": obj{"type": "cancelSubscription", "cancelSubscription": obj{"subscription": icSubActive}}})
		open := wantStatus(t, r, http.StatusCreated)["id"].(string)
		const bad = "javascript:alert(1)"
		cancel := func(sub string) obj {
			return obj{"type": "cancelSubscription", "cancelSubscription": obj{"subscription": sub}}
		}
		runAllProblems(t, do, []apCase{
			{"bad callbackUrl and unknown subscription", http.MethodPost, "",
				obj{"callbackUrl": bad, "intent": cancel(icMissingSub)},
				[]detail{{"callbackUrl", "forbiddenScheme"}, {"intent.cancelSubscription.subscription", "notFound"}}},
			{"bad callbackUrl and strict-mode state", http.MethodPost, "",
				obj{"callbackUrl": bad, "intent": cancel(icSubCanceled), "user": icJerry},
				[]detail{{"callbackUrl", "forbiddenScheme"}, {"intent.cancelSubscription.subscription", "notCancelable"}}},
			{"reference with a bad shape: its shape only", http.MethodPost, "",
				obj{"callbackUrl": bad, "intent": cancel("sub_")},
				[]detail{{"callbackUrl", "forbiddenScheme"}, {"intent.cancelSubscription.subscription", "invalidId"}}},
			{"bad theme and another's subscription", http.MethodPost, "",
				obj{"intent": cancel(icSubElaine), "user": icJerry, "appearance": obj{"theme": "neon"}},
				[]detail{{"appearance.theme", "invalid"}, {"intent.cancelSubscription.subscription", "notOwned"}}},
			{"two reference checks, shape right", http.MethodPost, "",
				obj{"intent": cancel(icMissingSub), "user": "usr_0ICNobody00000000000000000001"},
				[]detail{{"user", "notFound"}, {"intent.cancelSubscription.subscription", "notFound"}}},
			{"checkout: shape and references", http.MethodPost, "",
				obj{"intent": obj{"type": "checkoutNewSubscription", "checkoutNewSubscription": obj{
					"plan": icMissingPlan, "sim": "sim_", "addons": []any{icMissingAddon}}}, "appearance": obj{"theme": "neon"}},
				[]detail{{"intent.checkoutNewSubscription.sim", "invalidId"}, {"appearance.theme", "invalid"},
					{"intent.checkoutNewSubscription.plan", "notFound"}, {"intent.checkoutNewSubscription.addons[0]", "notFound"}}},
			{"PATCH: bad callbackUrl and another's subscription", http.MethodPatch, "/" + open,
				obj{"callbackUrl": bad, "user": icElaine},
				[]detail{{"callbackUrl", "forbiddenScheme"}, {"intent.cancelSubscription.subscription", "notOwned"}}},
			{"PATCH: bad callbackUrl and unknown user", http.MethodPatch, "/" + open,
				obj{"callbackUrl": bad, "user": "usr_0ICNobody00000000000000000001"},
				[]detail{{"callbackUrl", "forbiddenScheme"}, {"user", "notFound"}, {"intent.cancelSubscription.subscription", "notOwned"}}},
		})
	})
}

func TestAllProblemsResources(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		e := rsEnv(t, b)
		w := rsSetup(t, e)
		const nobody, noPlan = "usr_0APNobody00000000000000000001", "pln_0APNoPlan00000000000000000001"
		do := func(method, path string, body any) *apitest.Response {
			return e.Do(apitest.Request{Method: method, Path: "/projects/" + e.Project + path, Body: body})
		}
		runAllProblems(t, do, []apCase{
			{"create: shape and references", http.MethodPost, "/subscriptions",
				obj{"user": nobody, "plan": noPlan, "phoneNumber": "0044123456"},
				[]detail{{"phoneNumber", "invalidPhoneNumber"}, {"user", "notFound"}, {"plan", "notFound"}}},
			{"create: a reference with a bad shape", http.MethodPost, "/subscriptions",
				obj{"user": nobody, "plan": "pln_"},
				[]detail{{"plan", "invalidId"}, {"user", "notFound"}}},
			{"create: another's device", http.MethodPost, "/subscriptions",
				obj{"user": w.userB, "plan": w.plan, "device": w.device, "status": "paused"},
				[]detail{{"status", "invalid"}, {"device", "notOwned"}}},
			{"PATCH: shape and reference", http.MethodPatch, "/subscriptions/" + w.sub,
				obj{"plan": noPlan, "phoneNumber": "0044123456"},
				[]detail{{"phoneNumber", "invalidPhoneNumber"}, {"plan", "notFound"}}},
			{"payment: shape and another's payment method", http.MethodPost, "/payments",
				obj{"user": w.userB, "paymentMethod": w.pm, "amount": "10", "currency": "USD"},
				[]detail{{"amount", "invalidType"}, {"paymentMethod", "notOwned"}}},
		})
	})
}
