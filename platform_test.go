package connectd

import "testing"

// Every kind has its own prefix, and every resource type tells its kind
// and ID: code serving all kinds relies on both instead of type switches.
func TestResourcesTellKindAndID(t *testing.T) {
	tests := []struct {
		v      Resource
		id     string
		kind   ResourceKind
		prefix string
	}{
		{&Plan{ID: "pln_1"}, "pln_1", KindPlan, PrefixPlan},
		{&Addon{ID: "add_1"}, "add_1", KindAddon, PrefixAddon},
		{&SIM{ID: "sim_1"}, "sim_1", KindSIM, PrefixSIM},
		{&Device{ID: "dev_1"}, "dev_1", KindDevice, PrefixDevice},
		{&Subscription{ID: "sub_1"}, "sub_1", KindSubscription, PrefixSubscription},
		{&PaymentMethod{ID: "pmt_1"}, "pmt_1", KindPaymentMethod, PrefixPaymentMethod},
		{&Payment{ID: "pay_1"}, "pay_1", KindPayment, PrefixPayment},
		{&Porting{ID: "prt_1"}, "prt_1", KindPorting, PrefixPorting},
	}
	if len(tests) != len(ResourceKinds) {
		t.Fatalf("%d kinds tested, %d exist", len(tests), len(ResourceKinds))
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			if got := tt.v.Kind(); got != tt.kind {
				t.Errorf("Kind() = %q, want %q", got, tt.kind)
			}
			if got := tt.v.ResourceID(); got != tt.id {
				t.Errorf("ResourceID() = %q, want %q", got, tt.id)
			}
			if got := tt.kind.Prefix(); got != tt.prefix {
				t.Errorf("Prefix() = %q, want %q", got, tt.prefix)
			}
		})
	}
	if got := ResourceKind("user").Prefix(); got != "" {
		t.Errorf("Prefix of a kind that is no resource = %q, want empty", got)
	}
}
