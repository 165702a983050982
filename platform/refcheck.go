package platform

import (
	"context"
	"fmt"

	"github.com/connectd/connectd"
)

// CheckReferences checks the references of v (a *connectd.Plan, *Addon, …)
// as a create or replace would, without writing anything: the 422 of its
// reference problems, or nil. The service calls it to report reference
// problems together with the shape problems package api found, so v may
// be incomplete; fields left empty by a shape problem come back as
// problems the service drops (issue 11.10).
func (b *Builtin) CheckReferences(ctx context.Context, projectID string, v any) error {
	if r, ok := v.(connectd.Resource); ok {
		if c, ok := seedRecorders[r.Kind()]; ok {
			return c.checkRefs(ctx, b, projectID, v)
		}
	}
	return fmt.Errorf("platform: %T is not a platform resource", v)
}

// checkRefs runs the kind's reference checks on v.
func (s spec[T]) checkRefs(ctx context.Context, b *Builtin, projectID string, v any) error {
	t, ok := v.(*T)
	if !ok {
		return fmt.Errorf("platform: %T is not a platform resource", v)
	}
	refs := &refErrors{b: b}
	s.index(ctx, refs, projectID, t)
	return refs.err()
}
