package api_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/connectd/connectd/internal/apitest"
)

// Tests of the platform resources' REST API, over real HTTP.

// rsEnv starts a server on backend b that keeps platform resources.
func rsEnv(t *testing.T, b apitest.Backend) *apitest.Env {
	t.Helper()
	e := apitest.New(t, apitest.Options{Backend: b})
	if e.Service.Platform == nil {
		t.Fatalf("%s store keeps no platform resources", b)
	}
	return e
}

// rsCreate posts body to a resource collection and requires a 201.
func rsCreate(t *testing.T, e *apitest.Env, path string, body any) obj {
	t.Helper()
	r := e.Post(path, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("POST %s: %d %s", path, r.Status, r.Body)
	}
	return r.JSON(t)
}

// rsWorld is a set of resources created through the API.
type rsWorld struct {
	userA, userB                                        string
	plan, addon, sim, device, sub, pm, payment, porting string
	subB                                                string
}

const (
	rsICCID          = "8988247000101234567"
	rsActivationCode = "LPA:1$smdp.example.com$K2-1ABCD-EFGH"
	rsPhone          = "+14155550123"
	rsPin            = "8231-secret-pin"
)

func rsPlanBody() obj {
	return obj{"name": "Unlimited 5G", "description": "All you can eat", "status": "active",
		"price":        obj{"amount": 2999, "currency": "USD"},
		"validity":     obj{"type": "recurring"},
		"allowances":   obj{"dataBytes": nil, "voiceSeconds": 60000, "smsMessages": 1000},
		"requirements": obj{"fullName": true, "address": false}}
}

// rsSetup creates two users and one resource of every kind, user A's.
func rsSetup(t *testing.T, e *apitest.Env) *rsWorld {
	t.Helper()
	w := &rsWorld{userA: e.CreateUser("a@example.com"), userB: e.CreateUser("b@example.com")}
	w.plan = rsCreate(t, e, "/plans", rsPlanBody())["id"].(string)
	w.addon = rsCreate(t, e, "/addons", obj{"name": "10 GB", "status": "active", "price": obj{"amount": 500, "currency": "USD"},
		"allowances": obj{"dataBytes": 10_000_000_000}, "plans": []string{w.plan}})["id"].(string)
	w.sim = rsCreate(t, e, "/sims", obj{"type": "eSIM", "iccid": rsICCID, "activationCode": rsActivationCode})["id"].(string)
	w.device = rsCreate(t, e, "/devices", obj{"user": w.userA, "manufacturer": "Apple", "model": "iPhone 15",
		"esimCapable": true, "imei": validIMEI})["id"].(string)
	w.sub = rsCreate(t, e, "/subscriptions", obj{"user": w.userA, "plan": w.plan, "sim": w.sim, "device": w.device,
		"phoneNumber": rsPhone, "status": "active", "recurring": true,
		"currentPeriod": obj{"start": "2026-11-01T00:00:00Z", "end": "2026-12-01T00:00:00Z"}, "addons": []string{w.addon}})["id"].(string)
	w.subB = rsCreate(t, e, "/subscriptions", obj{"user": w.userB, "plan": w.plan})["id"].(string)
	w.pm = rsCreate(t, e, "/paymentMethods", obj{"user": w.userA, "type": "card",
		"card": obj{"brand": "visa", "last4": "4242", "expMonth": 12, "expYear": 2030}, "default": true})["id"].(string)
	w.payment = rsCreate(t, e, "/payments", obj{"user": w.userA, "subscription": w.sub, "paymentMethod": w.pm,
		"amount": 2999, "currency": "USD", "description": "November"})["id"].(string)
	w.porting = rsCreate(t, e, "/portings", obj{"subscription": w.sub, "phoneNumber": "+14155550199",
		"donorProvider": "Old Telco", "accountNumber": "12345678", "accountPin": rsPin})["id"].(string)
	return w
}

var rsCreatedAtRe = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)

// rsCheckShape checks the members every resource representation has.
func rsCheckShape(t *testing.T, kind, prefix string, m obj) {
	t.Helper()
	if m["object"] != kind {
		t.Errorf("object = %v, want %s: %v", m["object"], kind, m)
	}
	if id, _ := m["id"].(string); !regexp.MustCompile(`^` + prefix + `_[0-9A-Za-z]{28}$`).MatchString(id) {
		t.Errorf("id = %q, want %s_ + 28 base62 characters", id, prefix)
	}
	if ca, _ := m["createdAt"].(string); !rsCreatedAtRe.MatchString(ca) {
		t.Errorf("createdAt = %q, want RFC 3339 UTC to the second", ca)
	}
}

// rsWant checks that m holds the given members (compared as JSON).
func rsWant(t *testing.T, what string, m obj, want obj) {
	t.Helper()
	for k, v := range want {
		if jsonString(m[k]) != jsonString(v) {
			t.Errorf("%s: %s = %s, want %s", what, k, jsonString(m[k]), jsonString(v))
		}
	}
}

func TestResourceCRUD(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		e := rsEnv(t, b)
		userA := e.CreateUser("a@example.com")
		ids := map[string]string{}
		cases := []struct {
			kind, prefix, path string
			body               func() obj
			want               func() obj // members of the created object
			patch              func() obj
			patched            obj // members after the PATCH
		}{
			{"plan", "pln", "/plans", rsPlanBody,
				func() obj {
					return obj{"name": "Unlimited 5G", "description": "All you can eat", "status": "active", "price": obj{"amount": 2999, "currency": "USD"},
						"validity": obj{"type": "recurring"}, "allowances": obj{"dataBytes": nil, "voiceSeconds": 60000, "smsMessages": 1000},
						"requirements": obj{"fullName": true, "address": false}}
				},
				func() obj { return obj{"status": "archived", "price": obj{"amount": 1999, "currency": "EUR"}} },
				obj{"status": "archived", "price": obj{"amount": 1999, "currency": "EUR"}, "name": "Unlimited 5G"}},
			{"addon", "add", "/addons",
				func() obj {
					return obj{"object": "addon", "name": "10 GB", "price": obj{"amount": 500, "currency": "USD"}, "plans": []string{ids["plan"]}}
				},
				func() obj {
					return obj{"name": "10 GB", "status": "draft", "plans": []string{ids["plan"]},
						"allowances": obj{"dataBytes": nil, "voiceSeconds": nil, "smsMessages": nil}}
				},
				func() obj { return obj{"status": "active", "allowances": obj{"dataBytes": 10_000_000_000}} },
				obj{"status": "active", "allowances": obj{"dataBytes": 10_000_000_000, "voiceSeconds": nil, "smsMessages": nil}}},
			{"sim", "sim", "/sims",
				func() obj { return obj{"type": "eSIM", "iccid": rsICCID, "activationCode": rsActivationCode} },
				func() obj {
					return obj{"type": "eSIM", "iccid": rsICCID, "status": "available", "activationCode": rsActivationCode}
				},
				func() obj { return obj{"status": "assigned"} },
				obj{"status": "assigned", "iccid": rsICCID}},
			{"device", "dev", "/devices",
				func() obj {
					return obj{"user": userA, "manufacturer": "Google", "model": "Pixel 8", "esimCapable": true, "imei": validIMEI}
				},
				func() obj {
					return obj{"user": userA, "manufacturer": "Google", "model": "Pixel 8", "esimCapable": true, "imei": validIMEI}
				},
				func() obj { return obj{"model": "Pixel 8 Pro", "user": nil} },
				obj{"model": "Pixel 8 Pro", "user": userA}},
			{"subscription", "sub", "/subscriptions",
				func() obj {
					return obj{"user": userA, "plan": ids["plan"], "sim": ids["sim"], "device": ids["device"], "phoneNumber": rsPhone,
						"currentPeriod": obj{"start": "2026-11-01T00:00:00.250+01:00", "end": "2026-12-01T00:00:00Z"}, "addons": []string{ids["addon"]}}
				},
				func() obj {
					return obj{"user": userA, "plan": ids["plan"], "sim": ids["sim"], "device": ids["device"], "addons": []string{ids["addon"]},
						"status": "pending", "recurring": true, "phoneNumber": rsPhone, "endedAt": nil,
						"currentPeriod": obj{"start": "2026-10-31T23:00:00Z", "end": "2026-12-01T00:00:00Z"}}
				},
				func() obj { return obj{"status": "active", "endedAt": "2026-12-01T00:00:00Z", "recurring": true} },
				obj{"status": "active", "endedAt": "2026-12-01T00:00:00Z", "user": userA}},
			{"paymentMethod", "pmt", "/paymentMethods",
				func() obj {
					return obj{"user": userA, "type": "card", "card": obj{"brand": "mastercard", "last4": "4444", "expMonth": 3, "expYear": 2029}}
				},
				func() obj {
					return obj{"user": userA, "type": "card", "card": obj{"brand": "mastercard", "last4": "4444", "expMonth": 3, "expYear": 2029}, "default": false}
				},
				func() obj { return obj{"card": obj{"expYear": 2031}, "default": true} },
				obj{"card": obj{"brand": "mastercard", "last4": "4444", "expMonth": 3, "expYear": 2031}, "default": true}},
			{"payment", "pay", "/payments",
				func() obj {
					return obj{"user": userA, "subscription": ids["subscription"], "paymentMethod": ids["paymentMethod"], "amount": 2999, "currency": "USD"}
				},
				func() obj {
					return obj{"user": userA, "subscription": ids["subscription"], "paymentMethod": ids["paymentMethod"],
						"amount": 2999, "currency": "USD", "status": "requiresConfirmation", "description": nil}
				},
				func() obj { return obj{"status": "processing", "description": "December"} },
				obj{"status": "processing", "description": "December", "amount": 2999}},
			{"porting", "prt", "/portings",
				func() obj {
					return obj{"subscription": ids["subscription"], "phoneNumber": "+14155550199", "donorProvider": "Old Telco",
						"address": obj{"line1": "1 Main St", "city": "Springfield", "postalCode": "12345", "country": "US"}}
				},
				func() obj {
					return obj{"user": userA, "subscription": ids["subscription"], "status": "draft", "declinedCode": nil,
						"accountPinProvided": false, "donorProvider": "Old Telco", "accountNumber": nil,
						"address": obj{"line1": "1 Main St", "line2": nil, "city": "Springfield", "postalCode": "12345", "state": nil, "country": "US"}}
				},
				func() obj { return obj{"status": "declined", "declinedCode": "portingAccountPinRequiredOrInvalid"} },
				obj{"status": "declined", "declinedCode": "portingAccountPinRequiredOrInvalid", "user": userA}},
		}
		for _, c := range cases {
			created := rsCreate(t, e, c.path, c.body())
			rsCheckShape(t, c.kind, c.prefix, created)
			rsWant(t, "create "+c.kind, created, c.want())
			id := created["id"].(string)
			ids[c.kind] = id

			got := wantStatus(t, e.Get(c.path+"/"+id), http.StatusOK)
			if jsonString(got) != jsonString(created) {
				t.Errorf("GET %s = %s, want the created %s", c.kind, jsonString(got), jsonString(created))
			}

			list := wantStatus(t, e.Get(c.path), http.StatusOK)
			items, _ := list["items"].([]any)
			if list["object"] != "list" || len(items) == 0 || jsonString(items[0]) != jsonString(created) {
				t.Errorf("list %s = %s, want the new one first", c.kind, jsonString(list))
			}

			patched := wantStatus(t, e.Patch(c.path+"/"+id, c.patch()), http.StatusOK)
			rsCheckShape(t, c.kind, c.prefix, patched)
			rsWant(t, "patch "+c.kind, patched, c.patched)
			if patched["createdAt"] != created["createdAt"] || patched["id"] != id {
				t.Errorf("patch %s changed id or createdAt: %v", c.kind, patched)
			}
			if got := wantStatus(t, e.Get(c.path+"/"+id), http.StatusOK); jsonString(got) != jsonString(patched) {
				t.Errorf("GET after PATCH %s = %s, want %s", c.kind, jsonString(got), jsonString(patched))
			}
		}
	})
}

func TestResourceValidation(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		e := rsEnv(t, b)
		const usr = "usr_0U32VAxJ0Z7P8Y40mBAnOP9LPhEr"
		cases := []struct {
			name, path string
			body       any
			want       []detail
		}{
			{"plan empty", "/plans", obj{}, []detail{{"name", "required"}, {"price", "required"}}},
			{"plan fields", "/plans", obj{"name": strings.Repeat("n", 201), "status": "live", "price": obj{"amount": -1, "currency": "usd"},
				"validity": obj{"type": "weekly"}, "allowances": obj{"dataBytes": -5, "voiceSeconds": 1.5, "smsMessages": "10"},
				"requirements": obj{"fullName": "yes"}},
				[]detail{{"name", "invalid"}, {"status", "invalid"}, {"price.amount", "outOfRange"}, {"price.currency", "invalidCurrency"},
					{"validity.type", "invalid"}, {"allowances.dataBytes", "outOfRange"}, {"allowances.voiceSeconds", "outOfRange"},
					{"allowances.smsMessages", "invalidType"}, {"requirements.fullName", "invalidType"}}},
			{"plan price too large", "/plans", obj{"name": "x", "price": obj{"amount": 1_000_000_000_001, "currency": "USD"}},
				[]detail{{"price.amount", "outOfRange"}}},
			{"plan price incomplete", "/plans", obj{"name": "x", "price": obj{}},
				[]detail{{"price.amount", "required"}, {"price.currency", "required"}}},
			{"plan id and unknown", "/plans", obj{"id": "pln_0U32ZjA60Z7P8Y5vLtmvXaIMEiPr", "object": "addon", "createdAt": "2026-01-01T00:00:00Z",
				"name": "x", "price": obj{"amount": 1, "currency": "USD", "cents": 1}, "colour": "red"},
				[]detail{{"id", "readOnly"}, {"object", "invalid"}, {"createdAt", "readOnly"}, {"price.cents", "unknownField"}, {"colour", "unknownField"}}},
			{"addon", "/addons", obj{"name": "", "price": obj{"amount": 1, "currency": "USD"}, "plans": []any{}},
				[]detail{{"name", "invalid"}, {"plans", "empty"}}},
			{"addon plans", "/addons", obj{"name": "x", "price": obj{"amount": 1, "currency": "USD"}, "plans": []any{"sub_1", plnID, plnID, 7}},
				[]detail{{"plans[0]", "invalidId"}, {"plans[2]", "duplicate"}, {"plans[3]", "invalidType"}}},
			{"addon plans missing", "/addons", obj{"name": "x", "price": obj{"amount": 1, "currency": "USD"}},
				[]detail{{"plans", "required"}}},
			{"sim", "/sims", obj{"type": "uSIM", "iccid": "12345", "status": "lost"},
				[]detail{{"type", "invalid"}, {"iccid", "invalidIccid"}, {"status", "invalid"}}},
			{"sim missing", "/sims", obj{}, []detail{{"type", "required"}, {"iccid", "required"}}},
			{"sim activation code form", "/sims", obj{"type": "eSIM", "iccid": rsICCID, "activationCode": "LPA:1$$abc"},
				[]detail{{"activationCode", "invalidActivationCode"}}},
			{"psim activation code", "/sims", obj{"type": "pSIM", "iccid": rsICCID, "activationCode": rsActivationCode},
				[]detail{{"activationCode", "eSimOnly"}}},
			{"device", "/devices", obj{"manufacturer": strings.Repeat("m", 101), "model": "", "esimCapable": "true", "imei": "490154203237519", "user": "csn_1"},
				[]detail{{"manufacturer", "invalid"}, {"model", "invalid"}, {"esimCapable", "invalidType"}, {"imei", "invalidImei"}, {"user", "invalidId"}}},
			{"subscription missing", "/subscriptions", obj{}, []detail{{"user", "required"}, {"plan", "required"}}},
			{"subscription fields", "/subscriptions", obj{"user": usr, "plan": "pln_", "sim": "dev_1", "device": "sim_1", "phoneNumber": "0044123456",
				"status": "paused", "recurring": "no", "currentPeriod": obj{"start": "2026-12-01T00:00:00Z", "end": "2026-11-01T00:00:00Z"},
				"endedAt": "yesterday", "addons": []any{"pln_1"}},
				[]detail{{"plan", "invalidId"}, {"sim", "invalidId"}, {"device", "invalidId"}, {"phoneNumber", "invalidPhoneNumber"},
					{"status", "invalid"}, {"recurring", "invalidType"}, {"currentPeriod.end", "beforeStart"}, {"endedAt", "invalidTime"}, {"addons[0]", "invalidId"},
					{"user", "notFound"}}}, // issue 11.10: references with the shape
			{"subscription period incomplete", "/subscriptions", obj{"user": usr, "plan": plnID, "currentPeriod": obj{"start": "2026-12-01"}},
				[]detail{{"currentPeriod.start", "invalidTime"}, {"currentPeriod.end", "required"}, {"user", "notFound"}, {"plan", "notFound"}}},
			{"subscription phone too long", "/subscriptions", obj{"user": usr, "plan": plnID, "phoneNumber": "+1234567890123456"},
				[]detail{{"phoneNumber", "invalidPhoneNumber"}, {"user", "notFound"}, {"plan", "notFound"}}},
			{"payment method", "/paymentMethods", obj{"user": usr, "type": "bank", "card": obj{"brand": "diners", "last4": "42", "expMonth": 13, "expYear": 1999}, "default": 1},
				[]detail{{"type", "invalid"}, {"card.brand", "invalid"}, {"card.last4", "invalid"}, {"card.expMonth", "outOfRange"},
					{"card.expYear", "outOfRange"}, {"default", "invalidType"}, {"user", "notFound"}}},
			{"payment method missing", "/paymentMethods", obj{"card": obj{}},
				[]detail{{"user", "required"}, {"type", "required"}, {"card.brand", "required"}, {"card.last4", "required"}, {"card.expMonth", "required"}, {"card.expYear", "required"}}},
			{"payment", "/payments", obj{"user": usr, "amount": "10", "currency": "EURO", "status": "paid", "description": strings.Repeat("d", 501),
				"subscription": "pay_1", "paymentMethod": "pm_1"},
				[]detail{{"amount", "invalidType"}, {"currency", "invalidCurrency"}, {"status", "invalid"}, {"description", "invalid"},
					{"subscription", "invalidId"}, {"paymentMethod", "invalidId"}, {"user", "notFound"}}},
			{"payment missing", "/payments", obj{}, []detail{{"user", "required"}, {"amount", "required"}, {"currency", "required"}}},
			{"porting missing", "/portings", obj{}, []detail{{"subscription", "required"}, {"phoneNumber", "required"}}},
			{"porting fields", "/portings", obj{"subscription": subID, "phoneNumber": "4155550199", "status": "done", "accountPin": "",
				"address": obj{"line1": "1 Main St", "country": "usa"}, "user": usr, "accountPinProvided": true},
				[]detail{{"phoneNumber", "invalidPhoneNumber"}, {"status", "invalid"}, {"accountPin", "invalid"}, {"address.city", "required"},
					{"address.postalCode", "required"}, {"address.country", "invalidCountry"}, {"user", "readOnly"}, {"accountPinProvided", "readOnly"}, {"subscription", "notFound"}}},
			{"porting declined without code", "/portings", obj{"subscription": subID, "phoneNumber": rsPhone, "status": "declined"},
				[]detail{{"declinedCode", "required"}, {"subscription", "notFound"}}},
			{"porting code without decline", "/portings", obj{"subscription": subID, "phoneNumber": rsPhone, "declinedCode": "portingPhoneNumberPortProtected"},
				[]detail{{"declinedCode", "notDeclined"}, {"subscription", "notFound"}}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := e.Post(c.path, c.body)
				m := want422(t, r, c.want...)
				if got := detailsOf(t, m); len(got) != len(c.want) {
					t.Errorf("details = %v, want exactly %v", got, c.want)
				}
			})
		}

		// A body that is not a JSON object is malformed, as on every endpoint.
		wantError(t, e.Post("/plans", []any{1}), http.StatusBadRequest, "badRequest", "invalidJson")

		// Nulls count as absent.
		r := e.Post("/plans", obj{"name": "x", "price": obj{"amount": 1, "currency": "USD"}, "description": nil, "id": nil, "validity": nil, "junk": nil})
		m := wantStatus(t, r, http.StatusCreated)
		rsWant(t, "nulls", m, obj{"description": nil, "validity": obj{"type": "recurring"}, "status": "draft"})

		// Malformed JSON is a 400, a wrong content type a 415, no key a 401.
		wantError(t, e.Post("/plans", `{"name":`), http.StatusBadRequest, "badRequest", "invalidJson")
		wantError(t, e.Post("/plans", `{"name":"a","name":"b"}`), http.StatusBadRequest, "badRequest", "invalidJson")
		wantError(t, e.Do(apitest.Request{Method: http.MethodPost, Path: projectPath(e.Project, "/plans"), Body: `{}`, NoCType: true}),
			http.StatusUnsupportedMediaType, "unsupportedMediaType", "")
		wantError(t, e.Do(apitest.Request{Method: http.MethodGet, Path: projectPath(e.Project, "/plans"), NoAuth: true}),
			http.StatusUnauthorized, "unauthenticated", "")
		wantError(t, e.Do(apitest.Request{Method: http.MethodDelete, Path: projectPath(e.Project, "/plans")}),
			http.StatusMethodNotAllowed, "methodNotAllowed", "")
	})
}

func TestResourceImmutableOnPatch(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		e := rsEnv(t, b)
		w := rsSetup(t, e)
		cases := []struct {
			name, path string
			body       obj
			want       []detail
		}{
			{"plan common", "/plans/" + w.plan, obj{"id": plnID, "createdAt": "2026-01-01T00:00:00Z", "object": "sim"},
				[]detail{{"id", "immutable"}, {"createdAt", "immutable"}, {"object", "immutable"}}},
			{"sim", "/sims/" + w.sim, obj{"type": "pSIM", "iccid": rsICCID}, []detail{{"type", "immutable"}, {"iccid", "immutable"}}},
			{"subscription", "/subscriptions/" + w.sub, obj{"user": w.userB}, []detail{{"user", "immutable"}}},
			{"payment", "/payments/" + w.payment, obj{"user": w.userB, "amount": 1, "currency": "EUR"},
				[]detail{{"user", "immutable"}, {"amount", "immutable"}, {"currency", "immutable"}}},
			{"porting", "/portings/" + w.porting, obj{"subscription": w.subB}, []detail{{"subscription", "immutable"}}},
			{"payment method", "/paymentMethods/" + w.pm, obj{"user": w.userB, "type": "card", "card": obj{"brand": "amex", "last4": "0005", "number": "4242424242424242"}},
				[]detail{{"user", "immutable"}, {"type", "immutable"}, {"card.brand", "immutable"}, {"card.last4", "immutable"}, {"card.number", "notAccepted"}}},
			{"unknown field", "/devices/" + w.device, obj{"color": "blue", "model": ""}, []detail{{"color", "unknownField"}, {"model", "invalid"}}},
			{"activation code form", "/sims/" + w.sim, obj{"activationCode": "LPA:1$x"}, []detail{{"activationCode", "invalidActivationCode"}}},
			{"porting leaves declined code", "/portings/" + w.porting, obj{"declinedCode": "portingPhoneNumberPortProtected"},
				[]detail{{"declinedCode", "notDeclined"}}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before := wantStatus(t, e.Get(c.path), http.StatusOK)
				m := want422(t, e.Patch(c.path, c.body), c.want...)
				if got := detailsOf(t, m); len(got) != len(c.want) {
					t.Errorf("details = %v, want exactly %v", got, c.want)
				}
				if after := wantStatus(t, e.Get(c.path), http.StatusOK); jsonString(after) != jsonString(before) {
					t.Errorf("refused PATCH changed the resource: %s -> %s", jsonString(before), jsonString(after))
				}
			})
		}
		// An object member naming the kind is tolerated; an empty PATCH
		// changes nothing.
		wantStatus(t, e.Patch("/plans/"+w.plan, obj{"object": "plan", "name": "Renamed"}), http.StatusOK)
		wantStatus(t, e.Patch("/plans/"+w.plan, obj{}), http.StatusOK)
		// A porting that moves on from declined drops its declined code.
		wantStatus(t, e.Patch("/portings/"+w.porting, obj{"status": "declined", "declinedCode": "portingAccountPinRequiredOrInvalid"}), http.StatusOK)
		m := wantStatus(t, e.Patch("/portings/"+w.porting, obj{"status": "requested", "accountPin": "1234"}), http.StatusOK)
		rsWant(t, "porting resubmitted", m, obj{"status": "requested", "declinedCode": nil, "accountPinProvided": true})
		// An eSIM-only rule holds on PATCH against the stored type.
		psim := rsCreate(t, e, "/sims", obj{"type": "pSIM", "iccid": "89882470001012345678"})["id"].(string)
		want422(t, e.Patch("/sims/"+psim, obj{"activationCode": rsActivationCode}), detail{"activationCode", "eSimOnly"})
	})
}

func TestResourceReferences(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		e := rsEnv(t, b)
		w := rsSetup(t, e)
		const unknownPlan = "pln_0000000000000000000000000000"
		want422(t, e.Post("/subscriptions", obj{"user": w.userA, "plan": unknownPlan}), detail{"plan", "notFound"})
		want422(t, e.Post("/subscriptions", obj{"user": "usr_0000000000000000000000000000", "plan": w.plan}), detail{"user", "notFound"})
		// User A's payment on user B's subscription.
		want422(t, e.Post("/payments", obj{"user": w.userA, "subscription": w.subB, "amount": 100, "currency": "USD"}),
			detail{"subscription", "notOwned"})
		// User B's subscription with user A's device.
		want422(t, e.Post("/subscriptions", obj{"user": w.userB, "plan": w.plan, "device": w.device}), detail{"device", "notOwned"})
		want422(t, e.Post("/addons", obj{"name": "x", "price": obj{"amount": 1, "currency": "USD"}, "plans": []string{w.plan, unknownPlan}}),
			detail{"plans[1]", "notFound"})
		want422(t, e.Post("/portings", obj{"subscription": "sub_0000000000000000000000000000", "phoneNumber": rsPhone}),
			detail{"subscription", "notFound"})
		// On PATCH too, and nothing changes.
		want422(t, e.Patch("/subscriptions/"+w.sub, obj{"plan": unknownPlan}), detail{"plan", "notFound"})
		want422(t, e.Patch("/payments/"+w.payment, obj{"subscription": w.subB}), detail{"subscription", "notOwned"})
		if m := wantStatus(t, e.Get("/subscriptions/"+w.sub), http.StatusOK); m["plan"] != w.plan {
			t.Errorf("refused PATCH changed the plan: %v", m["plan"])
		}
		// A porting belongs to its subscription's user.
		if m := wantStatus(t, e.Get("/portings/"+w.porting), http.StatusOK); m["user"] != w.userA {
			t.Errorf("porting user = %v, want %s", m["user"], w.userA)
		}
	})
}

func TestResourceNotFound(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		e := rsEnv(t, b)
		w := rsSetup(t, e)
		other, otherKey := e.NewProject("other", nil)
		kinds := []struct{ path, id, code string }{
			{"/plans/", w.plan, "planNotFound"}, {"/addons/", w.addon, "addonNotFound"}, {"/sims/", w.sim, "simNotFound"},
			{"/devices/", w.device, "deviceNotFound"}, {"/subscriptions/", w.sub, "subscriptionNotFound"},
			{"/paymentMethods/", w.pm, "paymentMethodNotFound"}, {"/payments/", w.payment, "paymentNotFound"},
			{"/portings/", w.porting, "portingNotFound"},
		}
		for _, k := range kinds {
			// Another project's resource does not exist for its key.
			for _, m := range []string{http.MethodGet, http.MethodPatch} {
				r := e.Do(apitest.Request{Method: m, Path: projectPath(other, k.path+k.id), Key: otherKey, Body: obj{}})
				wantError(t, r, http.StatusNotFound, "notFound", k.code)
			}
			// This project's key on the other project's path is a 403.
			wantError(t, e.Do(apitest.Request{Method: http.MethodGet, Path: projectPath(other, k.path+k.id)}), http.StatusForbidden, "forbidden", "")
			// An unknown ID, and the ID of another kind, are 404s too; the
			// path comes before a bad body.
			wantError(t, e.Get(k.path+"xyz_1"), http.StatusNotFound, "notFound", k.code)
			wantError(t, e.Patch(k.path+w.userA, `{"bad json`), http.StatusNotFound, "notFound", k.code)
		}
		// The other project's lists are empty.
		r := e.Do(apitest.Request{Method: http.MethodGet, Path: projectPath(other, "/plans"), Key: otherKey})
		if m := wantStatus(t, r, http.StatusOK); len(m["items"].([]any)) != 0 {
			t.Errorf("other project's plans = %v", m["items"])
		}
		// GET takes no query.
		want422(t, e.Get("/plans/"+w.plan+"?expand=x"), detail{"expand", "unknownParameter"})
	})
}

func TestResourceListFilters(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		e := rsEnv(t, b)
		w := rsSetup(t, e)
		sub2 := rsCreate(t, e, "/subscriptions", obj{"user": w.userA, "plan": w.plan, "status": "ended"})["id"].(string)
		pay2 := rsCreate(t, e, "/payments", obj{"user": w.userA, "subscription": sub2, "amount": 100, "currency": "USD", "status": "succeeded"})["id"].(string)
		payB := rsCreate(t, e, "/payments", obj{"user": w.userB, "subscription": w.subB, "amount": 100, "currency": "USD"})["id"].(string)
		devB := rsCreate(t, e, "/devices", obj{"user": w.userB, "manufacturer": "Samsung", "model": "S24"})["id"].(string)
		devNone := rsCreate(t, e, "/devices", obj{"manufacturer": "Nokia", "model": "3310"})["id"].(string)

		ids := func(r *apitest.Response) []string {
			t.Helper()
			m := wantStatus(t, r, http.StatusOK)
			var out []string
			for _, it := range m["items"].([]any) {
				out = append(out, it.(map[string]any)["id"].(string))
			}
			return out
		}
		same := func(what string, got []string, want ...string) {
			t.Helper()
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("%s = %v, want %v", what, got, want)
			}
		}
		same("subscriptions of A", ids(e.Get("/subscriptions?user="+w.userA)), sub2, w.sub)
		same("ended subscriptions", ids(e.Get("/subscriptions?status=ended")), sub2)
		same("active subscriptions of A", ids(e.Get("/subscriptions?status=active&user="+w.userA)), w.sub)
		same("payments of A", ids(e.Get("/payments?user="+w.userA)), pay2, w.payment)
		same("payments of sub", ids(e.Get("/payments?subscription="+w.sub)), w.payment)
		same("succeeded payments", ids(e.Get("/payments?status=succeeded")), pay2)
		same("payments of B", ids(e.Get("/payments?user="+w.userB)), payB)
		same("portings of sub", ids(e.Get("/portings?subscription="+w.sub)), w.porting)
		same("portings of subB", ids(e.Get("/portings?subscription="+w.subB)))
		same("portings of A", ids(e.Get("/portings?user="+w.userA)), w.porting)
		same("devices", ids(e.Get("/devices")), devNone, devB, w.device)
		same("devices of B", ids(e.Get("/devices?user="+w.userB)), devB)
		same("payment methods of A", ids(e.Get("/paymentMethods?user="+w.userA)), w.pm)
		same("active plans", ids(e.Get("/plans?status=active")), w.plan)
		same("draft plans", ids(e.Get("/plans?status=draft")))
		// w.sim is on w.sub: its status follows (issue 11.1).
		same("available sims", ids(e.Get("/sims?status=available")))
		same("assigned sims", ids(e.Get("/sims?status=assigned")), w.sim)

		// Paging, newest first.
		r := wantStatus(t, e.Get("/devices?limit=1"), http.StatusOK)
		if len(r["items"].([]any)) != 1 || r["moreItemsAfter"] != devNone || r["moreItemsBefore"] != nil {
			t.Errorf("first page = %s", jsonString(r))
		}
		r = wantStatus(t, e.Get("/devices?limit=1&after="+devNone), http.StatusOK)
		if items := r["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != devB || r["moreItemsAfter"] != devB || r["moreItemsBefore"] != devB {
			t.Errorf("second page = %s", jsonString(r))
		}
		same("before", ids(e.Get("/devices?before="+w.device)), devNone, devB)
		want422(t, e.Get("/devices?limit=0"), detail{"limit", "outOfRange"}) // issue 10.7
		if n := len(ids(e.Get("/devices?limit=200"))); n != 3 {
			t.Errorf("limit 200: %d devices", n)
		}

		// Refused parameters, every problem at once.
		cases := []struct {
			query string
			want  []detail
		}{
			{"/subscriptions?user=", []detail{{"user", "empty"}}},
			{"/subscriptions?user=" + w.userA + "&user=" + w.userB, []detail{{"user", "repeated"}}},
			{"/subscriptions?status=paused&user=sub_1", []detail{{"status", "invalid"}, {"user", "invalidId"}}},
			{"/subscriptions?subscription=" + w.sub, []detail{{"subscription", "unknownParameter"}}},
			{"/plans?user=" + w.userA, []detail{{"user", "unknownParameter"}}},
			{"/devices?status=active", []detail{{"status", "unknownParameter"}}},
			{"/paymentMethods?status=active", []detail{{"status", "unknownParameter"}}},
			{"/payments?subscription=usr_1&limit=201", []detail{{"subscription", "invalidId"}, {"limit", "outOfRange"}}},
			{"/portings?after=" + w.porting + "&before=" + w.porting, []detail{{"before", "exclusive"}}},
			{"/portings?after=" + w.sub, []detail{{"after", "invalidId"}}},
			{"/sims?limit=-1&foo=bar", []detail{{"limit", "outOfRange"}, {"foo", "unknownParameter"}}},
		}
		for _, c := range cases {
			want422(t, e.Get(c.query), c.want...)
		}
	})
}

func TestResourceAccountPinWriteOnly(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		e := rsEnv(t, b)
		w := rsSetup(t, e) // its porting has accountPin rsPin
		noPin := func(what string, r *apitest.Response) {
			t.Helper()
			if strings.Contains(string(r.Body), rsPin) || strings.Contains(string(r.Body), `"accountPin"`) {
				t.Errorf("%s shows the account PIN: %s", what, r.Body)
			}
		}
		checkPorting := func(what string, m map[string]any) {
			t.Helper()
			if _, ok := m["accountPin"]; ok {
				t.Errorf("%s has accountPin", what)
			}
			if m["accountPinProvided"] != true {
				t.Errorf("%s: accountPinProvided = %v, want true", what, m["accountPinProvided"])
			}
		}
		r := e.Post("/portings", obj{"subscription": w.sub, "phoneNumber": "+14155550111", "accountPin": rsPin, "accountNumber": "A-1"})
		noPin("create", r)
		created := wantStatus(t, r, http.StatusCreated)
		checkPorting("create", created)
		id := created["id"].(string)

		r = e.Get("/portings/" + id)
		noPin("get", r)
		checkPorting("get", wantStatus(t, r, http.StatusOK))

		r = e.Get("/portings")
		noPin("list", r)
		for _, it := range wantStatus(t, r, http.StatusOK)["items"].([]any) {
			checkPorting("list item", it.(map[string]any))
		}

		// A PATCH that leaves the PIN out keeps it.
		r = e.Patch("/portings/"+id, obj{"donorProvider": "Another Telco"})
		noPin("patch", r)
		checkPorting("patch", wantStatus(t, r, http.StatusOK))
		p, err := e.Service.Platform.Portings().Get(t.Context(), e.Project, id)
		if err != nil || p.AccountPin == nil || *p.AccountPin != rsPin {
			t.Errorf("stored PIN after PATCH = %v, %v", p, err)
		}
		// A PATCH replaces it, still unseen.
		r = e.Patch("/portings/"+id, obj{"accountPin": "0000"})
		noPin("patch pin", r)
		if strings.Contains(string(r.Body), `"0000"`) {
			t.Errorf("patch shows the new PIN: %s", r.Body)
		}
		checkPorting("patch pin", wantStatus(t, r, http.StatusOK))
		// Nor in an error body.
		r = e.Patch("/portings/"+id, obj{"accountPin": rsPin, "status": "nope"})
		want422(t, r, detail{"status", "invalid"})
		noPin("error", r)
		if strings.Contains(e.Logs.String(), rsPin) {
			t.Errorf("logs show the account PIN")
		}
	})
}

func TestResourceCardNumberRefused(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		e := rsEnv(t, b)
		user := e.CreateUser("card@example.com")
		const number = "4242424242424242"
		r := e.Post("/paymentMethods", obj{"user": user, "type": "card",
			"card": obj{"brand": "visa", "last4": "4242", "expMonth": 1, "expYear": 2030, "number": number, "cvc": "123"}})
		m := want422(t, r, detail{"card.number", "notAccepted"}, detail{"card.cvc", "notAccepted"})
		if strings.Contains(string(r.Body), number) {
			t.Errorf("error echoes the card number: %s", r.Body)
		}
		msg := ""
		for _, d := range m["details"].([]any) {
			if d.(map[string]any)["field"] == "card.number" {
				msg, _ = d.(map[string]any)["message"].(string)
			}
		}
		if !strings.Contains(msg, "card numbers") || !strings.Contains(msg, "not accepted") {
			t.Errorf("card.number message = %q, want it to say card numbers are not accepted", msg)
		}
		if strings.Contains(e.Logs.String(), number) {
			t.Errorf("logs show the card number")
		}
		if m := wantStatus(t, e.Get("/paymentMethods"), http.StatusOK); len(m["items"].([]any)) != 0 {
			t.Errorf("a payment method was created: %v", m["items"])
		}
	})
}

func TestResourcePaymentFinal(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		e := rsEnv(t, b)
		w := rsSetup(t, e)
		path := "/payments/" + w.payment
		wantStatus(t, e.Patch(path, obj{"status": "processing"}), http.StatusOK)
		wantStatus(t, e.Patch(path, obj{"status": "requiresConfirmation"}), http.StatusOK)
		wantStatus(t, e.Patch(path, obj{"status": "succeeded"}), http.StatusOK)
		for _, st := range []string{"failed", "canceled", "processing", "requiresConfirmation"} {
			wantError(t, e.Patch(path, obj{"status": st}), http.StatusConflict, "conflict", "paymentFinal", detail{"status", "final"})
		}
		// Other fields, and the same final status, are still accepted.
		m := wantStatus(t, e.Patch(path, obj{"status": "succeeded", "description": "Paid"}), http.StatusOK)
		rsWant(t, "final payment", m, obj{"status": "succeeded", "description": "Paid"})
		for _, st := range []string{"failed", "canceled"} {
			id := rsCreate(t, e, "/payments", obj{"user": w.userA, "amount": 1, "currency": "USD", "status": st})["id"].(string)
			wantError(t, e.Patch("/payments/"+id, obj{"status": "succeeded"}), http.StatusConflict, "conflict", "paymentFinal")
		}
	})
}

func TestResourceIdempotentCreate(t *testing.T) {
	apitest.ForEachBackend(t, func(t *testing.T, b apitest.Backend) {
		e := rsEnv(t, b)
		post := func(key string, body any) *apitest.Response {
			return e.Do(apitest.Request{Method: http.MethodPost, Path: projectPath(e.Project, "/plans"), Body: body,
				Header: map[string]string{"Idempotency-Key": key}})
		}
		body := obj{"name": "Once", "price": obj{"amount": 1, "currency": "USD"}}
		first := wantStatus(t, post("plan-1", body), http.StatusCreated)
		again := wantStatus(t, post("plan-1", body), http.StatusCreated)
		if first["id"] != again["id"] {
			t.Errorf("replay created %v, want %v", again["id"], first["id"])
		}
		wantError(t, post("plan-1", obj{"name": "Twice", "price": obj{"amount": 1, "currency": "USD"}}),
			http.StatusUnprocessableEntity, "unprocessableEntity", "idempotencyKeyReused")
		// A failed create does not keep its key.
		want422(t, post("plan-2", obj{"name": ""}))
		wantStatus(t, post("plan-2", body), http.StatusCreated)
		if m := wantStatus(t, e.Get("/plans"), http.StatusOK); len(m["items"].([]any)) != 2 {
			t.Errorf("plans = %d, want 2", len(m["items"].([]any)))
		}
		// Nor does one the service refuses after taking the key: the same
		// request is refused again (not replayed as a resource that does not
		// exist), and the corrected one is created.
		addon := func(plan string) *apitest.Response {
			return e.Do(apitest.Request{Method: http.MethodPost, Path: projectPath(e.Project, "/addons"),
				Body:   obj{"name": "x", "price": obj{"amount": 1, "currency": "USD"}, "plans": []string{plan}},
				Header: map[string]string{"Idempotency-Key": "addon-1"}})
		}
		const unknownPlan = "pln_0000000000000000000000000000"
		want422(t, addon(unknownPlan), detail{"plans[0]", "notFound"})
		want422(t, addon(unknownPlan), detail{"plans[0]", "notFound"})
		wantStatus(t, addon(first["id"].(string)), http.StatusCreated)
	})
}
