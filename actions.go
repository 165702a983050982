package connectd

import (
	"context"
	"time"
)

// Payment outcomes of the built-in test card processor (package payments):
// 4242424242424242 succeeds, 4000000000000002 is declined, and
// 4000002500003155 needs the user to confirm the payment.

// PaymentInput says how a user pays for an action: with a saved payment
// method of theirs, or a card typed on the page (which is charged but never
// stored; its brand and last 4 digits go on the payment method that a
// successful charge saves).
type PaymentInput struct {
	// PaymentMethodID is a saved payment method of the user.
	PaymentMethodID string
	// Card is a card typed on the page; its number never leaves the
	// processor call.
	Card *CardInput
	// SaveCard saves Card as the user's default payment method when the
	// charge succeeds.
	SaveCard bool
	// ConfirmPaymentID, instead of a new charge, confirms the user's
	// payment in requiresConfirmation that an earlier attempt of the same
	// action left (the card asked for confirmation), and applies the action
	// with it.
	ConfirmPaymentID string
}

// CardInput is a full card as typed. It is never stored or logged.
type CardInput struct {
	Number   string
	ExpMonth int
	ExpYear  int
	CVC      string
}

// CheckoutInput is a new subscription's checkout.
type CheckoutInput struct {
	UserID string
	PlanID string
	// SIMID is a given SIM; empty means "pick an available SIM of SIMType".
	SIMID    string
	SIMType  string // eSIM or pSIM, when SIMID is empty
	DeviceID string
	IMEI     string
	Addons   []string
}

// PortingInput is what a user fixes or completes on a porting.
type PortingInput struct {
	AccountNumber *string
	AccountPin    *string
	DonorProvider *string
	Address       *Address
}

// Purchase is the result of a paid action. Payment is always set (a
// declined card leaves a failed payment and nothing else); Subscription is
// set when the action changed or created one.
type Purchase struct {
	Payment       *Payment
	Subscription  *Subscription
	PaymentMethod *PaymentMethod
}

// Actions are the user actions the portal performs on the platform. Each
// is atomic: it changes everything it must or nothing. Refusals are *Error
// values (a 409 or 422 with a code) whose Message can be shown to the
// user; the resources must belong to userID.
type Actions interface {
	// CancelSubscription sets endedAt (at the end of the current period,
	// or now).
	CancelSubscription(ctx context.Context, projectID, userID, subscriptionID string, now time.Time) (*Subscription, error)
	// ResumeSubscription clears endedAt.
	ResumeSubscription(ctx context.Context, projectID, userID, subscriptionID string) (*Subscription, error)
	// ChangePlan charges the new plan's price and moves the subscription to
	// it when the charge succeeds.
	ChangePlan(ctx context.Context, projectID, userID, subscriptionID, planID string, pay PaymentInput, now time.Time) (*Purchase, error)
	// BuyAddons charges the add-ons and adds them to the subscription when
	// the charge succeeds.
	BuyAddons(ctx context.Context, projectID, userID, subscriptionID string, addonIDs []string, pay PaymentInput, now time.Time) (*Purchase, error)
	// Checkout charges the plan (and add-ons) and, when the charge
	// succeeds, assigns the SIM and creates an active subscription.
	Checkout(ctx context.Context, projectID string, in CheckoutInput, pay PaymentInput, now time.Time) (*Purchase, error)
	// ConfirmPayment confirms a payment in requiresConfirmation: it
	// succeeds, or fails when the processor declines.
	ConfirmPayment(ctx context.Context, projectID, userID, paymentID string, now time.Time) (*Payment, error)
	// AddPaymentMethod verifies the card with the processor and saves it
	// as the user's default payment method.
	AddPaymentMethod(ctx context.Context, projectID, userID string, card CardInput, now time.Time) (*PaymentMethod, error)
	// SubmitPorting completes or fixes a porting waiting for the user and
	// resubmits it (status requested).
	SubmitPorting(ctx context.Context, projectID, userID, portingID string, in PortingInput, now time.Time) (*Porting, error)
}
