//go:build !unix

package sqlite

import (
	"errors"
	"os"
)

func lockFile(path string) (*os.File, error) {
	return nil, errors.New("sqlite: Options.Exclusive needs flock, which this platform lacks")
}
