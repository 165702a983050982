package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/httperr"
)

// statusOf is the HTTP status of each error type, from the one table
// the API and the portal share (internal/httperr).
func statusOf(t connectd.ErrorType) int { return httperr.Status(t) }

type errorJSON struct {
	Object  string                `json:"object"`
	Type    connectd.ErrorType    `json:"type"`
	Code    string                `json:"code,omitempty"`
	Message string                `json:"message"`
	Details []connectd.FieldError `json:"details,omitempty"`
}

// writeError answers with err in the documented error shape. Errors that
// are not *connectd.Error become an opaque 500; their cause was logged where
// it happened.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := connectd.AsError(err)
	if e.Type == connectd.TypeInternal {
		if rec := recorderOf(w); rec != nil && rec.cause == nil {
			rec.cause = err
		}
	}
	status := statusOf(e.Type)
	h := w.Header()
	switch status {
	case http.StatusUnauthorized:
		h.Set("WWW-Authenticate", `Bearer realm="connectd"`)
	case http.StatusTooManyRequests:
		if h.Get("Retry-After") == "" {
			h.Set("Retry-After", "1")
		}
	}
	writeJSON(w, status, errorJSON{Object: "error", Type: e.Type, Code: e.Code, Message: e.Message, Details: e.Details})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // urls keep their '&'; Content-Type is JSON, never HTML
	err := enc.Encode(v)
	b := buf.Bytes()
	if err != nil {
		// Only our own response types reach here; this cannot happen short
		// of a programming error, which the 500 and the log make visible.
		status = http.StatusInternalServerError
		b = []byte(`{"object":"error","type":"internalServerError","message":"An internal error occurred. Please retry later."}` + "\n")
		if rec := recorderOf(w); rec != nil {
			rec.cause = err
		}
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}
