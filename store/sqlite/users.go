package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/connectd/connectd"
)

const userCols = `project_id, id, email, full_name, birthday, preferred_locale, metadata, address, created_at`

// userArgs encodes the JSON columns of u. Nil metadata is stored as {}.
func userArgs(u *connectd.User) (metadata string, address any, err error) {
	md := u.Metadata
	if md == nil {
		md = map[string]string{}
	}
	if metadata, err = marshal(md); err != nil {
		return "", nil, err
	}
	if address, err = jsonOrNull(u.Address, u.Address == nil); err != nil {
		return "", nil, err
	}
	return metadata, address, nil
}

func scanUser(sc interface{ Scan(...any) error }) (*connectd.User, error) {
	var u connectd.User
	var fullName, birthday, locale, address sql.NullString
	var metadata string
	var created int64
	if err := sc.Scan(&u.ProjectID, &u.ID, &u.Email, &fullName, &birthday, &locale, &metadata, &address, &created); err != nil {
		return nil, err
	}
	u.FullName, u.Birthday, u.PreferredLocale = stringPtr(fullName), stringPtr(birthday), stringPtr(locale)
	if err := json.Unmarshal([]byte(metadata), &u.Metadata); err != nil {
		return nil, fmt.Errorf("user %s metadata: %w", u.ID, err)
	}
	if u.Metadata == nil {
		u.Metadata = map[string]string{}
	}
	if address.Valid {
		if err := json.Unmarshal([]byte(address.String), &u.Address); err != nil {
			return nil, fmt.Errorf("user %s address: %w", u.ID, err)
		}
	}
	u.CreatedAt = fromMS(created)
	return &u, nil
}

func (s *Store) CreateUser(ctx context.Context, u *connectd.User, idem connectd.Idem) error {
	metadata, address, err := userArgs(u)
	if err != nil {
		return fmt.Errorf("sqlite: create user: %w", err)
	}
	return s.withIdem(ctx, "create user", idem, u.ID, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (`+userCols+`, email_lower, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			u.ProjectID, u.ID, u.Email, nullString(u.FullName), nullString(u.Birthday), nullString(u.PreferredLocale),
			metadata, address, ms(u.CreatedAt), connectd.NormalizeEmail(u.Email), ms(u.CreatedAt))
		return err
	})
}

func (s *Store) GetUser(ctx context.Context, projectID, id string) (*connectd.User, error) {
	u, err := scanUser(s.queryRow(ctx, `SELECT `+userCols+` FROM users WHERE project_id = ? AND id = ?`, projectID, id))
	if err != nil {
		return nil, mapErr("get user", err)
	}
	return u, nil
}

func (s *Store) GetUserByEmail(ctx context.Context, projectID, email string) (*connectd.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE project_id = ? AND email_lower = ?`,
		projectID, connectd.NormalizeEmail(email)))
	if err != nil {
		return nil, mapErr("get user by email", err)
	}
	return u, nil
}

// UpdateUser replaces the user and sets u.CreatedAt to the stored one.
func (s *Store) UpdateUser(ctx context.Context, u *connectd.User, at time.Time) error {
	metadata, address, err := userArgs(u)
	if err != nil {
		return fmt.Errorf("sqlite: update user: %w", err)
	}
	var created int64
	err = s.w.QueryRowContext(ctx, `UPDATE users SET email = ?, email_lower = ?, full_name = ?, birthday = ?,
			preferred_locale = ?, metadata = ?, address = ?, updated_at = ?
		WHERE project_id = ? AND id = ? RETURNING created_at`,
		u.Email, connectd.NormalizeEmail(u.Email), nullString(u.FullName), nullString(u.Birthday),
		nullString(u.PreferredLocale), metadata, address, ms(at), u.ProjectID, u.ID).Scan(&created)
	if err != nil {
		return mapErr("update user", err)
	}
	u.CreatedAt = fromMS(created)
	return nil
}

func (s *Store) ListUsers(ctx context.Context, projectID string, p connectd.ListParams) (connectd.Page[*connectd.User], error) {
	return listPage(ctx, s.r, "list users", userCols, "users WHERE project_id = ?", []any{projectID}, p, scanUser,
		func(u *connectd.User) string { return u.ID })
}
