package httperr

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/connectd/connectd"
)

func TestStatusOfEveryType(t *testing.T) {
	cases := []struct {
		typ    connectd.ErrorType
		status int
	}{
		{connectd.TypeBadRequest, 400}, {connectd.TypeUnauthenticated, 401}, {connectd.TypeForbidden, 403},
		{connectd.TypeNotFound, 404}, {connectd.TypeMethodNotAllowed, 405}, {connectd.TypeConflict, 409},
		{connectd.TypePayloadTooLarge, 413}, {connectd.TypeUnsupportedMediaType, 415}, {connectd.TypeUnprocessable, 422},
		{connectd.TypeTooManyRequests, 429}, {connectd.TypeInternal, 500}, {connectd.TypeUnavailable, 503},
		{"somethingNew", 500}, // an unknown type is a fault, never a success
	}
	for _, c := range cases {
		if got := Status(c.typ); got != c.status {
			t.Errorf("Status(%s) = %d, want %d", c.typ, got, c.status)
		}
	}
}

func TestRefusalIsTheOnePredicate(t *testing.T) {
	conflict := connectd.Errorf(connectd.TypeConflict, "x", "changed")
	cases := []struct {
		name    string
		err     error
		refusal bool
		page    int
	}{
		{"conflict", conflict, true, http.StatusConflict},
		{"wrapped conflict", fmt.Errorf("ctx: %w", conflict), true, http.StatusConflict},
		{"validation", connectd.ValidationError(nil), true, http.StatusUnprocessableEntity},
		{"not found", connectd.Errorf(connectd.TypeNotFound, "x", "gone"), true, http.StatusUnprocessableEntity},
		// Faults are never shown to the user: internal and unavailable alike.
		{"internal", connectd.AsError(errors.New("disk")), false, 0},
		{"unavailable", connectd.Errorf(connectd.TypeUnavailable, "x", "down"), false, 0},
		{"plain error", errors.New("boom"), false, 0},
		{"store sentinel", connectd.ErrConflict, false, 0},
	}
	for _, c := range cases {
		e := Refusal(c.err)
		if (e != nil) != c.refusal {
			t.Errorf("%s: Refusal = %v, want refusal %v", c.name, e, c.refusal)
		}
		if e != nil && Of(e.Type).Page != c.page {
			t.Errorf("%s: page status %d, want %d", c.name, Of(e.Type).Page, c.page)
		}
	}
}
