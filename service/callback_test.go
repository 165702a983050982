package service_test

import (
	"context"
	"testing"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/service"
	"github.com/connectd/connectd/store/sqlite/sqlitetest"
)

// TestCallbackRulesAreEnforcedByTheService: the callbackUrl rules and the
// project's allow-list hold for every caller of the service, not only for
// requests that went through package api's decoder.
func TestCallbackRulesAreEnforcedByTheService(t *testing.T) {
	ctx := context.Background()
	svc := service.New(sqlitetest.New(t), "https://connect.example.com", nil)
	p := &connectd.Project{ID: "p", Settings: connectd.DefaultProjectSettings()}
	p.Settings.CallbackAllowList = []string{"https://app.example.com/done"}
	if err := svc.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	intent := connectd.Intent{Type: connectd.IntentUpdateUserFullName}
	allowed := "https://app.example.com/done"
	open, err := svc.CreateSession(ctx, p, service.CreateSessionInput{CallbackURL: &allowed, Intent: intent}, nil)
	if err != nil {
		t.Fatalf("create with an allowed callback: %v", err)
	}

	for _, tc := range []struct {
		name, callback, code string
	}{
		{"not_in_the_allow_list", "https://evil.example.com/done", connectd.CodeCallbackNotAllowed},
		{"forbidden_scheme", "javascript:alert(1)", connectd.CodeCallbackScheme},
		{"plain_http_to_another_host", "http://app.example.com/done", connectd.CodeCallbackInsecureHTTP},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := func(what string, err error) {
				t.Helper()
				e := connectd.AsError(err)
				if e.Code != "validationFailed" || len(e.Details) != 1 || e.Details[0].Field != "callbackUrl" || e.Details[0].Code != tc.code {
					t.Errorf("%s with callbackUrl %q: %v, want a validation error callbackUrl %s", what, tc.callback, err, tc.code)
				}
			}
			_, err := svc.CreateSession(ctx, p, service.CreateSessionInput{CallbackURL: &tc.callback, Intent: intent}, nil)
			want("create", err)
			_, err = svc.UpdateSession(ctx, p, open.Session.ID, service.UpdateSessionInput{CallbackURL: &tc.callback})
			want("update", err)
		})
	}
}
