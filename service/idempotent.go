package service

import "context"

// idempotent runs create under the request's Idempotency-Key (idem nil:
// none). A replay of a request that succeeded answers replay of the ID it
// recorded; a failure releases the claim, so that only answers below 400
// are remembered; a success records the ID create returns. It serves POSTs
// whose store write does not complete the claim itself.
func idempotent[T any](ctx context.Context, s *Service, projectID string, idem *Idempotency,
	replay func(id string) (*T, error), create func() (v *T, id string, err error)) (*T, error) {
	if idem == nil {
		v, _, err := create()
		return v, err
	}
	prev, held, err := s.claim(ctx, projectID, *idem)
	if err != nil {
		return nil, err
	}
	if prev != "" {
		return replay(prev)
	}
	v, id, err := create()
	if err != nil {
		s.release(ctx, held)
		return nil, err
	}
	s.complete(ctx, held, id)
	return v, nil
}
