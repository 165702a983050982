package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

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

// UpdateUser sets the present fields of u, and only those columns, in one
// UPDATE ... RETURNING: a concurrent update of other fields is kept.
func (s *Store) UpdateUser(ctx context.Context, projectID, id string, u connectd.UserUpdate) (*connectd.User, error) {
	sets := []string{`updated_at = ?`}
	args := []any{ms(u.At)}
	set := func(col string, v any) {
		sets = append(sets, col+` = ?`)
		args = append(args, v)
	}
	if u.Email != nil {
		set(`email`, *u.Email)
		set(`email_lower`, connectd.NormalizeEmail(*u.Email))
	}
	if u.FullName != nil {
		set(`full_name`, *u.FullName)
	}
	if u.Birthday != nil {
		set(`birthday`, *u.Birthday)
	}
	if u.PreferredLocale != nil {
		set(`preferred_locale`, *u.PreferredLocale)
	}
	if u.Metadata != nil || u.Address != nil {
		metadata, address, err := userArgs(&connectd.User{Metadata: u.Metadata, Address: u.Address})
		if err != nil {
			return nil, fmt.Errorf("sqlite: update user: %w", err)
		}
		if u.Metadata != nil {
			set(`metadata`, metadata)
		}
		if u.Address != nil {
			set(`address`, address)
		}
	}
	args = append(args, projectID, id)
	got, err := scanUser(s.w.QueryRowContext(ctx, `UPDATE users SET `+strings.Join(sets, ", ")+`
		WHERE project_id = ? AND id = ? RETURNING `+userCols, args...))
	if err != nil {
		return nil, mapErr("update user", err)
	}
	return got, nil
}

func (s *Store) ListUsers(ctx context.Context, projectID string, p connectd.ListParams) (connectd.Page[*connectd.User], error) {
	return listPage(ctx, s.r, "list users", userCols, "users WHERE project_id = ?", []any{projectID}, p, scanUser,
		func(u *connectd.User) string { return u.ID })
}
