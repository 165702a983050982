// Package httperr is connectd's one table from error types to HTTP
// answers. The API renders it as JSON (package api), the portal as HTML
// (package portal); neither keeps a mapping of its own.
//
// It imports only the domain package: never a store.
package httperr

import (
	"errors"
	"net/http"

	"github.com/connectd/connectd"
)

// Answer is how one error type is answered.
type Answer struct {
	// Status is the HTTP status of the API's JSON error.
	Status int
	// Refusal is true when the error says no to what the user or client
	// asked, in words meant for them: the portal shows its message on the
	// page. Internal and unavailable errors are faults, not refusals: their
	// cause is logged and the portal ends the session with status=error.
	Refusal bool
	// Page is the status of a portal page that shows a refused action
	// again: 409 when the state changed under the user (a conflict), 422
	// when what they asked can't be done. Zero for faults.
	Page int
}

// table is the mapping. Each type appears once; an unknown type is the
// internal fault.
var table = map[connectd.ErrorType]Answer{
	connectd.TypeBadRequest:           {http.StatusBadRequest, true, http.StatusUnprocessableEntity},
	connectd.TypeUnauthenticated:      {http.StatusUnauthorized, true, http.StatusUnprocessableEntity},
	connectd.TypeForbidden:            {http.StatusForbidden, true, http.StatusUnprocessableEntity},
	connectd.TypeNotFound:             {http.StatusNotFound, true, http.StatusUnprocessableEntity},
	connectd.TypeMethodNotAllowed:     {http.StatusMethodNotAllowed, true, http.StatusUnprocessableEntity},
	connectd.TypeConflict:             {http.StatusConflict, true, http.StatusConflict},
	connectd.TypePayloadTooLarge:      {http.StatusRequestEntityTooLarge, true, http.StatusUnprocessableEntity},
	connectd.TypeUnsupportedMediaType: {http.StatusUnsupportedMediaType, true, http.StatusUnprocessableEntity},
	connectd.TypeUnprocessable:        {http.StatusUnprocessableEntity, true, http.StatusUnprocessableEntity},
	connectd.TypeTooManyRequests:      {http.StatusTooManyRequests, true, http.StatusUnprocessableEntity},
	connectd.TypeInternal:             {Status: http.StatusInternalServerError},
	connectd.TypeUnavailable:          {Status: http.StatusServiceUnavailable},
}

// Of returns the answer of error type t.
func Of(t connectd.ErrorType) Answer {
	if a, ok := table[t]; ok {
		return a
	}
	return table[connectd.TypeInternal]
}

// Status is the HTTP status of error type t.
func Status(t connectd.ErrorType) int { return Of(t).Status }

// Refusal returns err as a refusal to show the user, or nil when it is a
// fault (not a *connectd.Error, or an internal or unavailable one). It is
// the one refusal predicate of the API and the portal.
func Refusal(err error) *connectd.Error {
	var e *connectd.Error
	if errors.As(err, &e) && Of(e.Type).Refusal {
		return e
	}
	return nil
}
