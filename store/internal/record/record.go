// Package record holds the checks both stores make on a resource record
// before writing it.
package record

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/connectd/connectd"
)

// Check refuses records the resources table cannot hold. backend and op
// prefix the error ("sqlite: create resource: nil record").
func Check(backend, op string, r *connectd.ResourceRecord) error {
	switch {
	case r == nil:
		return errors.New(backend + ": " + op + ": nil record")
	case r.Kind == "" || r.ID == "":
		return errors.New(backend + ": " + op + ": a resource needs a kind and an ID")
	case !json.Valid(r.Data):
		return fmt.Errorf("%s: %s: %s %s: data is not JSON", backend, op, r.Kind, r.ID)
	}
	return nil
}
