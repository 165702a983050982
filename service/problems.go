package service

import (
	"context"
	"errors"
	"strings"

	"github.com/connectd/connectd"
)

// Every field problem in one answer (issue 11.10).
//
// Package api checks a body's shape (types, formats, required fields) and
// hands its shape problems to the service with what it could read; the
// service adds the reference and state problems of the fields whose shape
// was right, so that one 422 lists them all. A field whose own shape is
// wrong is reported for its shape only: its reference cannot be checked
// (a reference problem at the same path, or below it, is dropped).
//
// The details come in a fixed order: the shape problems first, in the
// order package api reads the body's fields; then the reference and state
// problems, in the order the service checks them (for a session: intent
// availability, user or userDetails, then the intent's references in the
// order of its payload fields; for a platform resource: the order of the
// kind's references).

// fieldProblems collects the refusals of one request.
type fieldProblems struct {
	shape  []connectd.FieldError
	groups []*connectd.Error // each check's refusal, in check order
	fatal  error             // a fault or an answer that is no field problem
}

// add records the outcome of one check: nil, a refusal with details, or
// anything else, which ends the request as it is.
func (fp *fieldProblems) add(err error) {
	var e *connectd.Error
	switch {
	case err == nil || fp.fatal != nil:
	case errors.As(err, &e) && len(e.Details) > 0:
		fp.groups = append(fp.groups, e)
	default:
		fp.fatal = err
	}
}

// err is the one answer: nothing; a fault; a single check's refusal as it
// always was (its type and code) when the shape was right; else one 422
// validationFailed listing every problem.
func (fp *fieldProblems) err() error {
	switch {
	case fp.fatal != nil:
		return fp.fatal
	case len(fp.shape) == 0 && len(fp.groups) == 0:
		return nil
	case len(fp.shape) == 0 && len(fp.groups) == 1:
		return fp.groups[0]
	}
	details := append([]connectd.FieldError(nil), fp.shape...)
	for _, g := range fp.groups {
		for _, d := range g.Details {
			if !fp.shadowed(d.Field) {
				details = append(details, d)
			}
		}
	}
	return connectd.ValidationError(details)
}

// shadowed reports whether field, or an object or array holding it, has a
// shape problem.
func (fp *fieldProblems) shadowed(field string) bool {
	for _, s := range fp.shape {
		if field == s.Field || strings.HasPrefix(field, s.Field+".") || strings.HasPrefix(field, s.Field+"[") {
			return true
		}
	}
	return false
}

// referenceChecker is a platform that checks a resource's references
// without writing it (the built-in one does).
type referenceChecker interface {
	CheckReferences(ctx context.Context, projectID string, v any) error
}

// Refuse answers a create or update of a platform resource whose shape
// package api found wrong (shape, at least one problem): with the reference
// problems of v's well-shaped fields, in one 422. It never writes.
func (r Resources[T]) Refuse(ctx context.Context, projectID string, v *T, shape []connectd.FieldError) error {
	fp := fieldProblems{shape: shape}
	if rc, ok := r.s.Platform.(referenceChecker); ok {
		c := *v // the checks may complete what they read
		fp.add(rc.CheckReferences(ctx, projectID, &c))
	}
	if err := fp.err(); err != nil {
		return r.s.internalIfFault(ctx, err)
	}
	return connectd.ValidationError(shape)
}
