package seed

import (
	"bytes"
	"context"
	_ "embed"
	"errors"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/platform"
)

// demoFile is the built-in demo: a seed file like any other.
//
//go:embed demo.json
var demoFile []byte

// DemoFile returns the demo seed file.
func DemoFile() []byte { return bytes.Clone(demoFile) }

// Demo IDs are fixed so that the README's examples work on every machine.
// Every ID is in the documented form: prefix, "_", 28 base62 characters.
const (
	DemoProjectID = "demo"
	// DemoUserID is Jerry, who owns every subscription of the demo.
	DemoUserID    = "usr_0DemoJerry000000000000000001"
	DemoUserEmail = "jerry@example.com"
	// DemoOtherUserID is Elaine, who has no subscriptions.
	DemoOtherUserID    = "usr_0DemoElaine00000000000000001"
	DemoOtherUserEmail = "elaine@example.com"

	// Plans: two active ones and an archived one.
	DemoPlanMaxID      = "pln_0DemoMax00000000000000000001"
	DemoPlanBasicID    = "pln_0DemoBasic000000000000000001"
	DemoPlanArchivedID = "pln_0DemoLegacy00000000000000001"
	// Add-ons: Data Boost fits both active plans, International Calling
	// only Max.
	DemoAddonDataBoostID = "add_0DemoDataBoost00000000000001"
	DemoAddonIntlID      = "add_0DemoIntl0000000000000000001"
	// Free SIMs (three eSIMs and two pSIMs are available; these are the
	// first of each).
	DemoFreeESIMID = "sim_0DemoFreeEsim000000000000001"
	DemoFreePSIMID = "sim_0DemoFreePsim000000000000001"
	// DemoDeviceID is Jerry's phone.
	DemoDeviceID = "dev_0DemoIphone00000000000000001"

	// Jerry's subscriptions.
	// DemoSubscriptionID is active, recurring, on an eSIM, with a phone
	// number and a current period, on a plan Data Boost can be bought for.
	DemoSubscriptionID = "sub_0DemoActive00000000000000001"
	// DemoCanceledSubscriptionID is recurring and canceled (endedAt set).
	DemoCanceledSubscriptionID = "sub_0DemoCanceled000000000000001"
	// DemoPortingRetrySubscriptionID has a porting declined with a code
	// the user can fix (portingAccountPinRequiredOrInvalid).
	DemoPortingRetrySubscriptionID = "sub_0DemoPortRetry00000000000001"
	// DemoPortingDeclinedSubscriptionID has a porting declined with a
	// code the user cannot fix (portingNumberNotPortable).
	DemoPortingDeclinedSubscriptionID = "sub_0DemoPortDenied0000000000001"
	// DemoPortingDraftSubscriptionID is pending with a draft porting.
	DemoPortingDraftSubscriptionID = "sub_0DemoPortDraft00000000000001"

	DemoPaymentMethodID = "pmt_0DemoVisa0000000000000000001"
	// DemoPaymentID requires confirmation.
	DemoPaymentID = "pay_0DemoConfirm0000000000000001"
)

// LoadDemo loads the demo seed file into st (pf nil: platform.New(st)).
func LoadDemo(ctx context.Context, st Store, pf *platform.Builtin) (Result, error) {
	return Load(ctx, st, pf, bytes.NewReader(demoFile))
}

// Demo loads the demo project, its users and resources where they do not
// exist yet, and leaves those that exist as they are, even where they differ
// from the demo file: a person who canceled a subscription or changed a name
// in the portal finds it so after a restart, and a restart never fails on
// it. It reports whether it created anything. The store must keep
// platform resources (connectd.ResourceStore). pf is the server's platform,
// whose clock dates what is loaded; nil: platform.New(store).
func Demo(ctx context.Context, store connectd.Store, pf *platform.Builtin) (created bool, err error) {
	st, ok := store.(Store)
	if !ok {
		return false, errors.New("the demo needs a store that keeps platform resources, and this one does not")
	}
	res, err := load(ctx, st, pf, demoFile, true)
	return res.Created > 0, err
}
