package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/store/internal/record"
	"github.com/connectd/connectd/store/internal/seeddiff"
)

var _ connectd.ResourceStore = (*Store)(nil)

const (
	resourceColumns = `project_id, id, kind, user_id, parent_id, status, data, version, created_at, updated_at, unique_key`

	sqlCreateResource = `INSERT INTO resources (` + resourceColumns + `)
VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, $10)`

	// sqlSeedResource inserts a resource unless its (project, id) is taken,
	// and tells which happened.
	sqlSeedResource = sqlCreateResource + `
ON CONFLICT (project_id, id) DO NOTHING`

	sqlGetResource = `SELECT ` + resourceColumns + ` FROM resources WHERE project_id = $1 AND id = $2 AND kind = $3`

	sqlGetResourceAnyKind = `SELECT ` + resourceColumns + ` FROM resources WHERE project_id = $1 AND id = $2`

	// sqlUpdateResource is the compare-and-swap of WriteResources: it
	// updates only while the version is still the one the caller read, and
	// returns the new version, or NULL and whether the resource exists (in
	// the statement's snapshot: a concurrent write that moved the version on
	// leaves it existing) to tell ErrConflict from ErrNotFound.
	sqlUpdateResource = `WITH updated AS (
    UPDATE resources
    SET user_id = $4, parent_id = $5, status = $6, data = $7, updated_at = $8, unique_key = $10, version = version + 1
    WHERE project_id = $1 AND id = $2 AND kind = $3 AND version = $9
    RETURNING version
)
SELECT (SELECT version FROM updated),
    EXISTS (SELECT 1 FROM resources WHERE project_id = $1 AND id = $2 AND kind = $3)`

	// sqlLockResources locks the rows a batch updates, in id order, so that
	// two batches updating the same resources in different orders queue up
	// instead of deadlocking.
	sqlLockResources = `SELECT id FROM resources WHERE project_id = $1 AND id = ANY($2::text[]) ORDER BY id FOR UPDATE`

	// sqlSeedLock serializes seed loads of one schema, as Migrate does
	// migrations (another class of the same key space).
	sqlSeedLock = `SELECT pg_advisory_xact_lock($1::int4, hashtext(current_schema()))`

	sqlSeedProject = `INSERT INTO projects (` + projectColumns + `) VALUES ($1, $2, $3, $4)
ON CONFLICT (id) DO NOTHING`

	// sqlProjectExists checks a seeded user's project up front (FOR KEY
	// SHARE is the lock a foreign key check takes), so that a missing
	// project is told as such rather than as a failed statement.
	sqlProjectExists = `SELECT EXISTS (SELECT 1 FROM projects WHERE id = $1 FOR KEY SHARE)`

	// sqlSeedUser inserts a user unless its ID or its email is taken in the
	// project; which one is told afterwards.
	sqlSeedUser = sqlCreateUser + `
ON CONFLICT DO NOTHING`

	sqlUserIDByEmail = `SELECT id FROM users WHERE project_id = $1 AND email_lower = $2`
)

// seedLockClass is the first key of the advisory lock of ApplySeed. It
// spells "cns1"; Migrate's is "cnd1".
const seedLockClass = 0x636e7331

// codeDeadlockDetected is the error of the transaction PostgreSQL aborts to
// break a deadlock.
const codeDeadlockDetected = "40P01"

// seedAttempts bounds how often ApplySeed replays a batch whose transaction
// was chosen to break a deadlock.
const seedAttempts = 3

// nullIfEmpty binds s, or NULL when it is empty.
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// resourceArgs returns the arguments of sqlCreateResource for r in project
// projectID.
func resourceArgs(projectID string, r *connectd.ResourceRecord) []any {
	// Text, not []byte: see jsonArg.
	return []any{projectID, r.ID, string(r.Kind), nullIfEmpty(r.UserID), nullIfEmpty(r.ParentID),
		nullIfEmpty(r.Status), string(r.Data), ms(r.CreatedAt), ms(r.UpdatedAt), nullIfEmpty(r.UniqueKey)}
}

func scanResource(row pgx.Row) (*connectd.ResourceRecord, error) {
	var r connectd.ResourceRecord
	var kind string
	var user, parent, status, key *string
	if err := row.Scan(&r.ProjectID, &r.ID, &kind, &user, &parent, &status, &r.Data, &r.Version,
		&r.CreatedAt, &r.UpdatedAt, &key); err != nil {
		return nil, err
	}
	r.Kind = connectd.ResourceKind(kind)
	for _, f := range []struct {
		dst *string
		src *string
	}{{&r.UserID, user}, {&r.ParentID, parent}, {&r.Status, status}, {&r.UniqueKey, key}} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return &r, nil
}

// keyErr is err, or a *connectd.KeyTakenError for r when err is the unique
// index on unique_key refusing it.
func keyErr(r *connectd.ResourceRecord, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == codeUniqueViolation && pe.ConstraintName == "resources_unique_key" {
		return &connectd.KeyTakenError{Kind: r.Kind, ID: r.ID}
	}
	return err
}

// CreateResource inserts r and sets its Version to 1. ErrConflict if the
// project has a resource with its ID (of any kind), ErrNotFound if the
// project does not exist.
func (s *Store) CreateResource(ctx context.Context, r *connectd.ResourceRecord) error {
	if err := record.Check("postgres", "create resource", r); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, sqlCreateResource, resourceArgs(r.ProjectID, r)...); err != nil {
		return mapErr("create resource", keyErr(r, err))
	}
	r.Version = 1
	return nil
}

// GetResource returns the resource id of the project, if it is of kind.
func (s *Store) GetResource(ctx context.Context, projectID string, kind connectd.ResourceKind, id string) (*connectd.ResourceRecord, error) {
	r, err := scanResource(s.pool.QueryRow(ctx, sqlGetResource, projectID, id, string(kind)))
	if err != nil {
		return nil, mapErr("get resource", err)
	}
	return r, nil
}

// ListResources returns one page of the project's resources of f.Kind,
// newest first, narrowed by the other fields of f.
func (s *Store) ListResources(ctx context.Context, projectID string, f connectd.ResourceFilter) (connectd.Page[*connectd.ResourceRecord], error) {
	if f.Kind == "" {
		return connectd.Page[*connectd.ResourceRecord]{}, errors.New("postgres: list resources: no kind")
	}
	q := listQuery{columns: resourceColumns, table: "resources", where: "project_id = $1 AND kind = $2",
		args: []any{projectID, string(f.Kind)}}
	for _, c := range []struct{ column, value string }{{"user_id", f.UserID}, {"parent_id", f.ParentID}, {"status", f.Status}} {
		if c.value != "" {
			q.args = append(q.args, c.value)
			q.where += " AND " + c.column + " = $" + strconv.Itoa(len(q.args))
		}
	}
	page, err := listPage(ctx, s, q, f.ListParams, scanResource)
	if err != nil {
		return page, mapErr("list resources", err)
	}
	return page, nil
}

// WriteResources applies writes in one transaction, sent as one pipeline:
// a batch of several updates first locks their rows in id order (so that two
// batches updating the same resources in other orders queue up rather than
// deadlock), then each create is an INSERT and each update a
// compare-and-swap UPDATE, and each idempotency claim a write completes
// (ResourceWrite.Idem) an UPDATE of its key. A single write without a claim
// is one statement, atomic without a transaction. The records' versions are set only once everything is
// committed.
func (s *Store) WriteResources(ctx context.Context, projectID string, writes []connectd.ResourceWrite) error {
	const op = "write resources"
	if len(writes) == 0 {
		return nil
	}
	var updated []string
	for _, w := range writes {
		if err := record.Check("postgres", op, w.Record); err != nil {
			return err
		}
		if w.Record.ProjectID != "" && w.Record.ProjectID != projectID {
			return fmt.Errorf("postgres: %s: %s %s is of project %s, not %s", op, w.Record.Kind, w.Record.ID, w.Record.ProjectID, projectID)
		}
		if !w.Create {
			updated = append(updated, w.Record.ID)
		}
	}

	b := &pgx.Batch{}
	claims := 0
	if len(updated) > 1 {
		slices.Sort(updated)
		b.Queue(sqlLockResources, projectID, updated)
	}
	for _, w := range writes {
		r := w.Record
		if w.Create {
			b.Queue(sqlCreateResource, resourceArgs(projectID, r)...)
			continue
		}
		b.Queue(sqlUpdateResource, projectID, r.ID, string(r.Kind), nullIfEmpty(r.UserID), nullIfEmpty(r.ParentID),
			nullIfEmpty(r.Status), string(r.Data), ms(r.UpdatedAt), r.Version, nullIfEmpty(r.UniqueKey))
	}
	// The idempotency claims the writes complete, after the writes, in
	// the same transaction (readWrites checks each).
	for _, w := range writes {
		if w.Idem != (connectd.Idem{}) {
			b.Queue(sqlCompleteIdem, idemArgs(w.Idem, w.Record.ID)...)
			claims++
		}
	}
	versions := make([]int64, len(writes))
	if len(writes) == 1 && claims == 0 {
		// One statement is atomic by itself: no transaction round trips.
		if err := readWrites(s.pool.SendBatch(ctx, b), writes, false, 0, versions); err != nil {
			return err
		}
	} else {
		tx, err := s.pool.Begin(ctx)
		if err != nil {
			return mapErr(op, err)
		}
		if err := readWrites(tx.SendBatch(ctx, b), writes, len(updated) > 1, claims, versions); err != nil {
			tx.Rollback(context.WithoutCancel(ctx))
			return err
		}
		if err := tx.Commit(ctx); err != nil {
			return mapErr(op, err)
		}
	}
	for i, w := range writes {
		w.Record.Version = versions[i]
	}
	return nil
}

// readWrites reads the results of WriteResources' batch in order (the lock,
// the writes, then the completions of claims), and returns the first
// failure: every statement is sent, but the transaction is rolled back on
// any.
func readWrites(br pgx.BatchResults, writes []connectd.ResourceWrite, locked bool, claims int, versions []int64) error {
	const op = "write resources"
	defer br.Close() // a later statement's error does not matter then
	if locked {
		if _, err := br.Exec(); err != nil {
			return mapErr(op, err)
		}
	}
	for i, w := range writes {
		if w.Create {
			if _, err := br.Exec(); err != nil {
				return mapErr(op, keyErr(w.Record, err))
			}
			versions[i] = 1
			continue
		}
		var version *int64
		var exists bool
		if err := br.QueryRow().Scan(&version, &exists); err != nil {
			return mapErr(op, keyErr(w.Record, err))
		}
		switch {
		case version != nil:
			versions[i] = *version
		case exists:
			return connectd.ErrConflict // its version moved on
		default:
			return connectd.ErrNotFound // missing, or of another kind
		}
	}
	for range claims {
		if err := completed(br.Exec()); err != nil {
			return err
		}
	}
	return br.Close()
}

// ApplySeed writes b in one transaction. Each object is inserted unless it
// exists (INSERT ... ON CONFLICT DO NOTHING: a statement that fails would
// abort the transaction), and an object that was not inserted is read back
// in the same transaction and compared with b's. Any conflict or error rolls
// everything back.
//
// Concurrent loads are serialized by a transaction-scoped advisory lock, so
// that each sees the others' results whole and two loads of overlapping
// batches cannot deadlock on each other's rows. A load that PostgreSQL
// aborts to break a deadlock with other writers is replayed.
func (s *Store) ApplySeed(ctx context.Context, b connectd.SeedBatch) (int, error) {
	for attempt := 1; ; attempt++ {
		n, err := s.applySeed(ctx, b)
		var pe *pgconn.PgError
		if attempt < seedAttempts && errors.As(err, &pe) && pe.Code == codeDeadlockDetected {
			continue
		}
		return n, err
	}
}

func (s *Store) applySeed(ctx context.Context, b connectd.SeedBatch) (created int, err error) {
	const op = "apply seed"
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, mapErr(op, err)
	}
	defer func() {
		if err != nil {
			created = 0
			tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if _, err := tx.Exec(ctx, sqlSeedLock, seedLockClass); err != nil {
		return 0, fmt.Errorf("postgres: %s: lock: %w", op, err)
	}
	for _, p := range b.Projects {
		n, err := seedProject(ctx, tx, p)
		if err != nil && !b.Keeps(err) {
			return 0, err
		}
		created += n
	}
	projects := map[string]bool{} // the projects users are known to have
	for _, u := range b.Users {
		n, err := seedUser(ctx, tx, u, projects)
		if err != nil && !b.Keeps(err) {
			return 0, err
		}
		created += n
	}
	for _, r := range b.Resources {
		n, err := seedResource(ctx, tx, r)
		if err != nil && !b.Keeps(err) {
			return 0, err
		}
		created += n
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, mapErr(op, err)
	}
	return created, nil
}

// seedErr wraps an error of one seed object, keeping connectd's sentinels
// (a failed foreign key is ErrNotFound) and deadlocks recognizable.
func seedErr(kind, id string, err error) error {
	if mapped := mapErr("apply seed", err); errors.Is(mapped, connectd.ErrNotFound) {
		return fmt.Errorf("postgres: apply seed: %s %s: its project does not exist: %w", kind, id, connectd.ErrNotFound)
	} else if errors.Is(mapped, connectd.ErrConflict) {
		return fmt.Errorf("postgres: apply seed: %s %s: %w", kind, id, connectd.ErrConflict)
	}
	return fmt.Errorf("postgres: apply seed: %s %s: %w", kind, id, err)
}

func seedProject(ctx context.Context, tx pgx.Tx, p *connectd.Project) (int, error) {
	settings, err := json.Marshal(p.Settings)
	if err != nil {
		return 0, fmt.Errorf("postgres: apply seed: project %s: settings: %w", p.ID, err)
	}
	tag, err := tx.Exec(ctx, sqlSeedProject, p.ID, p.Name, string(settings), ms(p.CreatedAt))
	if err != nil {
		return 0, seedErr("project", p.ID, err)
	}
	if tag.RowsAffected() == 1 {
		return 1, nil
	}
	old, err := scanProject(tx.QueryRow(ctx, sqlGetProject, p.ID))
	if err != nil {
		return 0, seedErr("project", p.ID, err)
	}
	return 0, seeddiff.Project(old, p)
}

func seedUser(ctx context.Context, tx pgx.Tx, u *connectd.User, projects map[string]bool) (int, error) {
	metadata, address, err := userJSON(u)
	if err != nil {
		return 0, fmt.Errorf("postgres: apply seed: user %s: %w", u.ID, err)
	}
	// The foreign key (migration 0004) would refuse the insert too; asking
	// first keeps the transaction usable and the error plain.
	if !projects[u.ProjectID] {
		var exists bool
		if err := tx.QueryRow(ctx, sqlProjectExists, u.ProjectID).Scan(&exists); err != nil {
			return 0, seedErr("user", u.ID, err)
		}
		if !exists {
			return 0, fmt.Errorf("postgres: apply seed: user %s: its project does not exist: %w", u.ID, connectd.ErrNotFound)
		}
		projects[u.ProjectID] = true
	}
	email := connectd.NormalizeEmail(u.Email)
	tag, err := tx.Exec(ctx, sqlSeedUser, u.ID, u.ProjectID, u.Email, email, u.FullName, u.Birthday,
		u.PreferredLocale, metadata, address, ms(u.CreatedAt))
	if err != nil {
		return 0, seedErr("user", u.ID, err)
	}
	if tag.RowsAffected() == 1 {
		return 1, nil
	}
	old, err := scanUser(tx.QueryRow(ctx, sqlGetUser, u.ProjectID, u.ID))
	if errors.Is(err, pgx.ErrNoRows) {
		// The ID is free, so the email is another user's.
		var other string
		if err := tx.QueryRow(ctx, sqlUserIDByEmail, u.ProjectID, email).Scan(&other); errors.Is(err, pgx.ErrNoRows) {
			// Renamed since the insert looked: taken all the same.
			return 0, &connectd.SeedConflictError{Kind: "user", ID: u.ID, Why: "its email is taken by another user"}
		} else if err != nil {
			return 0, seedErr("user", u.ID, err)
		}
		return 0, &connectd.SeedConflictError{Kind: "user", ID: u.ID, Why: "its email is taken by user " + other}
	}
	if err != nil {
		return 0, seedErr("user", u.ID, err)
	}
	return 0, seeddiff.User(old, u)
}

func seedResource(ctx context.Context, tx pgx.Tx, r *connectd.ResourceRecord) (int, error) {
	if err := record.Check("postgres", "apply seed", r); err != nil {
		return 0, err
	}
	tag, err := tx.Exec(ctx, sqlSeedResource, resourceArgs(r.ProjectID, r)...)
	if err != nil {
		return 0, seedErr(string(r.Kind), r.ID, err)
	}
	if tag.RowsAffected() == 1 {
		return 1, nil
	}
	old, err := scanResource(tx.QueryRow(ctx, sqlGetResourceAnyKind, r.ProjectID, r.ID))
	if err != nil {
		return 0, seedErr(string(r.Kind), r.ID, err)
	}
	return 0, seeddiff.Resource(old, r)
}
