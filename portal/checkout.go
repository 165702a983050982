package portal

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/service"
)

// The new-subscription checkout (checkoutNewSubscription). The plan (and
// any add-ons, SIM, device or IMEI) come from the session; each field the
// session gave skips its step:
//
//	sim     choose eSIM or physical SIM, only when the session names no SIM
//	device  an optional IMEI, only when the session names no device or IMEI
//	pay     payment
//
// The answers of earlier steps travel in hidden fields and are checked
// again on every POST.

// Checkout steps.
const (
	stepSIM    = "sim"
	stepDevice = "device"
	stepPay    = "pay"
)

type checkoutView struct {
	purchaseView
	Step       string
	Plan       *connectd.Plan
	PlanDetail string
	Addons     []*connectd.Addon
	Total      connectd.Price
	// SIMType is the given SIM's type or the type chosen on the SIM step,
	// for the summary ("" until known).
	SIMType string
	// Device names the device the session gave; IMEI is the IMEI given or
	// typed.
	Device string
	IMEI   string
	// AskSIM and AskDevice say which steps this session has.
	AskSIM, AskDevice bool
	// Missing lists what the plan needs of the user's account that it
	// lacks; purchaseView.Unavailable explains why this checkout can't go
	// on.
	Missing []string
}

// steps lists the session's steps in order.
func (v *checkoutView) steps() []string {
	var s []string
	if v.AskSIM {
		s = append(s, stepSIM)
	}
	if v.AskDevice {
		s = append(s, stepDevice)
	}
	return append(s, stepPay)
}

// FirstStep is where this checkout starts.
func (v *checkoutView) FirstStep() string { return v.steps()[0] }

const checkoutGone = " You can close this page and go back to the app."

// confirming is set while the user confirms a payment their card asked to
// confirm: the order's SIM is then held by the pending subscription the
// first attempt made, and not being available is expected.
func (p *Portal) checkoutModel(ctx context.Context, st *state, confirming bool) (*checkoutView, error) {
	in := st.Session.Intent
	v := &checkoutView{AskSIM: in.SIM == "", AskDevice: in.Device == "" && in.IMEI == "", IMEI: in.IMEI}
	plan, err := getOptional(ctx, p.plans(), st.Project.ID, in.Plan)
	if err != nil {
		return nil, err
	}
	if plan == nil || plan.Status != connectd.PlanActive {
		v.Unavailable = "This plan is no longer available." + checkoutGone
		return v, nil
	}
	v.Plan, v.PlanDetail, v.Total = plan, allowanceText(plan.Allowances), plan.Price
	for _, id := range in.Addons {
		ad, err := getOptional(ctx, p.addons(), st.Project.ID, id)
		if err != nil {
			return nil, err
		}
		if ad == nil || ad.Status != connectd.PlanActive || !slices.Contains(ad.Plans, plan.ID) {
			v.Unavailable = "An add-on of this order is no longer available for this plan." + checkoutGone
			return v, nil
		}
		if ad.Price.Currency != v.Total.Currency {
			v.Unavailable = "This order mixes prices in different currencies and can't be paid." + checkoutGone
			return v, nil
		}
		v.Total.Amount += ad.Price.Amount
		v.Addons = append(v.Addons, ad)
	}
	if in.SIM != "" {
		sim, err := getOptional(ctx, p.sims(), st.Project.ID, in.SIM)
		if err != nil {
			return nil, err
		}
		if sim == nil || sim.Status != connectd.SIMAvailable && !confirming {
			v.Unavailable = "The SIM picked for this order is no longer available." + checkoutGone
			return v, nil
		}
		v.SIMType = simTypeText(sim.Type)
	}
	if in.Device != "" {
		d, err := getOptional(ctx, service.ResourcesOf[connectd.Device](p.svc), st.Project.ID, in.Device)
		if err != nil {
			return nil, err
		}
		if d == nil || d.User != nil && *d.User != st.User.ID {
			v.Unavailable = "The phone picked for this order can't be found on your account." + checkoutGone
			return v, nil
		}
		v.Device = strings.TrimSpace(d.Manufacturer + " " + d.Model)
	}
	if plan.Requirements.FullName && (st.User.FullName == nil || *st.User.FullName == "") {
		v.Missing = append(v.Missing, "your full name")
	}
	if plan.Requirements.Address && st.User.Address == nil {
		v.Missing = append(v.Missing, "your address")
	}
	if len(v.Missing) > 0 {
		return v, nil
	}
	if v.Pay.Saved, err = p.savedMethods(ctx, st); err != nil {
		return nil, err
	}
	return v, nil
}

// checkoutAnswers are the answers of the SIM and device steps.
type checkoutAnswers struct {
	simType string
	imei    string
}

// hidden returns the answers of the steps before step, to carry on.
func (a checkoutAnswers) hidden(v *checkoutView, step string) map[string]string {
	h := map[string]string{"step": step}
	before := v.steps()[:slices.Index(v.steps(), step)]
	if slices.Contains(before, stepSIM) {
		h["sim_type"] = a.simType
	}
	if slices.Contains(before, stepDevice) {
		h["imei"] = a.imei
	}
	return h
}

func checkoutTitle(step string) string {
	switch step {
	case stepSIM:
		return "Choose your SIM"
	case stepDevice:
		return "Your phone"
	}
	return "Checkout"
}

func (p *Portal) checkoutPage(w http.ResponseWriter, r *http.Request, st *state) {
	v, err := p.checkoutModel(r.Context(), st, false)
	if err != nil {
		p.fail(w, r, st.Session, err)
		return
	}
	v.Step = v.steps()[0]
	p.render(w, r, http.StatusOK, "checkout", st, pageData{Title: checkoutTitle(v.Step), Data: v,
		Hidden: checkoutAnswers{}.hidden(v, v.Step)})
}

// checkout answers every step's POST: it checks the answers so far, then
// shows the next step or, on the payment step, buys the subscription.
func (p *Portal) checkout(w http.ResponseWriter, r *http.Request, st *state) {
	ctx := r.Context()
	v, err := p.checkoutModel(ctx, st, r.PostForm.Get("confirm_payment") != "")
	if err != nil {
		p.fail(w, r, st.Session, err)
		return
	}
	if v.Unavailable != "" || len(v.Missing) > 0 {
		v.Step = stepPay
		p.render(w, r, http.StatusConflict, "checkout", st, pageData{Title: "Checkout", Data: v})
		return
	}
	f := r.PostForm
	steps := v.steps()
	at := slices.Index(steps, f.Get("step"))
	if at < 0 {
		at = 0
	}
	ans := checkoutAnswers{simType: f.Get("sim_type"), imei: strings.TrimSpace(f.Get("imei"))}
	values := map[string]string{"sim_type": ans.simType, "imei": ans.imei}
	errs := map[string]string{}
	show := func(step string, status int, notice string, pending *pendingView) {
		v.Step, v.Pending = step, pending
		if v.AskSIM && step != stepSIM {
			v.SIMType = simTypeText(ans.simType)
		}
		if v.AskDevice && step != stepDevice {
			v.IMEI = ans.imei
		}
		title := checkoutTitle(step)
		if pending != nil {
			title = "Confirm your payment"
		}
		p.render(w, r, status, "checkout", st, pageData{Title: title, Data: v, Errors: errs, Values: values, Notice: notice,
			Hidden: ans.hidden(v, step)})
	}
	// Every answer up to this step is checked again: hidden fields come
	// from the browser too. The first bad one goes back to its step.
	for _, s := range steps[:at+1] {
		switch s {
		case stepSIM:
			if ans.simType != connectd.SIMTypeESIM && ans.simType != connectd.SIMTypePSIM {
				errs["sim_type"] = "Choose eSIM or physical SIM."
				show(stepSIM, http.StatusUnprocessableEntity, "", nil)
				return
			}
		case stepDevice:
			ans.imei = strings.NewReplacer(" ", "", "-", "").Replace(ans.imei)
			if ans.imei != "" && !connectd.ValidIMEI(ans.imei) {
				errs["imei"] = "Enter the 15-digit IMEI (dial *#06# to see it), or leave it empty."
				show(stepDevice, http.StatusUnprocessableEntity, "", nil)
				return
			}
		}
	}
	if steps[at] != stepPay {
		show(steps[at+1], http.StatusOK, "", nil)
		return
	}
	pay, payValues, payErrs := paymentFrom(r, v.Pay.Saved)
	for k, val := range payValues {
		values[k] = val
	}
	for k, msg := range payErrs {
		errs[k] = msg
	}
	showPay := func(status int, notice string, pending *pendingView) { show(stepPay, status, notice, pending) }
	if len(errs) > 0 {
		showPay(http.StatusUnprocessableEntity, "", nil)
		return
	}
	in := connectd.CheckoutInput{PlanID: st.Session.Intent.Plan, SIMID: st.Session.Intent.SIM,
		DeviceID: st.Session.Intent.Device, IMEI: st.Session.Intent.IMEI, Addons: st.Session.Intent.Addons}
	if v.AskSIM {
		in.SIMType = ans.simType
	}
	if v.AskDevice {
		in.IMEI = ans.imei
	}
	res, err := p.svc.Checkout(ctx, st.Actor(), in, pay)
	p.settlePurchase(w, r, st, res, err, errs, pendingView{Action: "/portal/checkout", Back: "/portal/checkout"}, showPay, "sim_type", "imei")
}
