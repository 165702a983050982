package service

import (
	"context"
	"errors"

	"github.com/connectd/connectd"
)

// idempotent runs write under the request's Idempotency-Key (idem nil:
// none). A replay of a request that succeeded answers replay of the ID it
// recorded. write gets the claim the request holds (the zero Idem without
// a key) and hands it to the store, which completes it in the transaction
// of the write itself (issue 11.4): a crash between the two cannot let a
// retry write a second time. A failure releases the claim, so that only
// answers below 400 are remembered; a claim lost meanwhile
// (connectd.ErrClaimLost: the lease lapsed and a retry took the key over,
// and it answers) is idempotencyKeyInUse.
func idempotent[T any](ctx context.Context, s *Service, projectID string, idem *Idempotency,
	replay func(id string) (*T, error), write func(held connectd.Idem) (*T, error)) (*T, error) {
	var held connectd.Idem
	if idem != nil {
		prev, h, err := s.claim(ctx, projectID, *idem)
		if err != nil {
			return nil, err
		}
		if prev != "" {
			idem.Replayed = true
			return replay(prev)
		}
		held = h
	}
	v, err := write(held)
	switch {
	case err == nil || idem == nil:
	case errors.Is(err, connectd.ErrClaimLost):
		// The key is another request's now: nothing of ours to release.
		return nil, errKeyInUse()
	default:
		s.release(ctx, held)
	}
	return v, err
}
