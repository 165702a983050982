package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one numbered file of migrations/, such as 0001_init.sql.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in order. Their names must start
// with a distinct positive number followed by "_".
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	seen := map[int]string{}
	for _, p := range names {
		name := path.Base(p)
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("postgres: migration %s: name must start with a number and _", name)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("postgres: migrations %s and %s have the same number", other, name)
		}
		seen[v] = name
		b, err := migrationFiles.ReadFile(p)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// migrationLockClass is the first key of the advisory lock that serializes
// migrations; the second is a hash of the schema migrated, so that processes
// migrating different schemas do not wait for each other. It spells "cnd1".
const migrationLockClass = 0x636e6431

const (
	sqlCurrentSchema = `SELECT current_schema()`

	sqlMigrationLock = `SELECT pg_advisory_xact_lock($1::int4, hashtext($2::text))`

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
	ms, err := migrations()
	if err != nil {
		return err
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
		if applied[m.version] {
			continue
		}
		// The simple protocol runs a file of several statements at once.
		if _, err := tx.Conn().PgConn().Exec(ctx, m.sql).ReadAll(); err != nil {
			return fmt.Errorf("postgres: migrate: %s: %w", m.name, err)
		}
		if _, err := tx.Exec(ctx, sqlRecordMigration, m.version, m.name); err != nil {
			return fmt.Errorf("postgres: migrate: %s: %w", m.name, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: migrate: commit: %w", err)
	}
	return nil
}
