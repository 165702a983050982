package connectd

import (
	"errors"
	"fmt"
)

// ErrorType is the documented error "type". Each type maps to exactly one
// HTTP status, in one place: package api.
type ErrorType string

const (
	TypeBadRequest           ErrorType = "badRequest"           // 400
	TypeUnauthenticated      ErrorType = "unauthenticated"      // 401
	TypeForbidden            ErrorType = "forbidden"            // 403
	TypeNotFound             ErrorType = "notFound"             // 404
	TypeMethodNotAllowed     ErrorType = "methodNotAllowed"     // 405
	TypeConflict             ErrorType = "conflict"             // 409
	TypePayloadTooLarge      ErrorType = "payloadTooLarge"      // 413
	TypeUnsupportedMediaType ErrorType = "unsupportedMediaType" // 415
	TypeUnprocessable        ErrorType = "unprocessableEntity"  // 422
	TypeTooManyRequests      ErrorType = "tooManyRequests"      // 429
	TypeInternal             ErrorType = "internalServerError"  // 500
	TypeUnavailable          ErrorType = "serviceUnavailable"   // 503
)

// Error is the one error shape connectd answers with. Code is a stable,
// machine-readable reason a client can act on; Details lists every field
// problem at once.
type Error struct {
	Type    ErrorType    `json:"type"`
	Code    string       `json:"code,omitempty"`
	Message string       `json:"message"`
	Details []FieldError `json:"details,omitempty"`
}

// FieldError names one problem with one field, by its JSON path
// (for example "intent.cancelSubscription.subscription").
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("%s (%s): %s", e.Type, e.Code, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Type, e.Message)
}

// Errorf returns an *Error of the given type and code.
func Errorf(t ErrorType, code, format string, args ...any) *Error {
	return &Error{Type: t, Code: code, Message: fmt.Sprintf(format, args...)}
}

// ValidationError returns a 422 listing the given field problems. Its message
// sums them up so that a client printing only the message still learns what
// is wrong.
func ValidationError(details []FieldError) *Error {
	msg := "The request is invalid."
	if len(details) == 1 {
		msg = details[0].Field + ": " + details[0].Message
	} else if len(details) > 1 {
		msg = fmt.Sprintf("The request has %d invalid fields; see details.", len(details))
	}
	return &Error{Type: TypeUnprocessable, Code: "validationFailed", Message: msg, Details: details}
}

// AsError returns err as an *Error. Errors that are not already one become an
// internal error whose message says nothing about the cause: the cause is for
// the log, never for the client. ErrStorageUnavailable becomes the 503
// storageUnavailable, which names no cause either.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, ErrStorageUnavailable) {
		return &Error{Type: TypeUnavailable, Code: "storageUnavailable", Message: "The service cannot store data right now; nothing was written. Retry later."}
	}
	return &Error{Type: TypeInternal, Code: "internalError", Message: "An internal error occurred. Please retry later."}
}

// Sentinel errors returned by Store implementations. The service turns them
// into *Error values that name the field or resource concerned.
var (
	// ErrNotFound means no row matched.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a uniqueness constraint or a state condition failed.
	ErrConflict = errors.New("conflict")
	// ErrClaimLost is the ErrConflict of a write that was to complete an
	// idempotency claim (an Idem) the caller no longer holds: its lease
	// lapsed and a retry took the key over, or it was completed. Nothing
	// was written. errors.Is(ErrClaimLost, ErrConflict) holds.
	ErrClaimLost = fmt.Errorf("%w: the idempotency claim is no longer held", ErrConflict)
	// ErrStorageUnavailable means the store cannot durably write where it
	// should (the SQLite file was deleted or replaced under a running
	// server). Nothing was written; AsError answers it as a 503.
	ErrStorageUnavailable = errors.New("storage unavailable")
	// ErrCursorNotFound means a list's After or Before names no object of
	// the project in that list's table (never created, or purged). The
	// service answers it as a 422 naming the parameter (issue 10.8).
	ErrCursorNotFound = errors.New("cursor not found")
)

// FieldErrors collects field problems while a request is checked.
type FieldErrors []FieldError

// Add records one problem.
func (fe *FieldErrors) Add(field, code, format string, args ...any) {
	*fe = append(*fe, FieldError{Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
}

// Err returns nil when no problem was recorded, else a ValidationError.
func (fe FieldErrors) Err() error {
	if len(fe) == 0 {
		return nil
	}
	return ValidationError(fe)
}
