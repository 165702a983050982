// Package seed loads fixtures: the built-in demo project.
package seed

import (
	"context"
	"errors"
	"time"

	"github.com/connectd/connectd"
)

// Demo IDs are fixed so that the README's examples work on every machine.
const (
	DemoProjectID = "demo"
	DemoUserID    = "usr_0DemoJerry000000000000000001"
	DemoUserEmail = "jerry@example.com"
)

// Demo creates the demo project and its user when they do not exist yet. It
// reports whether it created the project.
func Demo(ctx context.Context, store connectd.Store) (created bool, err error) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	settings := connectd.DefaultProjectSettings()
	settings.DisplayName = "Demo Mobile"
	settings.PrimaryColor = "#0a7cff"
	settings.PreferredLocale = "en-US"
	p := &connectd.Project{ID: DemoProjectID, Name: "Demo Mobile", Settings: settings, CreatedAt: now}
	switch err := store.CreateProject(ctx, p); {
	case err == nil:
		created = true
	case errors.Is(err, connectd.ErrConflict):
	default:
		return false, err
	}
	name := "Jerry Seinfeld"
	u := &connectd.User{ID: DemoUserID, ProjectID: DemoProjectID, Email: DemoUserEmail, FullName: &name,
		Metadata: map[string]string{}, CreatedAt: now}
	if err := store.CreateUser(ctx, u, connectd.Idem{}); err != nil && !errors.Is(err, connectd.ErrConflict) {
		return created, err
	}
	return created, nil
}
