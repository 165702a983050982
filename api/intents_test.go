package api_test

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/apitest"
)

// payloadFor returns a valid payload of intent t, with every field it can
// take.
func payloadFor(t connectd.IntentType) obj {
	switch t {
	case connectd.IntentCheckoutAddon:
		return obj{"subscription": subID, "addons": []any{addID, add2ID}}
	case connectd.IntentCheckoutNewSubscription:
		return obj{"plan": plnID, "sim": simID, "device": devID, "imei": validIMEI, "addons": []any{addID}}
	case connectd.IntentConfirmPayment:
		return obj{"payment": payID}
	case connectd.IntentResumeSubscription:
		return obj{"subscription": subEndedID}
	}
	return obj{"subscription": subID}
}

// seedSubscription creates an active subscription of user with the given ID.
func seedSubscription(t *testing.T, e *apitest.Env, id, user string) {
	t.Helper()
	err := e.Service.Platform.Subscriptions().Create(context.Background(), e.Project, &connectd.Subscription{ID: id, User: user,
		Plan: plnID, Status: connectd.SubscriptionActive, Recurring: true, CreatedAt: time.Now().UTC().Truncate(time.Millisecond)})
	if err != nil {
		t.Fatalf("seed subscription %s: %v", id, err)
	}
}

// seedAddon creates an active add-on for plnID.
func seedAddon(t *testing.T, e *apitest.Env, id string) {
	t.Helper()
	err := e.Service.Platform.Addons().Create(context.Background(), e.Project, &connectd.Addon{ID: id, Name: id, Status: connectd.PlanActive,
		Price: connectd.Price{Amount: 100, Currency: "USD"}, Plans: []string{plnID}, CreatedAt: time.Now().UTC().Truncate(time.Millisecond)})
	if err != nil {
		t.Fatalf("seed add-on %s: %v", id, err)
	}
}

func intentBody(typ string, payload any) obj {
	in := obj{"type": typ}
	if payload != nil {
		in[typ] = payload
	}
	return obj{"intent": in}
}

func TestIntents(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apitest.Env) {
		user := seedJerry(t, e)

		t.Run("all_13_payload_shapes_are_accepted_and_echoed", func(t *testing.T) {
			if len(connectd.IntentTypes) != 13 {
				t.Fatalf("%d intents, want 13", len(connectd.IntentTypes))
			}
			for _, it := range connectd.IntentTypes {
				t.Run(string(it), func(t *testing.T) {
					in := obj{"type": string(it)}
					if it.HasPayload() {
						in[string(it)] = payloadFor(it)
					}
					s := createSession(t, e, obj{"intent": in, "user": user})
					checkSessionShape(t, s)
					if jsonString(s["intent"]) != jsonString(in) {
						t.Errorf("intent = %s, want %s", jsonString(s["intent"]), jsonString(in))
					}
					g := wantStatus(t, e.Get("/connectSessions/"+s["id"].(string)), http.StatusOK)
					if jsonString(g["intent"]) != jsonString(in) {
						t.Errorf("GET intent = %s, want %s", jsonString(g["intent"]), jsonString(in))
					}
				})
			}
		})

		t.Run("checkoutNewSubscription_optional_fields_stay_absent", func(t *testing.T) {
			s := createSession(t, e, intentBody("checkoutNewSubscription", obj{"plan": plnID}))
			if got := jsonString(s["intent"]); got != `{"checkoutNewSubscription":{"plan":"`+plnID+`"},"type":"checkoutNewSubscription"}` {
				t.Errorf("intent = %s", got)
			}
		})

		t.Run("id_format_is_checked_per_field", func(t *testing.T) {
			cases := []struct {
				typ, field string
				payload    obj
			}{
				{"cancelSubscription", "subscription", obj{"subscription": plnID}},
				{"changeSubscription", "subscription", obj{"subscription": "sub"}},
				{"checkoutAddon", "subscription", obj{"subscription": "sub_", "addons": []any{addID}}},
				{"checkoutAddon", "addons[0]", obj{"subscription": subID, "addons": []any{subID}}},
				{"checkoutNewSubscription", "plan", obj{"plan": subID}},
				{"checkoutNewSubscription", "sim", obj{"plan": plnID, "sim": devID}},
				{"checkoutNewSubscription", "device", obj{"plan": plnID, "device": simID}},
				{"checkoutNewSubscription", "addons[1]", obj{"plan": plnID, "addons": []any{addID, "add_x-y"}}},
				{"completePorting", "subscription", obj{"subscription": "SUB_0U32VAxJ0Z7P8Y40mBAnOP9LPhEr"}},
				{"confirmPayment", "payment", obj{"payment": "pmt_0U32VAxJ0Z7P8Y40mBAnOP9LPhEr"}},
				{"resumeSubscription", "subscription", obj{"subscription": "sub_0U32VAxJ0Z7P8Y40mBAnOP9LPhE!"}},
				{"viewEsimInstallation", "subscription", obj{"subscription": " sub_0U32VAxJ0Z7P8Y40mBAnOP9LPhEr"}},
				{"viewSubscription", "subscription", obj{"subscription": ""}},
			}
			for _, c := range cases {
				t.Run(c.typ+"."+c.field, func(t *testing.T) {
					want422(t, e.Post("/connectSessions", intentBody(c.typ, c.payload)), detail{"intent." + c.typ + "." + c.field, "invalidId"})
				})
			}
		})

		t.Run("ids_of_other_lengths_up_to_64_are_accepted", func(t *testing.T) {
			for _, id := range []string{"sub_A", "sub_" + strings.Repeat("a", 29), "sub_" + strings.Repeat("Z", 60)} {
				if len(id) > 64 {
					t.Fatalf("bad test id %d", len(id))
				}
				seedSubscription(t, e, id, user)
				s := createSession(t, e, intentBody("viewSubscription", obj{"subscription": id}))
				if got := s["intent"].(map[string]any)["viewSubscription"].(map[string]any)["subscription"]; got != id {
					t.Errorf("subscription = %v, want %s", got, id)
				}
			}
			// The seed's 29-character payment ID.
			createSession(t, e, intentBody("confirmPayment", obj{"payment": payID}))
		})

		t.Run("ids_longer_than_64_are_refused", func(t *testing.T) {
			for _, n := range []int{61, 100, 1000} {
				id := "sub_" + strings.Repeat("a", n) // 65 characters and more
				want422(t, e.Post("/connectSessions", intentBody("viewSubscription", obj{"subscription": id})),
					detail{"intent.viewSubscription.subscription", "invalidId"})
			}
			long := "add_" + strings.Repeat("b", 61)
			want422(t, e.Post("/connectSessions", intentBody("checkoutAddon", obj{"subscription": subID, "addons": []any{addID, long}})),
				detail{"intent.checkoutAddon.addons[1]", "invalidId"})
		})

		t.Run("imei", func(t *testing.T) {
			good := []string{validIMEI, "352099001761481", "000000000000000"}
			for _, imei := range good {
				createSession(t, e, intentBody("checkoutNewSubscription", obj{"plan": plnID, "imei": imei}))
			}
			bad := []string{
				"490154203237517",  // bad Luhn digit
				"490154203237519",  // bad Luhn digit
				"49015420323751",   // 14 digits
				"4901542032375180", // 16 digits
				"49015420323751a",  // not a digit
				"4901 5420323751",  // space
				"-49015420323751",  // sign
				"４９０１５４２０３２３７５１８", // full-width digits
				"",
			}
			for _, imei := range bad {
				want422(t, e.Post("/connectSessions", intentBody("checkoutNewSubscription", obj{"plan": plnID, "imei": imei})),
					detail{"intent.checkoutNewSubscription.imei", "invalidImei"})
			}
			want422(t, e.Post("/connectSessions", intentBody("checkoutNewSubscription", obj{"plan": plnID, "imei": 490154203237518})),
				detail{"intent.checkoutNewSubscription.imei", "invalidType"})
		})

		t.Run("sim_auto_is_refused_with_an_explanation", func(t *testing.T) {
			for _, v := range []string{"auto", "AUTO", "Auto"} {
				r := e.Post("/connectSessions", intentBody("checkoutNewSubscription", obj{"plan": plnID, "sim": v}))
				m := want422(t, r, detail{"intent.checkoutNewSubscription.sim", "autoNotSupported"})
				d := m["details"].([]any)[0].(map[string]any)
				msg := d["message"].(string)
				if !strings.Contains(msg, "auto") || !strings.Contains(msg, "SIM") {
					t.Errorf("message does not explain: %q", msg)
				}
				if top := m["message"].(string); !strings.Contains(top, "auto") {
					t.Errorf("top-level message does not explain: %q", top)
				}
			}
		})

		t.Run("addons", func(t *testing.T) {
			many := func(n int) []any {
				out := make([]any, n)
				for i := range out {
					out[i] = fmt.Sprintf("add_%028d", i)
				}
				return out
			}
			cases := []struct {
				name    string
				payload obj
				want    []detail
			}{
				{"checkoutAddon_requires_addons", obj{"subscription": subID}, []detail{{"intent.checkoutAddon.addons", "required"}}},
				{"checkoutAddon_null_addons_is_absent", obj{"subscription": subID, "addons": nil}, []detail{{"intent.checkoutAddon.addons", "required"}}},
				{"empty_array_refused", obj{"subscription": subID, "addons": []any{}}, []detail{{"intent.checkoutAddon.addons", "empty"}}},
				{"non_string_elements_named_by_index", obj{"subscription": subID, "addons": []any{addID, 7, nil, obj{}}},
					[]detail{{"intent.checkoutAddon.addons[1]", "invalidType"}, {"intent.checkoutAddon.addons[2]", "invalidType"}, {"intent.checkoutAddon.addons[3]", "invalidType"}}},
				{"not_an_array", obj{"subscription": subID, "addons": addID}, []detail{{"intent.checkoutAddon.addons", "invalidType"}}},
				{"duplicates_refused", obj{"subscription": subID, "addons": []any{addID, add2ID, addID}}, []detail{{"intent.checkoutAddon.addons[2]", "duplicate"}}},
				{"more_than_20_refused", obj{"subscription": subID, "addons": many(21)}, []detail{{"intent.checkoutAddon.addons", "tooMany"}}},
				{"20_accepted", obj{"subscription": subID, "addons": many(20)}, nil},
			}
			for _, a := range many(20) {
				seedAddon(t, e, a.(string))
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					r := e.Post("/connectSessions", intentBody("checkoutAddon", c.payload))
					if c.want == nil {
						s := wantStatus(t, r, http.StatusCreated)
						got := s["intent"].(map[string]any)["checkoutAddon"].(map[string]any)["addons"]
						if !reflect.DeepEqual(got, c.payload["addons"]) {
							t.Errorf("addons = %v", got)
						}
						return
					}
					want422(t, r, c.want...)
				})
			}
			// The same rules on checkoutNewSubscription, where addons are optional.
			want422(t, e.Post("/connectSessions", intentBody("checkoutNewSubscription", obj{"plan": plnID, "addons": many(21)})),
				detail{"intent.checkoutNewSubscription.addons", "tooMany"})
			want422(t, e.Post("/connectSessions", intentBody("checkoutNewSubscription", obj{"plan": plnID, "addons": []any{addID, addID}})),
				detail{"intent.checkoutNewSubscription.addons[1]", "duplicate"})
		})

		t.Run("payload_object_missing_is_required", func(t *testing.T) {
			for _, it := range connectd.IntentTypes {
				if !it.HasPayload() {
					continue
				}
				want422(t, e.Post("/connectSessions", intentBody(string(it), nil)), detail{"intent." + string(it), "required"})
			}
		})

		t.Run("required_payload_fields", func(t *testing.T) {
			cases := map[string]string{
				"cancelSubscription": "subscription", "checkoutAddon": "subscription", "checkoutNewSubscription": "plan",
				"confirmPayment": "payment", "viewSubscription": "subscription",
			}
			for typ, field := range cases {
				want422(t, e.Post("/connectSessions", intentBody(typ, obj{})), detail{"intent." + typ + "." + field, "required"})
			}
		})

		t.Run("payload_of_a_different_intent_is_an_unknown_field", func(t *testing.T) {
			r := e.Post("/connectSessions", obj{"intent": obj{"type": "changeSubscription", "cancelSubscription": obj{"subscription": subID}}})
			want422(t, r, detail{"intent.cancelSubscription", "unknownField"}, detail{"intent.changeSubscription", "required"})
			r = e.Post("/connectSessions", obj{"intent": obj{"type": "changeSubscription",
				"changeSubscription": obj{"subscription": subID}, "cancelSubscription": obj{"subscription": subID}}})
			want422(t, r, detail{"intent.cancelSubscription", "unknownField"})
		})

		t.Run("unknown_field_inside_payload_is_named_by_path", func(t *testing.T) {
			r := e.Post("/connectSessions", intentBody("cancelSubscription", obj{"subscriptio": subID}))
			want422(t, r, detail{"intent.cancelSubscription.subscriptio", "unknownField"}, detail{"intent.cancelSubscription.subscription", "required"})
			r = e.Post("/connectSessions", intentBody("checkoutNewSubscription", obj{"plan": plnID, "esim": true}))
			want422(t, r, detail{"intent.checkoutNewSubscription.esim", "unknownField"})
			r = e.Post("/connectSessions", obj{"intent": obj{"type": "viewSubscriptions", "mode": "x"}})
			want422(t, r, detail{"intent.mode", "unknownField"})
		})

		t.Run("invalid_type_is_invalidIntent", func(t *testing.T) {
			for _, typ := range []string{"deleteEverything", "CancelSubscription", "", "cancelsubscription"} {
				want422(t, e.Post("/connectSessions", obj{"intent": obj{"type": typ}}), detail{"intent.type", "invalidIntent"})
			}
			want422(t, e.Post("/connectSessions", obj{"intent": obj{"type": 3}}), detail{"intent.type", "invalidType"})
			want422(t, e.Post("/connectSessions", obj{"intent": obj{}}), detail{"intent.type", "required"})
			want422(t, e.Post("/connectSessions", obj{"intent": "cancelSubscription"}), detail{"intent", "invalidType"})
		})

		t.Run("payload_less_intents_reject_a_payload_object", func(t *testing.T) {
			for _, it := range connectd.IntentTypes {
				if it.HasPayload() {
					continue
				}
				for _, payload := range []any{obj{}, obj{"subscription": subID}, "x"} {
					want422(t, e.Post("/connectSessions", intentBody(string(it), payload)), detail{"intent." + string(it), "unknownField"})
				}
			}
		})

		t.Run("payload_must_be_an_object", func(t *testing.T) {
			want422(t, e.Post("/connectSessions", intentBody("cancelSubscription", subID)), detail{"intent.cancelSubscription", "invalidType"})
			want422(t, e.Post("/connectSessions", intentBody("cancelSubscription", []any{subID})), detail{"intent.cancelSubscription", "invalidType"})
		})

		t.Run("referenced_resources_must_exist", func(t *testing.T) {
			const missingSub = "sub_0000000000000000000000000000"
			r := e.Post("/connectSessions", obj{"intent": obj{"type": "cancelSubscription", "cancelSubscription": obj{"subscription": missingSub}}, "user": user})
			wantError(t, r, http.StatusUnprocessableEntity, "unprocessableEntity", "subscriptionNotFound",
				detail{"intent.cancelSubscription.subscription", "notFound"})
			// Every missing reference is listed at once.
			r = e.Post("/connectSessions", intentBody("checkoutNewSubscription", obj{"plan": "pln_0000000000000000000000000000",
				"sim": "sim_0000000000000000000000000000", "addons": []any{addID, "add_ZZZZZZZZZZZZZZZZZZZZZZZZZZZZ"}}))
			want422(t, r, detail{"intent.checkoutNewSubscription.plan", "notFound"}, detail{"intent.checkoutNewSubscription.sim", "notFound"},
				detail{"intent.checkoutNewSubscription.addons[1]", "notFound"})
			r = e.Post("/connectSessions", intentBody("confirmPayment", obj{"payment": "pay_0000000000000000000000000000"}))
			want422(t, r, detail{"intent.confirmPayment.payment", "notFound"})
		})

		t.Run("resources_of_another_user_are_refused", func(t *testing.T) {
			george := e.CreateUser("george@example.com")
			for _, it := range []connectd.IntentType{connectd.IntentCancelSubscription, connectd.IntentViewSubscription, connectd.IntentConfirmPayment} {
				r := e.Post("/connectSessions", obj{"intent": obj{"type": string(it), string(it): payloadFor(it)}, "user": george})
				want422(t, r, detail{"intent." + string(it) + "." + payloadField(it), "notOwned"})
			}
			// A session for new userDetails owns nothing yet.
			r := e.Post("/connectSessions", obj{"intent": cancelIntent(), "userDetails": obj{"email": "new@example.com"}})
			want422(t, r, detail{"intent.cancelSubscription.subscription", "notOwned"})
			// An unauthenticated session is checked after login; a PATCH that
			// associates another user is refused the same way.
			s := createSession(t, e, obj{"intent": cancelIntent()})
			want422(t, e.Patch("/connectSessions/"+s["id"].(string), obj{"user": george}), detail{"intent.cancelSubscription.subscription", "notOwned"})
			wantStatus(t, e.Patch("/connectSessions/"+s["id"].(string), obj{"user": user}), http.StatusOK)
		})

		t.Run("strict_mode_refuses_states_the_intent_cannot_act_on", func(t *testing.T) {
			r := e.Post("/connectSessions", obj{"intent": obj{"type": "cancelSubscription", "cancelSubscription": obj{"subscription": subEndedID}}, "user": user})
			wantError(t, r, http.StatusUnprocessableEntity, "unprocessableEntity", "subscriptionNotCancelable", detail{"intent.cancelSubscription.subscription", "notCancelable"})
			r = e.Post("/connectSessions", obj{"intent": obj{"type": "resumeSubscription", "resumeSubscription": obj{"subscription": subID}}, "user": user})
			wantError(t, r, http.StatusUnprocessableEntity, "unprocessableEntity", "subscriptionNotResumable", detail{"intent.resumeSubscription.subscription", "notResumable"})
			r = e.Post("/connectSessions", obj{"intent": obj{"type": "checkoutNewSubscription", "checkoutNewSubscription": obj{"plan": plnID, "sim": esimID}}, "user": user})
			want422(t, r, detail{"intent.checkoutNewSubscription.sim", "notAvailable"})
		})
	})
}

// payloadField is the ID field of a one-field payload.
func payloadField(t connectd.IntentType) string {
	if t == connectd.IntentConfirmPayment {
		return "payment"
	}
	return "subscription"
}

func TestIntentsLenientMode(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		s := connectd.DefaultProjectSettings()
		s.IntentValidation = connectd.IntentValidationLenient
		e := apitest.New(t, apitest.Options{Backend: b, Settings: &s})
		user := seedJerry(t, e)
		// States are not checked, as by the documented service...
		createSession(t, e, obj{"intent": obj{"type": "cancelSubscription", "cancelSubscription": obj{"subscription": subEndedID}}, "user": user})
		createSession(t, e, obj{"intent": obj{"type": "resumeSubscription", "resumeSubscription": obj{"subscription": subID}}, "user": user})
		// ...but existence and ownership are.
		r := e.Post("/connectSessions", obj{"intent": obj{"type": "viewSubscription", "viewSubscription": obj{"subscription": "sub_0000000000000000000000000000"}}, "user": user})
		want422(t, r, detail{"intent.viewSubscription.subscription", "notFound"})
		george := e.CreateUser("george@example.com")
		r = e.Post("/connectSessions", obj{"intent": cancelIntent(), "user": george})
		want422(t, r, detail{"intent.cancelSubscription.subscription", "notOwned"})
	})
}
