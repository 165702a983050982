package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"

	"github.com/connectd/connectd/store/internal/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLockClass is the first key of the advisory lock that serializes
// migrations; the second is a hash of the schema migrated, so that processes
// migrating different schemas do not wait for each other. It spells "cnd1".
const migrationLockClass = 0x636e6431

const (
	sqlCurrentSchema = `SELECT current_schema()`

	sqlMigrationLock = `SELECT pg_advisory_xact_lock($1::int4, hashtext($2::text))`

	// applied_at is bookkeeping only: the wall clock (now()) decides no outcome.
	sqlCreateMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)`

	sqlAppliedMigrations = `SELECT version FROM schema_migrations`

	sqlRecordMigration = `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`
)

// Migrate applies the migrations the database lacks, in order, in one
// transaction, and records each in schema_migrations. It is idempotent, and
// safe to call from several processes at once: the transaction first takes an
// advisory lock proper to the schema, so one process migrates while the
// others wait and then find nothing left to do.
//
// The schema migrated is the current one: the first existing schema of the
// search_path.
func (s *Store) Migrate(ctx context.Context) (err error) {
	ms, err := migrate.Load(migrationFiles)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback(context.WithoutCancel(ctx))
		}
	}()

	var schema *string
	if err := tx.QueryRow(ctx, sqlCurrentSchema).Scan(&schema); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	if schema == nil {
		return errors.New("postgres: migrate: no schema of the search_path exists; create it or fix search_path")
	}
	if _, err := tx.Exec(ctx, sqlMigrationLock, migrationLockClass, *schema); err != nil {
		return fmt.Errorf("postgres: migrate: lock: %w", err)
	}
	if _, err := tx.Exec(ctx, sqlCreateMigrationsTable); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	rows, err := tx.Query(ctx, sqlAppliedMigrations)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	applied := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("postgres: migrate: %w", err)
		}
		applied[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}

	for _, m := range ms {
		if applied[m.Version] {
			continue
		}
		// The simple protocol runs a file of several statements at once.
		if _, err := tx.Conn().PgConn().Exec(ctx, m.SQL).ReadAll(); err != nil {
			return fmt.Errorf("postgres: migrate: %s: %w", m.Name, err)
		}
		if _, err := tx.Exec(ctx, sqlRecordMigration, m.Version, m.Name); err != nil {
			return fmt.Errorf("postgres: migrate: %s: %w", m.Name, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: migrate: commit: %w", err)
	}
	return nil
}
