package portal

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/yeqown/go-qrcode/v2"

	"github.com/connectd/connectd"
)

// The eSIM installation page of viewEsimInstallation: the activation code
// of the session's subscription's eSIM as a QR code (to scan from another
// device), its SM-DP+ address and matching ID for manual entry, and a
// one-tap install link for phones that support it. Done completes the
// session: looking was the intended action.

// appleSetupURL installs an eSIM from its activation code on iOS 17.4 and
// later.
const appleSetupURL = "https://esimsetup.apple.com/esim_qrcode_provisioning?carddata="

type esimView struct {
	// Code is the activation code, "LPA:1$<SM-DP+ address>$<matching ID>";
	// empty when there is no eSIM to install, and Why says why.
	Code       string
	SMDP       string
	MatchingID string
	// QR is the activation code as an inline SVG.
	QR template.HTML
	// AppleLink is the one-tap install link for iPhones.
	AppleLink string
	Why       string
}

// parseActivationCode splits an LPA activation code,
// LPA:1$<SM-DP+ address>$<matching ID>[$...], into its SM-DP+ address and
// matching ID.
func parseActivationCode(code string) (smdp, matchingID string, ok bool) {
	parts := strings.Split(code, "$")
	if len(parts) < 3 || parts[0] != "LPA:1" || parts[1] == "" || parts[2] == "" {
		return "", "", false
	}
	return parts[1], parts[2], true
}

func (p *Portal) esimModel(ctx context.Context, st *state) (esimView, error) {
	var v esimView
	sub, err := p.subscriptions().Get(ctx, st.Project.ID, st.Session.Intent.Subscription)
	if notFound(err) || err == nil && sub.User != st.User.ID {
		v.Why = "This subscription can't be found on your account. There is no eSIM to install here."
		return v, nil
	}
	if err != nil {
		return v, err
	}
	if sub.SIM == nil {
		v.Why = "This subscription has no SIM yet, so there is no eSIM to install. Please check again later."
		return v, nil
	}
	sim, err := p.sims().Get(ctx, st.Project.ID, *sub.SIM)
	if notFound(err) {
		v.Why = "This subscription's SIM can't be found, so there is no eSIM to install. Please contact support."
		return v, nil
	}
	if err != nil {
		return v, err
	}
	if sim.Type != connectd.SIMTypeESIM {
		v.Why = "This subscription uses a physical SIM card, not an eSIM, so there is nothing to install here. Put the SIM card in your phone to use it."
		return v, nil
	}
	code := derefString(sim.ActivationCode)
	smdp, matchingID, ok := parseActivationCode(code)
	if !ok {
		v.Why = "This eSIM is not ready to install yet. Please contact support."
		return v, nil
	}
	svg, err := qrSVG(code)
	if err != nil {
		return v, fmt.Errorf("eSIM QR code of %s: %w", sim.ID, err)
	}
	v.Code, v.SMDP, v.MatchingID, v.QR = code, smdp, matchingID, svg
	v.AppleLink = appleSetupURL + url.QueryEscape(code)
	return v, nil
}

func (p *Portal) esimPage(w http.ResponseWriter, r *http.Request, st *state) {
	v, err := p.esimModel(r.Context(), st)
	if err != nil {
		p.fail(w, r, st.Session, err)
		return
	}
	p.render(w, r, http.StatusOK, "esim", st, pageData{Title: "Install your eSIM", Data: v})
}

// qrSVG draws text as a QR code in an SVG image: one path of dark modules
// on a white square with the 4-module quiet zone the standard asks for. It
// uses presentation attributes only: the page's policy allows no inline
// style.
func qrSVG(text string) (svg template.HTML, err error) {
	defer func() {
		if r := recover(); r != nil { // the encoder panics on some inputs
			err = fmt.Errorf("qr encoder: %v", r)
		}
	}()
	qrc, err := qrcode.NewWith(text, qrcode.WithErrorCorrectionLevel(qrcode.ErrorCorrectionMedium))
	if err != nil {
		return "", err
	}
	var m bitmapWriter
	if err := qrc.Save(&m); err != nil {
		return "", err
	}
	const quiet = 4
	size := len(m.bits) + 2*quiet
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="qr" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-label="QR code of your eSIM activation code" shape-rendering="crispEdges" data-testid="qr">`, size, size)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, size, size)
	for y, row := range m.bits {
		for x := 0; x < len(row); x++ {
			if !row[x] {
				continue
			}
			run := 1 // a horizontal run of dark modules is one rectangle
			for x+run < len(row) && row[x+run] {
				run++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", x+quiet, y+quiet, run, run)
			x += run - 1
		}
	}
	b.WriteString(`"/></svg>`)
	// Safe: the markup above holds numbers only, none of the text.
	return template.HTML(b.String()), nil
}

// bitmapWriter keeps the modules of a QR code, rows of columns.
type bitmapWriter struct{ bits [][]bool }

func (w *bitmapWriter) Write(m qrcode.Matrix) error {
	w.bits = m.Bitmap()
	return nil
}

func (w *bitmapWriter) Close() error { return nil }
