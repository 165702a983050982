package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/connectd/connectd"
)

var projectTests = []test{
	{"CreateGet", func(t *testing.T, s connectd.Store) {
		ctx := t.Context()
		p := &connectd.Project{
			ID:   "p-" + uid(),
			Name: "Full settings",
			Settings: connectd.ProjectSettings{
				BillingMode:       connectd.BillingModeBilling,
				IntentValidation:  connectd.IntentValidationLenient,
				HostedLogin:       false,
				PortingRetry:      true,
				SessionTTL:        connectd.Duration(42 * time.Minute),
				CallbackAllowList: []string{"https://example.com/return", "https://*.example.org"},
				DisplayName:       "Example Mobile",
				PrimaryColor:      "#0a7cff",
				PreferredLocale:   "de-CH",
			},
			CreatedAt: now(),
		}
		is(t, "CreateProject", s.CreateProject(ctx, p), nil)
		got, err := s.GetProject(ctx, p.ID)
		is(t, "GetProject", err, nil)
		equal(t, "GetProject", got, p)

		d := mkProject(t, s)
		got, err = s.GetProject(ctx, d.ID)
		is(t, "GetProject", err, nil)
		equal(t, "GetProject with default settings", got, d)
	}},
	{"DuplicateID", func(t *testing.T, s connectd.Store) {
		p := mkProject(t, s)
		again := *p
		again.Name = "Another"
		is(t, "CreateProject with a taken ID", s.CreateProject(t.Context(), &again), connectd.ErrConflict)
		got, err := s.GetProject(t.Context(), p.ID)
		is(t, "GetProject", err, nil)
		equal(t, "GetProject after the refused duplicate", got, p)
	}},
	{"GetMissing", func(t *testing.T, s connectd.Store) {
		_, err := s.GetProject(t.Context(), "p-"+uid())
		is(t, "GetProject", err, connectd.ErrNotFound)
	}},
	{"List", func(t *testing.T, s connectd.Store) {
		ps, err := s.ListProjects(t.Context())
		is(t, "ListProjects", err, nil)
		if len(ps) != 0 {
			t.Fatalf("ListProjects of an empty store: %d projects", len(ps))
		}
		want := []*connectd.Project{mkProject(t, s), mkProject(t, s), mkProject(t, s)}
		ps, err = s.ListProjects(t.Context())
		is(t, "ListProjects", err, nil)
		byID := func(a, b *connectd.Project) int {
			if a.ID < b.ID {
				return -1
			} else if a.ID > b.ID {
				return 1
			}
			return 0
		}
		slices.SortFunc(ps, byID)
		slices.SortFunc(want, byID)
		equal(t, "ListProjects", ps, want)
	}},
}

var apiKeyTests = []test{
	{"CreateGet", func(t *testing.T, s connectd.Store) {
		ctx := t.Context()
		p := mkProject(t, s)
		_, hash := connectd.NewAPIKeySecret()
		k := &connectd.APIKey{ID: connectd.NewID(connectd.PrefixAPIKey), ProjectID: p.ID, SecretHash: hash, CreatedAt: now()}
		is(t, "CreateAPIKey", s.CreateAPIKey(ctx, k), nil)
		got, err := s.GetAPIKeyByHash(ctx, hash)
		is(t, "GetAPIKeyByHash", err, nil)
		equal(t, "GetAPIKeyByHash", got, k)

		_, other := connectd.NewAPIKeySecret()
		_, err = s.GetAPIKeyByHash(ctx, other)
		is(t, "GetAPIKeyByHash of an unknown hash", err, connectd.ErrNotFound)
	}},
	{"UnknownProject", func(t *testing.T, s connectd.Store) {
		_, hash := connectd.NewAPIKeySecret()
		k := &connectd.APIKey{ID: connectd.NewID(connectd.PrefixAPIKey), ProjectID: "p-" + uid(), SecretHash: hash, CreatedAt: now()}
		is(t, "CreateAPIKey in a missing project", s.CreateAPIKey(t.Context(), k), connectd.ErrNotFound)
		_, err := s.GetAPIKeyByHash(t.Context(), hash)
		is(t, "GetAPIKeyByHash", err, connectd.ErrNotFound)
	}},
}
