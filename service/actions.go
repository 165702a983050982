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

func (s *Service) actions() (connectd.Actions, error) {
	if err := s.CheckPlatform(); err != nil {
		return nil, err
	}
	return s.Platform.Actions(), nil
}

// CancelSubscription cancels a subscription of the actor.
func (s *Service) CancelSubscription(ctx context.Context, a Actor, subscriptionID string) (*connectd.Subscription, error) {
	acts, err := s.actions()
	if err != nil {
		return nil, err
	}
	return acts.CancelSubscription(ctx, connectd.CancelSubscriptionCommand{
		Command: s.command(a, "cancelSubscription", subscriptionID), SubscriptionID: subscriptionID})
}

// ResumeSubscription resumes a canceled subscription of the actor.
func (s *Service) ResumeSubscription(ctx context.Context, a Actor, subscriptionID string) (*connectd.Subscription, error) {
	acts, err := s.actions()
	if err != nil {
		return nil, err
	}
	return acts.ResumeSubscription(ctx, connectd.ResumeSubscriptionCommand{
		Command: s.command(a, "resumeSubscription", subscriptionID), SubscriptionID: subscriptionID})
}

// ChangePlan moves a subscription of the actor to planID, paid with pay.
func (s *Service) ChangePlan(ctx context.Context, a Actor, subscriptionID, planID string, pay connectd.PaymentInput) (*connectd.Purchase, error) {
	acts, err := s.actions()
	if err != nil {
		return nil, err
	}
	return acts.ChangePlan(ctx, connectd.ChangePlanCommand{
		Command:        s.command(a, "changePlan", append([]string{subscriptionID, planID}, payParts(pay)...)...),
		SubscriptionID: subscriptionID, PlanID: planID, Pay: pay})
}

// BuyAddons adds add-ons to a subscription of the actor, paid with pay.
func (s *Service) BuyAddons(ctx context.Context, a Actor, subscriptionID string, addonIDs []string, pay connectd.PaymentInput) (*connectd.Purchase, error) {
	acts, err := s.actions()
	if err != nil {
		return nil, err
	}
	return acts.BuyAddons(ctx, connectd.BuyAddonsCommand{
		Command:        s.command(a, "buyAddons", append([]string{subscriptionID, strings.Join(addonIDs, ",")}, payParts(pay)...)...),
		SubscriptionID: subscriptionID, AddonIDs: addonIDs, Pay: pay})
}

// Checkout buys a new subscription for the actor, paid with pay.
func (s *Service) Checkout(ctx context.Context, a Actor, order connectd.CheckoutInput, pay connectd.PaymentInput) (*connectd.Purchase, error) {
	acts, err := s.actions()
	if err != nil {
		return nil, err
	}
	parts := append([]string{order.PlanID, order.SIMID, order.SIMType, order.DeviceID, order.IMEI, strings.Join(order.Addons, ",")}, payParts(pay)...)
	return acts.Checkout(ctx, connectd.CheckoutCommand{Command: s.command(a, "checkout", parts...), Order: order, Pay: pay})
}

// ConfirmPayment confirms a payment of the actor.
func (s *Service) ConfirmPayment(ctx context.Context, a Actor, paymentID string) (*connectd.Payment, error) {
	acts, err := s.actions()
	if err != nil {
		return nil, err
	}
	return acts.ConfirmPayment(ctx, connectd.ConfirmPaymentCommand{Command: s.command(a, "confirmPayment", paymentID), PaymentID: paymentID})
}

// AddPaymentMethod saves card as the actor's default payment method.
func (s *Service) AddPaymentMethod(ctx context.Context, a Actor, card connectd.CardInput) (*connectd.PaymentMethod, error) {
	acts, err := s.actions()
	if err != nil {
		return nil, err
	}
	return acts.AddPaymentMethod(ctx, connectd.AddPaymentMethodCommand{
		Command: s.command(a, "addPaymentMethod", payParts(connectd.PaymentInput{Card: &card})...), Card: card})
}

// SubmitPorting completes or fixes a porting of the actor and sends it
// again.
func (s *Service) SubmitPorting(ctx context.Context, a Actor, portingID string, in connectd.PortingInput) (*connectd.Porting, error) {
	acts, err := s.actions()
	if err != nil {
		return nil, err
	}
	parts := []string{portingID, deref(in.DonorProvider), deref(in.AccountNumber), strconv.FormatBool(in.AccountPin != nil)}
	if ad := in.Address; ad != nil {
		parts = append(parts, ad.Line1, deref(ad.Line2), ad.City, ad.PostalCode, deref(ad.State), ad.Country)
	}
	return acts.SubmitPorting(ctx, connectd.SubmitPortingCommand{Command: s.command(a, "submitPorting", parts...), PortingID: portingID, Porting: in})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
