package service

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/connectd/connectd"
)

// The portal's user actions. Each becomes a command for the platform
// (connectd.Actions) carrying the time of the service's clock and an
// idempotency key derived from the browser session and the action.

// Actor is who acts in the portal: a signed-in user of a project, in one
// browser session.
type Actor struct {
	ProjectID string
	UserID    string
	// BrowserID is the browser session the action comes from; it scopes
	// the action's idempotency key.
	BrowserID string
}

// command returns the common part of an action's command. parts name the
// action and what it acts on, so that a resubmitted form (a double click, a
// reload) maps to the same key and a different choice to another one.
func (s *Service) command(a Actor, action string, parts ...string) connectd.Command {
	h := sha256.New()
	for _, p := range append([]string{a.BrowserID, action}, parts...) {
		h.Write([]byte(strconv.Itoa(len(p)) + ":" + p)) // length-prefixed: no two lists hash alike
	}
	return connectd.Command{ProjectID: a.ProjectID, UserID: a.UserID, Now: s.now(),
		IdempotencyKey: "portal_" + base64.RawURLEncoding.EncodeToString(h.Sum(nil))}
}

// payParts names how a user pays, for the idempotency key: never the card
// number or the CVC, only what tells two attempts apart.
func payParts(p connectd.PaymentInput) []string {
	out := []string{"method=" + p.PaymentMethodID, "confirm=" + p.ConfirmPaymentID, "save=" + strconv.FormatBool(p.SaveCard)}
	if c := p.Card; c != nil {
		last4 := c.Number
		if len(last4) > 4 {
			last4 = last4[len(last4)-4:]
		}
		out = append(out, "card="+last4+"/"+strconv.Itoa(c.ExpMonth)+"/"+strconv.Itoa(c.ExpYear))
	}
	return out
}

// send hands a command to the platform's actions. act is the interface's
// method expression, such as connectd.Actions.CancelSubscription: nothing
// but the command crosses to the platform.
func send[C, R any](ctx context.Context, s *Service, act func(connectd.Actions, context.Context, C) (R, error), c C) (R, error) {
	if err := s.CheckPlatform(); err != nil {
		var zero R
		return zero, err
	}
	return act(s.Platform.Actions(), ctx, c)
}

// CancelSubscription cancels a subscription of the actor.
func (s *Service) CancelSubscription(ctx context.Context, a Actor, subscriptionID string) (*connectd.Subscription, error) {
	return send(ctx, s, connectd.Actions.CancelSubscription, connectd.CancelSubscriptionCommand{
		Command: s.command(a, "cancelSubscription", subscriptionID), SubscriptionID: subscriptionID})
}

// ResumeSubscription resumes a canceled subscription of the actor.
func (s *Service) ResumeSubscription(ctx context.Context, a Actor, subscriptionID string) (*connectd.Subscription, error) {
	return send(ctx, s, connectd.Actions.ResumeSubscription, connectd.ResumeSubscriptionCommand{
		Command: s.command(a, "resumeSubscription", subscriptionID), SubscriptionID: subscriptionID})
}

// ChangePlan moves a subscription of the actor to planID, paid with pay.
func (s *Service) ChangePlan(ctx context.Context, a Actor, subscriptionID, planID string, pay connectd.PaymentInput) (*connectd.Purchase, error) {
	return send(ctx, s, connectd.Actions.ChangePlan, connectd.ChangePlanCommand{
		Command:        s.command(a, "changePlan", append([]string{subscriptionID, planID}, payParts(pay)...)...),
		SubscriptionID: subscriptionID, PlanID: planID, Pay: pay})
}

// BuyAddons adds add-ons to a subscription of the actor, paid with pay.
func (s *Service) BuyAddons(ctx context.Context, a Actor, subscriptionID string, addonIDs []string, pay connectd.PaymentInput) (*connectd.Purchase, error) {
	return send(ctx, s, connectd.Actions.BuyAddons, connectd.BuyAddonsCommand{
		Command:        s.command(a, "buyAddons", append([]string{subscriptionID, strings.Join(addonIDs, ",")}, payParts(pay)...)...),
		SubscriptionID: subscriptionID, AddonIDs: addonIDs, Pay: pay})
}

// Checkout buys a new subscription for the actor, paid with pay.
func (s *Service) Checkout(ctx context.Context, a Actor, order connectd.CheckoutInput, pay connectd.PaymentInput) (*connectd.Purchase, error) {
	parts := append([]string{order.PlanID, order.SIMID, order.SIMType, order.DeviceID, order.IMEI, strings.Join(order.Addons, ",")}, payParts(pay)...)
	return send(ctx, s, connectd.Actions.Checkout, connectd.CheckoutCommand{Command: s.command(a, "checkout", parts...), Order: order, Pay: pay})
}

// ConfirmPayment confirms a payment of the actor.
func (s *Service) ConfirmPayment(ctx context.Context, a Actor, paymentID string) (*connectd.Payment, error) {
	return send(ctx, s, connectd.Actions.ConfirmPayment, connectd.ConfirmPaymentCommand{
		Command: s.command(a, "confirmPayment", paymentID), PaymentID: paymentID})
}

// AddPaymentMethod saves card as the actor's default payment method.
func (s *Service) AddPaymentMethod(ctx context.Context, a Actor, card connectd.CardInput) (*connectd.PaymentMethod, error) {
	return send(ctx, s, connectd.Actions.AddPaymentMethod, connectd.AddPaymentMethodCommand{
		Command: s.command(a, "addPaymentMethod", payParts(connectd.PaymentInput{Card: &card})...), Card: card})
}

// SubmitPorting completes or fixes a porting of the actor and sends it
// again.
func (s *Service) SubmitPorting(ctx context.Context, a Actor, portingID string, in connectd.PortingInput) (*connectd.Porting, error) {
	parts := []string{portingID, deref(in.DonorProvider), deref(in.AccountNumber), strconv.FormatBool(in.AccountPin != nil)}
	if ad := in.Address; ad != nil {
		parts = append(parts, ad.Line1, deref(ad.Line2), ad.City, ad.PostalCode, deref(ad.State), ad.Country)
	}
	return send(ctx, s, connectd.Actions.SubmitPorting, connectd.SubmitPortingCommand{
		Command: s.command(a, "submitPorting", parts...), PortingID: portingID, Porting: in})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
