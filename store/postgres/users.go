package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/connectd/connectd"
)

const (
	userColumns = `id, project_id, email, full_name, birthday, preferred_locale, metadata, address, created_at`

	sqlCreateUser = `INSERT INTO users
    (id, project_id, email, email_lower, full_name, birthday, preferred_locale, metadata, address, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`

	// sqlCreateUserIdem inserts a user and completes the in-flight
	// idempotency claim ($11, $12, taken at $13) with its ID, in one
	// statement: nothing is inserted unless the claim is completed, and a
	// failed insert undoes the completion.
	sqlCreateUserIdem = `WITH idem AS (
    UPDATE idempotency_keys SET resource_id = $1
    WHERE project_id = $11 AND key = $12 AND resource_id IS NULL AND created_at = $13
    RETURNING 1
)
INSERT INTO users
    (id, project_id, email, email_lower, full_name, birthday, preferred_locale, metadata, address, created_at, updated_at)
SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::jsonb, $9::jsonb, $10::timestamptz, $10::timestamptz
WHERE EXISTS (SELECT 1 FROM idem)`

	sqlGetUser        = `SELECT ` + userColumns + ` FROM users WHERE project_id = $1 AND id = $2`
	sqlGetUserByEmail = `SELECT ` + userColumns + ` FROM users WHERE project_id = $1 AND email_lower = $2`

	// sqlUpdateUser sets the fields given (non-NULL) and keeps the others
	// as the row has them when the statement runs: no field is written
	// back from an earlier read, so concurrent updates of different fields
	// both stay.
	sqlUpdateUser = `UPDATE users SET
    email = COALESCE($3::text, email), email_lower = COALESCE($4::text, email_lower),
    full_name = COALESCE($5::text, full_name), birthday = COALESCE($6::text, birthday),
    preferred_locale = COALESCE($7::text, preferred_locale),
    metadata = COALESCE($8::jsonb, metadata), address = COALESCE($9::jsonb, address),
    updated_at = $10::timestamptz
WHERE project_id = $1 AND id = $2
RETURNING ` + userColumns
)

// userArgs returns the JSON columns of u.
func userJSON(u *connectd.User) (metadata, address any, err error) {
	if metadata, err = jsonArg(u.Metadata, u.Metadata == nil); err != nil {
		return nil, nil, fmt.Errorf("user metadata: %w", err)
	}
	if address, err = jsonArg(u.Address, u.Address == nil); err != nil {
		return nil, nil, fmt.Errorf("user address: %w", err)
	}
	return metadata, address, nil
}

// CreateUser inserts u, completing idem with its ID when idem is set.
// ErrConflict if the ID or the email is taken in the project, or if idem is
// not an in-flight claim.
func (s *Store) CreateUser(ctx context.Context, u *connectd.User, idem connectd.Idem) error {
	metadata, address, err := userJSON(u)
	if err != nil {
		return fmt.Errorf("postgres: create user: %w", err)
	}
	args := []any{u.ID, u.ProjectID, u.Email, connectd.NormalizeEmail(u.Email), u.FullName, u.Birthday,
		u.PreferredLocale, metadata, address, ms(u.CreatedAt)}
	if idem == (connectd.Idem{}) {
		_, err := s.pool.Exec(ctx, sqlCreateUser, args...)
		return mapErr("create user", err)
	}
	tag, err := s.pool.Exec(ctx, sqlCreateUserIdem, append(args, idem.ProjectID, idem.Key, ms(idem.ClaimedAt))...)
	if err != nil {
		return mapErr("create user", err)
	}
	if tag.RowsAffected() == 0 {
		return connectd.ErrClaimLost
	}
	return nil
}

// GetUser returns user id of the project.
func (s *Store) GetUser(ctx context.Context, projectID, id string) (*connectd.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, sqlGetUser, projectID, id))
	if err != nil {
		return nil, mapErr("get user", err)
	}
	return u, nil
}

// GetUserByEmail returns the user of the project whose email matches,
// case-insensitively.
func (s *Store) GetUserByEmail(ctx context.Context, projectID, email string) (*connectd.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, sqlGetUserByEmail, projectID, connectd.NormalizeEmail(email)))
	if err != nil {
		return nil, mapErr("get user by email", err)
	}
	return u, nil
}

// UpdateUser sets the present fields of u on user id in one statement and
// returns the user. ErrNotFound if there is none, ErrConflict if the new
// email is taken.
func (s *Store) UpdateUser(ctx context.Context, projectID, id string, u connectd.UserUpdate) (*connectd.User, error) {
	metadata, address, err := userJSON(&connectd.User{Metadata: u.Metadata, Address: u.Address})
	if err != nil {
		return nil, fmt.Errorf("postgres: update user: %w", err)
	}
	var email, emailLower *string
	if u.Email != nil {
		lower := connectd.NormalizeEmail(*u.Email)
		email, emailLower = u.Email, &lower
	}
	got, err := scanUser(s.pool.QueryRow(ctx, sqlUpdateUser, projectID, id, email, emailLower,
		u.FullName, u.Birthday, u.PreferredLocale, metadata, address, ms(u.At)))
	if err != nil {
		return nil, mapErr("update user", err)
	}
	return got, nil
}

// ListUsers returns one page of the project's users, newest first.
func (s *Store) ListUsers(ctx context.Context, projectID string, p connectd.ListParams) (connectd.Page[*connectd.User], error) {
	q := listQuery{columns: userColumns, table: "users", where: "project_id = $1", args: []any{projectID}}
	page, err := listPage(ctx, s, q, p, scanUser)
	if err != nil {
		return page, mapErr("list users", err)
	}
	return page, nil
}

func scanUser(row pgx.Row) (*connectd.User, error) {
	var u connectd.User
	var metadata, address []byte
	err := row.Scan(&u.ID, &u.ProjectID, &u.Email, &u.FullName, &u.Birthday, &u.PreferredLocale,
		&metadata, &address, &u.CreatedAt)
	if err != nil {
		return nil, err
	}
	if metadata != nil {
		if err := json.Unmarshal(metadata, &u.Metadata); err != nil {
			return nil, fmt.Errorf("user metadata: %w", err)
		}
	}
	if address != nil {
		if err := json.Unmarshal(address, &u.Address); err != nil {
			return nil, fmt.Errorf("user address: %w", err)
		}
	}
	u.CreatedAt = u.CreatedAt.UTC()
	return &u, nil
}

// jsonArg returns v as a JSON text argument, or nil (SQL NULL) when null is
// set. Text rather than []byte keeps jsonb arguments right in every pgx query
// mode, the simple protocol included.
func jsonArg(v any, null bool) (any, error) {
	if null {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}
