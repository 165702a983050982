package sqlite_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/store/sqlite"
)

// TestWritesRefusedWhenFileGone: once the database file is deleted or
// replaced under an open store, Ping and every kind of write (a group-
// committed session create, a single-statement insert, a transaction) fail
// with connectd.ErrStorageUnavailable instead of committing into a file no
// one will open again (issue 11.12).
func TestWritesRefusedWhenFileGone(t *testing.T) {
	for _, tc := range []struct {
		name string
		lose func(t *testing.T, path string)
	}{
		{"deleted", func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}},
		{"replaced", func(t *testing.T, path string) {
			other := path + ".other"
			if err := os.WriteFile(other, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(other, path); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "connectd.db")
			s, err := sqlite.Open(ctx, path, sqlite.Options{Exclusive: true})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			now := time.Now().UTC().Truncate(time.Millisecond)
			p := &connectd.Project{ID: "p1", Name: "P", Settings: connectd.DefaultProjectSettings(), CreatedAt: now}
			if err := s.CreateProject(ctx, p); err != nil {
				t.Fatal(err)
			}
			if err := s.Ping(ctx); err != nil {
				t.Fatalf("Ping before: %v", err)
			}

			tc.lose(t, path)

			if err := s.Ping(ctx); !errors.Is(err, connectd.ErrStorageUnavailable) {
				t.Errorf("Ping = %v, want ErrStorageUnavailable", err)
			}
			_, hash := connectd.NewToken()
			sess := &connectd.Session{ID: connectd.NewID(connectd.PrefixSession), ProjectID: p.ID,
				Intent:       connectd.Intent{Type: connectd.IntentViewSubscription, Subscription: connectd.NewID(connectd.PrefixSubscription)},
				StoredStatus: connectd.StatusOpen, TokenHash: hash, CreatedAt: now, ExpiresAt: now.Add(time.Hour), UpdatedAt: now}
			uid := connectd.NewID(connectd.PrefixUser)
			writes := map[string]func() error{
				"CreateSession (group commit)": func() error { return s.CreateSession(ctx, sess, connectd.Idem{}) },
				"CreateUser (statement)": func() error {
					return s.CreateUser(ctx, &connectd.User{ID: uid, ProjectID: p.ID, Email: "a@example.com", Metadata: map[string]string{}, CreatedAt: now}, connectd.Idem{})
				},
				"CreateProject (statement)": func() error {
					return s.CreateProject(ctx, &connectd.Project{ID: "p2", Name: "P", Settings: connectd.DefaultProjectSettings(), CreatedAt: now})
				},
			}
			for name, write := range writes {
				if err := write(); !errors.Is(err, connectd.ErrStorageUnavailable) {
					t.Errorf("%s = %v, want ErrStorageUnavailable", name, err)
				}
			}
			if e := connectd.AsError(s.Ping(ctx)); e.Type != connectd.TypeUnavailable || e.Code != "storageUnavailable" {
				t.Errorf("AsError = %+v, want serviceUnavailable/storageUnavailable", e)
			}
		})
	}
}
