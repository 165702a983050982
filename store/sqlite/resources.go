package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/store/internal/record"
	"github.com/connectd/connectd/store/internal/seeddiff"
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

var _ connectd.ResourceStore = (*Store)(nil)

const resourceCols = `project_id, id, kind, user_id, parent_id, status, data, version, created_at, updated_at, unique_key`

// nullIfEmpty binds s, or NULL when it is empty.
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func scanResource(sc interface{ Scan(...any) error }) (*connectd.ResourceRecord, error) {
	var r connectd.ResourceRecord
	var kind, data string
	var user, parent, status, key sql.NullString
	var created, updated int64
	if err := sc.Scan(&r.ProjectID, &r.ID, &kind, &user, &parent, &status, &data, &r.Version, &created, &updated, &key); err != nil {
		return nil, err
	}
	r.Kind = connectd.ResourceKind(kind)
	r.UserID, r.ParentID, r.Status, r.UniqueKey = user.String, parent.String, status.String, key.String
	r.Data = []byte(data)
	r.CreatedAt, r.UpdatedAt = fromMS(created), fromMS(updated)
	return &r, nil
}

// execer is what inserts need: the writer or one of its transactions.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// insertResource inserts r with version 1. With orIgnore a taken (project,
// id) inserts nothing instead of failing; it reports whether a row was
// inserted.
func insertResource(ctx context.Context, db execer, r *connectd.ResourceRecord, orIgnore bool) (bool, error) {
	q := `INSERT INTO resources (` + resourceCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)`
	if orIgnore {
		q += ` ON CONFLICT (project_id, id) DO NOTHING`
	}
	res, err := db.ExecContext(ctx, q, r.ProjectID, r.ID, string(r.Kind), nullIfEmpty(r.UserID), nullIfEmpty(r.ParentID),
		nullIfEmpty(r.Status), string(r.Data), ms(r.CreatedAt), ms(r.UpdatedAt), nullIfEmpty(r.UniqueKey))
	if err != nil {
		return false, keyErr(r, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// keyErr is err, or a *connectd.KeyTakenError for r when err is the unique
// index on unique_key refusing it (SQLite names the index's columns in its
// message, never the bound values).
func keyErr(r *connectd.ResourceRecord, err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE && strings.Contains(se.Error(), "resources.unique_key") {
		return &connectd.KeyTakenError{Kind: r.Kind, ID: r.ID}
	}
	return err
}

// CreateResource inserts r and sets its Version to 1.
func (s *Store) CreateResource(ctx context.Context, r *connectd.ResourceRecord) error {
	if err := record.Check("sqlite", "create resource", r); err != nil {
		return err
	}
	if _, err := insertResource(ctx, s.w, r, false); err != nil {
		return mapErr("create resource", err)
	}
	r.Version = 1
	return nil
}

func (s *Store) GetResource(ctx context.Context, projectID string, kind connectd.ResourceKind, id string) (*connectd.ResourceRecord, error) {
	r, err := scanResource(s.r.QueryRowContext(ctx, `SELECT `+resourceCols+` FROM resources WHERE project_id = ? AND id = ? AND kind = ?`,
		projectID, id, string(kind)))
	if err != nil {
		return nil, mapErr("get resource", err)
	}
	return r, nil
}

func (s *Store) ListResources(ctx context.Context, projectID string, f connectd.ResourceFilter) (connectd.Page[*connectd.ResourceRecord], error) {
	if f.Kind == "" {
		return connectd.Page[*connectd.ResourceRecord]{}, errors.New("sqlite: list resources: no kind")
	}
	from := `resources WHERE project_id = ? AND kind = ?`
	args := []any{projectID, string(f.Kind)}
	if f.UserID != "" {
		from += ` AND user_id = ?`
		args = append(args, f.UserID)
	}
	if f.ParentID != "" {
		from += ` AND parent_id = ?`
		args = append(args, f.ParentID)
	}
	if f.Status != "" {
		from += ` AND status = ?`
		args = append(args, f.Status)
	}
	return listPage(ctx, s.r, "list resources", resourceCols, from, args, f.ListParams, scanResource,
		func(r *connectd.ResourceRecord) string { return r.ID })
}

// WriteResources applies writes in one IMMEDIATE transaction, with the
// completion of their idempotency claims. The records' versions are set
// only once it has committed.
func (s *Store) WriteResources(ctx context.Context, projectID string, writes []connectd.ResourceWrite) error {
	const op = "write resources"
	recs := make([]connectd.ResourceRecord, len(writes))
	for i, w := range writes {
		if err := record.Check("sqlite", op, w.Record); err != nil {
			return err
		}
		if w.Record.ProjectID != "" && w.Record.ProjectID != projectID {
			return fmt.Errorf("sqlite: %s: %s %s is of project %s, not %s", op, w.Record.Kind, w.Record.ID, w.Record.ProjectID, projectID)
		}
		recs[i] = *w.Record
		recs[i].ProjectID = projectID
	}
	tx, err := s.w.BeginTx(ctx, nil) // BEGIN IMMEDIATE: _txlock
	if err != nil {
		return mapErr(op, err)
	}
	defer tx.Rollback()
	versions := make([]int64, len(writes))
	for i, w := range writes {
		r := &recs[i]
		if w.Create {
			if _, err := insertResource(ctx, tx, r, false); err != nil {
				return mapErr(op, err)
			}
			versions[i] = 1
			continue
		}
		err := tx.QueryRowContext(ctx, `UPDATE resources
			SET user_id = ?, parent_id = ?, status = ?, data = ?, updated_at = ?, unique_key = ?, version = version + 1
			WHERE project_id = ? AND id = ? AND kind = ? AND version = ?
			RETURNING version`,
			nullIfEmpty(r.UserID), nullIfEmpty(r.ParentID), nullIfEmpty(r.Status), string(r.Data), ms(r.UpdatedAt), nullIfEmpty(r.UniqueKey),
			projectID, r.ID, string(r.Kind), r.Version).Scan(&versions[i])
		if err == nil {
			continue
		}
		if kt := new(connectd.KeyTakenError); errors.As(keyErr(r, err), &kt) {
			return kt
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return mapErr(op, err)
		}
		// Nothing matched: the resource is missing (or of another kind), or
		// its version moved on. The transaction holds the write lock, so
		// the answer is the state the UPDATE saw.
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM resources WHERE project_id = ? AND id = ? AND kind = ?)`,
			projectID, r.ID, string(r.Kind)).Scan(&exists); err != nil {
			return mapErr(op, err)
		}
		if exists {
			return connectd.ErrConflict
		}
		return connectd.ErrNotFound
	}
	for i, w := range writes {
		if err := completeIdem(ctx, op, completeOn(tx), w.Idem, recs[i].ID); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return mapErr(op, err)
	}
	for i, w := range writes {
		w.Record.Version = versions[i]
	}
	return nil
}

// ApplySeed writes b in one IMMEDIATE transaction: each object is inserted
// unless its ID is taken, and an object that was not inserted is compared
// with the stored one in the same transaction, so that the comparison sees
// exactly what the insert did.
func (s *Store) ApplySeed(ctx context.Context, b connectd.SeedBatch) (int, error) {
	const op = "apply seed"
	tx, err := s.w.BeginTx(ctx, nil) // BEGIN IMMEDIATE: _txlock
	if err != nil {
		return 0, mapErr(op, err)
	}
	defer tx.Rollback()
	created := 0
	for _, p := range b.Projects {
		n, err := seedProject(ctx, tx, p)
		if err != nil && !b.Keeps(err) {
			return 0, err
		}
		created += n
	}
	for _, u := range b.Users {
		n, err := seedUser(ctx, tx, u)
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
	if err := tx.Commit(); err != nil {
		return 0, mapErr(op, err)
	}
	return created, nil
}

// seedErr wraps an error of one seed object.
func seedErr(kind, id string, err error) error {
	if mapped := mapErr("apply seed", err); errors.Is(mapped, connectd.ErrNotFound) {
		// A foreign key failed: the object's project does not exist.
		return fmt.Errorf("sqlite: apply seed: %s %s: its project does not exist: %w", kind, id, mapped)
	}
	return fmt.Errorf("sqlite: apply seed: %s %s: %w", kind, id, err)
}

func seedProject(ctx context.Context, tx *sql.Tx, p *connectd.Project) (int, error) {
	settings, err := marshal(p.Settings)
	if err != nil {
		return 0, fmt.Errorf("sqlite: apply seed: project %s: settings: %w", p.ID, err)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO projects (id, name, settings, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`, p.ID, p.Name, settings, ms(p.CreatedAt))
	if err != nil {
		return 0, seedErr("project", p.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return 0, seedErr("project", p.ID, err)
	} else if n == 1 {
		return 1, nil
	}
	old, err := scanProject(tx.QueryRowContext(ctx, `SELECT `+projectCols+` FROM projects WHERE id = ?`, p.ID))
	if err != nil {
		return 0, seedErr("project", p.ID, err)
	}
	return 0, seeddiff.Project(old, p)
}

func seedUser(ctx context.Context, tx *sql.Tx, u *connectd.User) (int, error) {
	metadata, address, err := userArgs(u)
	if err != nil {
		return 0, fmt.Errorf("sqlite: apply seed: user %s: %w", u.ID, err)
	}
	// DO NOTHING covers both the ID and the email: which one is taken is
	// told below.
	res, err := tx.ExecContext(ctx, `INSERT INTO users (`+userCols+`, email_lower, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`,
		u.ProjectID, u.ID, u.Email, nullString(u.FullName), nullString(u.Birthday), nullString(u.PreferredLocale),
		metadata, address, ms(u.CreatedAt), connectd.NormalizeEmail(u.Email), ms(u.CreatedAt))
	if err != nil {
		return 0, seedErr("user", u.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return 0, seedErr("user", u.ID, err)
	} else if n == 1 {
		return 1, nil
	}
	old, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE project_id = ? AND id = ?`, u.ProjectID, u.ID))
	if errors.Is(err, sql.ErrNoRows) {
		// The ID is free, so the email is another user's.
		var other string
		if err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE project_id = ? AND email_lower = ?`,
			u.ProjectID, connectd.NormalizeEmail(u.Email)).Scan(&other); err != nil {
			return 0, seedErr("user", u.ID, err)
		}
		return 0, &connectd.SeedConflictError{Kind: "user", ID: u.ID, Why: "its email is taken by user " + other}
	}
	if err != nil {
		return 0, seedErr("user", u.ID, err)
	}
	return 0, seeddiff.User(old, u)
}

func seedResource(ctx context.Context, tx *sql.Tx, r *connectd.ResourceRecord) (int, error) {
	if err := record.Check("sqlite", "apply seed", r); err != nil {
		return 0, err
	}
	inserted, err := insertResource(ctx, tx, r, true)
	if err != nil {
		return 0, seedErr(string(r.Kind), r.ID, err)
	}
	if inserted {
		return 1, nil
	}
	old, err := scanResource(tx.QueryRowContext(ctx, `SELECT `+resourceCols+` FROM resources WHERE project_id = ? AND id = ?`, r.ProjectID, r.ID))
	if err != nil {
		return 0, seedErr(string(r.Kind), r.ID, err)
	}
	return 0, seeddiff.Resource(old, r)
}
