package service

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/connectd/connectd"
)

// checkIntent runs the intents table of the contract against the platform:
// the referenced resources exist in the project and are the session user's
// (always), and, under strict intent validation, they are in a state the
// intent can act on. userID is the session's user; an unauthenticated
// session (no user, no userDetails) skips ownership, which runs after
// login; a userDetails session owns nothing yet.
func (s *Service) checkIntent(ctx context.Context, p *connectd.Project, in connectd.Intent, userID *string, details *connectd.UserDetails) error {
	if s.Platform == nil {
		return nil // IDs were checked for format only
	}
	c := &intentCheck{ctx: ctx, pf: s.Platform, project: p.ID, strict: p.Settings.IntentValidation != connectd.IntentValidationLenient}
	switch {
	case userID != nil:
		c.user, c.checkOwner = *userID, true
	case details != nil:
		c.checkOwner = true // a user to be created owns nothing yet
	}
	path := "intent." + string(in.Type) + "."
	switch in.Type {
	case connectd.IntentCancelSubscription:
		if sub := c.subscription(path+"subscription", in.Subscription); sub != nil && c.strict && !sub.Cancelable() {
			c.fail(path+"subscription", "notCancelable", "subscriptionNotCancelable",
				"subscription %s cannot be canceled: only a recurring subscription without endedAt can", sub.ID)
		}
	case connectd.IntentResumeSubscription:
		if sub := c.subscription(path+"subscription", in.Subscription); sub != nil && c.strict && !sub.Resumable() {
			c.fail(path+"subscription", "notResumable", "subscriptionNotResumable",
				"subscription %s cannot be resumed: only a recurring subscription with endedAt set can", sub.ID)
		}
	case connectd.IntentChangeSubscription:
		if sub := c.subscription(path+"subscription", in.Subscription); sub != nil && c.strict && !c.hasAlternatives(sub) {
			c.fail(path+"subscription", "noAlternatives", "subscriptionHasNoAlternatives",
				"subscription %s has no other active plan and no add-on to buy, so the change page would be empty", sub.ID)
		}
	case connectd.IntentCheckoutAddon:
		sub := c.subscription(path+"subscription", in.Subscription)
		if sub != nil && c.strict && sub.Status != connectd.SubscriptionActive {
			c.fail(path+"subscription", "notActive", "subscriptionNotActive",
				"subscription %s is %s; add-ons can be bought only for an active subscription", sub.ID, sub.Status)
		}
		c.addons(path+"addons", in.Addons, sub)
	case connectd.IntentCheckoutNewSubscription:
		c.checkoutNew(path, in)
	case connectd.IntentCompletePorting:
		if sub := c.subscription(path+"subscription", in.Subscription); sub != nil && c.strict && !c.hasWaitingPorting(sub) {
			c.fail(path+"subscription", "noPortingWaiting", "portingNotWaiting",
				"subscription %s has no porting waiting for the user (draft, information required, or declined)", sub.ID)
		}
	case connectd.IntentConfirmPayment:
		pay, err := c.pf.Payments().Get(ctx, c.project, in.Payment)
		if c.found(path+"payment", "payment", in.Payment, err) {
			c.owner(path+"payment", "payment", pay.ID, pay.User)
			if pay.Status != connectd.PaymentRequiresConfirmation {
				c.fail(path+"payment", "notConfirmable", "paymentNotConfirmable",
					"payment %s is %s; only a payment in requiresConfirmation can be confirmed", pay.ID, pay.Status)
			}
		}
	case connectd.IntentViewEsimInstallation:
		if sub := c.subscription(path+"subscription", in.Subscription); sub != nil && c.strict && !c.hasESIM(sub) {
			c.fail(path+"subscription", "notEsim", "subscriptionNotEsim",
				"subscription %s has no eSIM, so there is nothing to install", sub.ID)
		}
	case connectd.IntentViewSubscription:
		c.subscription(path+"subscription", in.Subscription)
	}
	return c.err()
}

type intentCheck struct {
	ctx        context.Context
	pf         connectd.Platform
	project    string
	user       string
	checkOwner bool
	strict     bool
	details    []connectd.FieldError
	codes      []string // top-level code per detail
	fault      error
}

func (c *intentCheck) fail(field, detailCode, code, format string, args ...any) {
	c.details = append(c.details, connectd.FieldError{Field: field, Code: detailCode, Message: fmt.Sprintf(format, args...)})
	c.codes = append(c.codes, code)
}

// err returns the refusal: a 422 whose code is that of the first problem
// and whose details list them all.
func (c *intentCheck) err() error {
	if c.fault != nil {
		return c.fault
	}
	if len(c.details) == 0 {
		return nil
	}
	msg := c.details[0].Message
	if len(c.details) > 1 {
		msg += fmt.Sprintf(" (and %d more problems; see details)", len(c.details)-1)
	}
	return &connectd.Error{Type: connectd.TypeUnprocessable, Code: c.codes[0], Message: upperFirst(msg) + ".", Details: c.details}
}

func upperFirst(s string) string {
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		return string(s[0]-'a'+'A') + s[1:]
	}
	return s
}

// found reports whether a Get succeeded, recording not-found or a fault.
func (c *intentCheck) found(field, kind, id string, err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, connectd.ErrNotFound):
		c.fail(field, "notFound", kind+"NotFound", "no %s %s exists in this project", kind, id)
	default:
		if c.fault == nil {
			c.fault = err
		}
	}
	return false
}

// owner records a problem when the resource belongs to someone other than
// the session's user.
func (c *intentCheck) owner(field, kind, id, owner string) {
	if c.checkOwner && owner != "" && owner != c.user {
		c.fail(field, "notOwned", kind+"NotOwned", "%s %s belongs to another user than the session's", kind, id)
	}
}

func (c *intentCheck) subscription(field, id string) *connectd.Subscription {
	sub, err := c.pf.Subscriptions().Get(c.ctx, c.project, id)
	if !c.found(field, "subscription", id, err) {
		return nil
	}
	c.owner(field, "subscription", sub.ID, sub.User)
	return sub
}

// addons checks that each add-on exists and can be bought for the plan of
// sub (when known); strict mode also wants them active.
func (c *intentCheck) addons(field string, ids []string, sub *connectd.Subscription) {
	plan := ""
	if sub != nil {
		plan = sub.Plan
	}
	c.addonsForPlan(field, ids, plan)
}

func (c *intentCheck) addonsForPlan(field string, ids []string, plan string) {
	for i, id := range ids {
		f := fmt.Sprintf("%s[%d]", field, i)
		a, err := c.pf.Addons().Get(c.ctx, c.project, id)
		if !c.found(f, "addon", id, err) {
			continue
		}
		if plan != "" && !slices.Contains(a.Plans, plan) {
			c.fail(f, "notAvailableForPlan", "addonNotAvailable", "add-on %s cannot be bought for plan %s", id, plan)
		} else if c.strict && a.Status != connectd.PlanActive {
			c.fail(f, "notActive", "addonNotActive", "add-on %s is %s; only active add-ons can be bought", id, a.Status)
		}
	}
}

func (c *intentCheck) checkoutNew(path string, in connectd.Intent) {
	plan, err := c.pf.Plans().Get(c.ctx, c.project, in.Plan)
	if c.found(path+"plan", "plan", in.Plan, err) && c.strict && plan.Status != connectd.PlanActive {
		c.fail(path+"plan", "notActive", "planNotActive", "plan %s is %s; only an active plan can be bought", plan.ID, plan.Status)
	}
	if in.SIM != "" {
		sim, err := c.pf.SIMs().Get(c.ctx, c.project, in.SIM)
		if c.found(path+"sim", "sim", in.SIM, err) && c.strict && sim.Status != connectd.SIMAvailable {
			c.fail(path+"sim", "notAvailable", "simNotAvailable", "SIM %s is already assigned; pass an available SIM or leave sim out", sim.ID)
		}
	}
	if in.Device != "" {
		dev, err := c.pf.Devices().Get(c.ctx, c.project, in.Device)
		if c.found(path+"device", "device", in.Device, err) && dev.User != nil {
			c.owner(path+"device", "device", dev.ID, *dev.User)
		}
	}
	planID := ""
	if plan != nil {
		planID = plan.ID
	}
	c.addonsForPlan(path+"addons", in.Addons, planID)
}

// hasAlternatives reports whether the change page would offer something:
// another active plan, or an active add-on for the subscription's plan.
func (c *intentCheck) hasAlternatives(sub *connectd.Subscription) bool {
	plans, err := c.pf.Plans().List(c.ctx, c.project, connectd.PlatformFilter{Status: connectd.PlanActive, ListParams: connectd.ListParams{Limit: 2}})
	if err != nil {
		c.fault = err
		return true
	}
	for _, p := range plans.Items {
		if p.ID != sub.Plan {
			return true
		}
	}
	return c.eachPage(func(after string) (bool, string, error) {
		page, err := c.pf.Addons().List(c.ctx, c.project, connectd.PlatformFilter{Status: connectd.PlanActive,
			ListParams: connectd.ListParams{Limit: connectd.MaxListLimit, After: after}})
		if err != nil {
			return false, "", err
		}
		for _, a := range page.Items {
			if slices.Contains(a.Plans, sub.Plan) {
				return true, "", nil
			}
		}
		if !page.MoreAfter || len(page.Items) == 0 {
			return false, "", nil
		}
		return false, page.Items[len(page.Items)-1].ID, nil
	})
}

func (c *intentCheck) hasWaitingPorting(sub *connectd.Subscription) bool {
	return c.eachPage(func(after string) (bool, string, error) {
		page, err := c.pf.Portings().List(c.ctx, c.project, connectd.PlatformFilter{Subscription: sub.ID,
			ListParams: connectd.ListParams{Limit: connectd.MaxListLimit, After: after}})
		if err != nil {
			return false, "", err
		}
		for _, p := range page.Items {
			if p.WaitingForUser() {
				return true, "", nil
			}
		}
		if !page.MoreAfter || len(page.Items) == 0 {
			return false, "", nil
		}
		return false, page.Items[len(page.Items)-1].ID, nil
	})
}

// eachPage calls page until it finds (true) or runs out ("" cursor). A
// database fault counts as found, so that the fault, not a refusal, is
// what the caller reports.
func (c *intentCheck) eachPage(page func(after string) (found bool, next string, err error)) bool {
	after := ""
	for {
		found, next, err := page(after)
		if err != nil {
			c.fault = err
			return true
		}
		if found || next == "" {
			return found
		}
		after = next
	}
}

func (c *intentCheck) hasESIM(sub *connectd.Subscription) bool {
	if sub.SIM == nil {
		return false
	}
	sim, err := c.pf.SIMs().Get(c.ctx, c.project, *sub.SIM)
	if errors.Is(err, connectd.ErrNotFound) {
		return false
	}
	if err != nil {
		c.fault = err
		return true
	}
	return sim.Type == connectd.SIMTypeESIM
}

// CheckSessionUser runs the intent's checks for a user who signed in
// through hosted login, exactly as if the session had been created for
// them: a session must never let one user act on another user's resource.
func (s *Service) CheckSessionUser(ctx context.Context, p *connectd.Project, sess *connectd.Session, userID string) error {
	return s.internalIfFault(ctx, s.checkIntent(ctx, p, sess.Intent, &userID, nil))
}
