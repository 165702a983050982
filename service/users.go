package service

import (
	"context"
	"errors"

	"github.com/connectd/connectd"
)

// UserInput is a user create or update whose shape package api checked.
// Nil fields are absent: on update they stay as they are.
type UserInput struct {
	Email           *string
	FullName        *string
	Birthday        *string
	PreferredLocale *string
	Metadata        map[string]string
	Address         *connectd.Address
}

// CreateUser creates a user. Email is required and unique in the project,
// case-insensitively.
func (s *Service) CreateUser(ctx context.Context, projectID string, in UserInput, idem *Idempotency) (u *connectd.User, err error) {
	var held connectd.Idem
	if idem != nil {
		var id string
		var cerr error // not err: see CreateSession
		id, held, cerr = s.claim(ctx, projectID, *idem)
		if cerr != nil {
			return nil, cerr
		}
		if id != "" {
			idem.Replayed = true
			return s.GetUser(ctx, projectID, id)
		}
		defer func() {
			if err != nil {
				s.release(ctx, held)
			}
		}()
	}
	u = s.newUser(projectID, in)
	err = s.Store.CreateUser(ctx, u, held)
	if errors.Is(err, connectd.ErrConflict) {
		if idem != nil {
			// Either the email is taken or our lease lapsed and a retry
			// took the key over (it answers then).
			if _, gerr := s.Store.GetUserByEmail(ctx, projectID, u.Email); errors.Is(gerr, connectd.ErrNotFound) {
				return nil, errKeyInUse()
			}
		}
		return nil, emailTaken()
	}
	if err != nil {
		return nil, s.internal(ctx, "create user", err)
	}
	return u, nil
}

// newUser is the user that in creates: the one place a user is built,
// for the API and for the portal (userDetails at entry, hosted login).
func (s *Service) newUser(projectID string, in UserInput) *connectd.User {
	u := &connectd.User{
		ID:              connectd.NewID(connectd.PrefixUser),
		ProjectID:       projectID,
		Email:           *in.Email,
		FullName:        in.FullName,
		Birthday:        in.Birthday,
		PreferredLocale: in.PreferredLocale,
		Metadata:        in.Metadata,
		Address:         in.Address,
		CreatedAt:       s.now(),
	}
	if u.Metadata == nil {
		u.Metadata = map[string]string{}
	}
	return u
}

func emailTaken() error {
	return &connectd.Error{Type: connectd.TypeConflict, Code: "userEmailExists",
		Message: "A user with this email already exists in the project.",
		Details: []connectd.FieldError{{Field: "email", Code: "alreadyExists", Message: "a user with this email already exists"}}}
}

// GetUser returns user id of the project.
func (s *Service) GetUser(ctx context.Context, projectID, id string) (*connectd.User, error) {
	u, err := s.Store.GetUser(ctx, projectID, id)
	if errors.Is(err, connectd.ErrNotFound) {
		return nil, connectd.Errorf(connectd.TypeNotFound, "userNotFound", "No user %s exists in this project.", nameID(connectd.PrefixUser, id))
	}
	if err != nil {
		return nil, s.internal(ctx, "get user", err)
	}
	return u, nil
}

// ListUsers lists a project's users, newest first.
func (s *Service) ListUsers(ctx context.Context, projectID string, p connectd.ListParams) (connectd.Page[*connectd.User], error) {
	page, err := s.Store.ListUsers(ctx, projectID, p)
	if errors.Is(err, connectd.ErrCursorNotFound) {
		return page, cursorNotFound(p)
	}
	if err != nil {
		return page, s.internal(ctx, "list users", err)
	}
	return page, nil
}

// UpdateUser applies the present fields of in to user id. The store writes
// only those fields, in one statement, with no read of the user before:
// two concurrent PATCHes of different fields both stay (issue 11.3).
func (s *Service) UpdateUser(ctx context.Context, projectID, id string, in UserInput) (*connectd.User, error) {
	u, err := s.Store.UpdateUser(ctx, projectID, id, connectd.UserUpdate{Email: in.Email, FullName: in.FullName,
		Birthday: in.Birthday, PreferredLocale: in.PreferredLocale, Metadata: in.Metadata, Address: in.Address, At: s.now()})
	switch {
	case errors.Is(err, connectd.ErrConflict):
		return nil, emailTaken()
	case errors.Is(err, connectd.ErrNotFound):
		return nil, connectd.Errorf(connectd.TypeNotFound, "userNotFound", "No user %s exists in this project.", nameID(connectd.PrefixUser, id))
	case err != nil:
		return nil, s.internal(ctx, "update user", err)
	}
	return u, nil
}
