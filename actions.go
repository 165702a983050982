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

// CheckoutInput is a new subscription's order.
type CheckoutInput struct {
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

// Command is what every action carries besides its own IDs: who acts in
// which project, the time of the decision (the caller's injected clock,
// never the platform's wall clock), and an idempotency key. Commands are
// plain data, with no closures, so that an action could cross a network to
// an operator's own billing system: a remote platform uses the key to apply
// a resubmitted action once.
type Command struct {
	ProjectID      string
	UserID         string
	Now            time.Time
	IdempotencyKey string
}

// CancelSubscriptionCommand cancels a subscription of the user.
type CancelSubscriptionCommand struct {
	Command
	SubscriptionID string
}

// ResumeSubscriptionCommand resumes a canceled subscription of the user.
type ResumeSubscriptionCommand struct {
	Command
	SubscriptionID string
}

// ChangePlanCommand moves a subscription of the user to another plan.
type ChangePlanCommand struct {
	Command
	SubscriptionID string
	PlanID         string
	Pay            PaymentInput
}

// BuyAddonsCommand adds add-ons to a subscription of the user.
type BuyAddonsCommand struct {
	Command
	SubscriptionID string
	AddonIDs       []string
	Pay            PaymentInput
}

// CheckoutCommand buys a new subscription for the user.
type CheckoutCommand struct {
	Command
	Order CheckoutInput
	Pay   PaymentInput
}

// ConfirmPaymentCommand confirms a payment of the user.
type ConfirmPaymentCommand struct {
	Command
	PaymentID string
}

// AddPaymentMethodCommand saves a card as the user's default payment
// method.
type AddPaymentMethodCommand struct {
	Command
	Card CardInput
}

// SubmitPortingCommand completes or fixes a porting of the user.
type SubmitPortingCommand struct {
	Command
	PortingID string
	Porting   PortingInput
}

// Actions are the user actions the portal performs on the platform, as
// commands. Each is atomic: it changes everything it must or nothing.
// Refusals are *Error values (a 409 or 422 with a code) whose Message can
// be shown to the user; the resources must belong to the command's user.
type Actions interface {
	// CancelSubscription sets endedAt (at the end of the current period,
	// or now).
	CancelSubscription(ctx context.Context, c CancelSubscriptionCommand) (*Subscription, error)
	// ResumeSubscription clears endedAt.
	ResumeSubscription(ctx context.Context, c ResumeSubscriptionCommand) (*Subscription, error)
	// ChangePlan charges the new plan's price and moves the subscription to
	// it when the charge succeeds.
	ChangePlan(ctx context.Context, c ChangePlanCommand) (*Purchase, error)
	// BuyAddons charges the add-ons and adds them to the subscription when
	// the charge succeeds.
	BuyAddons(ctx context.Context, c BuyAddonsCommand) (*Purchase, error)
	// Checkout charges the plan (and add-ons) and, when the charge
	// succeeds, assigns the SIM and creates an active subscription.
	Checkout(ctx context.Context, c CheckoutCommand) (*Purchase, error)
	// ConfirmPayment confirms a payment in requiresConfirmation: it
	// succeeds, or fails when the processor declines.
	ConfirmPayment(ctx context.Context, c ConfirmPaymentCommand) (*Payment, error)
	// AddPaymentMethod verifies the card with the processor and saves it
	// as the user's default payment method.
	AddPaymentMethod(ctx context.Context, c AddPaymentMethodCommand) (*PaymentMethod, error)
	// SubmitPorting completes or fixes a porting waiting for the user and
	// resubmits it (status requested).
	SubmitPorting(ctx context.Context, c SubmitPortingCommand) (*Porting, error)
}
