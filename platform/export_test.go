package platform

import (
	"context"

	"github.com/connectd/connectd"
)

// Update exposes the built-in's own update to the tests.
func Update[T any](ctx context.Context, r connectd.Resources[T], projectID, id string, mutate func(*T) error) (*T, error) {
	return r.(resources[T]).update(ctx, projectID, id, mutate)
}
