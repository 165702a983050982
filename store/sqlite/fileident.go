package sqlite

import (
	"context"
	"fmt"
	"os"

	"github.com/connectd/connectd"
	sqlite "modernc.org/sqlite"
)

// The file at the path.
//
// SQLite writes to the file it opened, whatever happens to the path: with
// the file deleted (or replaced) under a running server, every write would
// still commit, into an unlinked inode that the next start never sees. So
// the store remembers the identity (device and inode) of the file it opened
// and checks, before every commit of the writer connection (a commit hook:
// each transaction, each group-commit batch, each single-statement write)
// and on every Ping, that the path still names that file. When it does not,
// the commit is turned into a rollback and the write fails with
// connectd.ErrStorageUnavailable; the check costs one stat(2), next to the
// fsync every commit waits for anyway.

// sameFile reports whether s.path still names the file opened.
func (s *Store) sameFile() error {
	fi, err := os.Stat(s.path)
	if err != nil || !os.SameFile(fi, s.ident) {
		return fmt.Errorf("sqlite: %s is no longer the database file this server opened (deleted or replaced): %w", s.path, connectd.ErrStorageUnavailable)
	}
	return nil
}

// watchFile records the identity of the file opened and installs the
// commit hook on the writer connection (the pool's one connection, which
// never expires).
func (s *Store) watchFile(ctx context.Context) error {
	fi, err := os.Stat(s.path)
	if err != nil {
		return err
	}
	s.ident = fi
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		hr, ok := dc.(sqlite.HookRegisterer)
		if !ok {
			return fmt.Errorf("driver connection %T registers no hooks", dc)
		}
		hr.RegisterCommitHook(func() int32 {
			if s.sameFile() != nil {
				return 1 // SQLITE_CONSTRAINT_COMMITHOOK: the commit becomes a rollback
			}
			return 0
		})
		return nil
	})
}
