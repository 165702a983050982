package portal_test

import (
	"fmt"
	"image"
	"image/color"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	gozxingqr "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/apitest"
)

// decodeQR reads the text of the page's QR code: it draws the SVG's
// module runs into an image and has an independent QR decoder read it.
func decodeQR(t *testing.T, page string) string {
	t.Helper()
	start, end := strings.Index(page, "<svg"), strings.Index(page, "</svg>")
	if start < 0 || end < start {
		t.Fatalf("page has no svg\n%s", page)
	}
	svg := page[start:end]
	var size int
	if _, err := fmt.Sscanf(svg[strings.Index(svg, `viewBox="`):], `viewBox="0 0 %d`, &size); err != nil {
		t.Fatalf("svg viewBox: %v", err)
	}
	const scale = 4
	img := image.NewGray(image.Rect(0, 0, size*scale, size*scale))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	d := svg[strings.Index(svg, ` d="`)+4:]
	d = d[:strings.IndexByte(d, '"')]
	for _, run := range strings.Split(strings.TrimSuffix(d, "z"), "z") {
		var x, y, w, w2 int
		if _, err := fmt.Sscanf(run, "M%d %dh%dv1h-%d", &x, &y, &w, &w2); err != nil {
			t.Fatalf("svg path run %q: %v", run, err)
		}
		for px := x * scale; px < (x+w)*scale; px++ {
			for py := y * scale; py < (y+1)*scale; py++ {
				img.SetGray(px, py, color.Gray{})
			}
		}
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := gozxingqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		t.Fatalf("QR code does not decode: %v", err)
	}
	return res.GetText()
}

// sim creates a SIM assigned to a new subscription of the fixture's user
// and returns the subscription.
func (f *acctFixture) simSubscription(sim *connectd.SIM) *connectd.Subscription {
	f.t.Helper()
	sim.Status = connectd.SIMAssigned
	f.ok(f.e.Service.Platform.SIMs().Create(f.ctx, f.e.Project, sim))
	return f.subscription(f.user, &sim.ID)
}

// openEsim opens a viewEsimInstallation session on a new subscription of
// sim, on the eSIM page.
func (f *acctFixture) openEsim(sim *connectd.SIM) (*apitest.Browser, string, *apitest.Response) {
	f.t.Helper()
	sub := f.simSubscription(sim)
	return f.open("viewEsimInstallation", map[string]any{"subscription": sub.ID}, "/portal/esim")
}

func TestViewEsimInstallation(t *testing.T) {
	t.Parallel()
	f := newAcctFixture(t, nil)
	code := "LPA:1$smdp.example.com$K2-1A2B3C-4D5E6F"
	b, id, page := f.openEsim(&connectd.SIM{Type: connectd.SIMTypeESIM, ICCID: "8901000000000000011", ActivationCode: &code})
	acctPage(t, page, http.StatusOK, `<svg class="qr"`, `data-testid="qr"`, `<path fill="#000" d="M`,
		`data-testid="smdp">smdp.example.com<`, `data-testid="matching-id">K2-1A2B3C-4D5E6F<`,
		`data-testid="activation-code">LPA:1$smdp.example.com$K2-1A2B3C-4D5E6F<`,
		`href="https://esimsetup.apple.com/esim_qrcode_provisioning?carddata=`+url.QueryEscape(code)+`"`,
		`data-testid="continue"`)
	// The QR code is an inline SVG: no script, no external image, no
	// inline style the policy would block.
	body := string(page.Body)
	svg := body[strings.Index(body, "<svg"):strings.Index(body, "</svg>")]
	for _, bad := range []string{"<script", "href", "style", "<image"} {
		if strings.Contains(svg, bad) {
			t.Fatalf("QR svg has %q", bad)
		}
	}
	if got := decodeQR(t, body); got != code {
		t.Fatalf("QR code reads %q, want %q", got, code)
	}

	r := b.Post("/portal/esim/done", nil)
	f.linkedBack(r, id, "success", "completed")
}

// Activation codes of every shape read back from their QR code: upper
// case only (the QR alphanumeric mode), lower case, and with the optional
// OID and confirmation-code flag.
func TestViewEsimInstallationQRCodes(t *testing.T) {
	t.Parallel()
	f := newAcctFixture(t, nil)
	for i, code := range []string{"LPA:1$SMDP.EXAMPLE.COM$AAAA-1111",
		"LPA:1$rsp.example-operator.net$bbbb-2222-lower-case-and-a-good-deal-longer$1.3.6.1.4.1.31746$1"} {
		_, _, page := f.openEsim(&connectd.SIM{Type: connectd.SIMTypeESIM, ICCID: fmt.Sprintf("89010000000000000%02d", 20+i), ActivationCode: &code})
		if got := decodeQR(t, string(page.Body)); got != code {
			t.Fatalf("QR code reads %q, want %q", got, code)
		}
	}
}

func TestViewEsimInstallationNotEsim(t *testing.T) {
	t.Parallel()
	s := connectd.DefaultProjectSettings()
	s.IntentValidation = connectd.IntentValidationLenient // strict refuses such a session at creation
	f := newAcctFixture(t, &s)
	b, id, page := f.openEsim(&connectd.SIM{Type: connectd.SIMTypePSIM, ICCID: "8901000000000000031"})
	acctPage(t, page, http.StatusOK, "physical SIM card, not an eSIM")
	hasNone(t, page, "<svg", `data-testid="continue"`, "esimsetup")
	f.exited(b, id)
}

func TestViewEsimInstallationExit(t *testing.T) {
	t.Parallel()
	f := newAcctFixture(t, nil)
	code := "LPA:1$smdp.example.com$K2-1A2B3C-4D5E6F"
	b, id, _ := f.openEsim(&connectd.SIM{Type: connectd.SIMTypeESIM, ICCID: "8901000000000000041", ActivationCode: &code})
	f.exited(b, id)
}
