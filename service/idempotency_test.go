package service_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/platform"
	"github.com/connectd/connectd/service"
	"github.com/connectd/connectd/store/sqlite/sqlitetest"
)

// overtaken is a store in which, while a create runs, its lease lapses and a
// retry of the same request takes the key over.
type overtaken struct {
	connectd.Store
	hash  []byte
	retry time.Time
}

func (o *overtaken) takeOver(ctx context.Context, idem connectd.Idem) error {
	rec, err := o.Store.ClaimIdempotencyKey(ctx, idem.ProjectID, idem.Key, o.hash, o.retry, time.Minute)
	if err != nil || rec != nil {
		return errors.Join(err, errors.New("the retry did not take the key over"))
	}
	return nil
}

func (o *overtaken) CreateSession(ctx context.Context, s *connectd.Session, idem connectd.Idem) error {
	if err := o.takeOver(ctx, idem); err != nil {
		return err
	}
	return o.Store.CreateSession(ctx, s, idem)
}

func (o *overtaken) CreateUser(ctx context.Context, u *connectd.User, idem connectd.Idem) error {
	if err := o.takeOver(ctx, idem); err != nil {
		return err
	}
	return o.Store.CreateUser(ctx, u, idem)
}

func (o *overtaken) WriteResources(ctx context.Context, projectID string, writes []connectd.ResourceWrite) error {
	for _, w := range writes {
		if w.Idem != (connectd.Idem{}) {
			if err := o.takeOver(ctx, w.Idem); err != nil {
				return err
			}
		}
	}
	return o.Store.WriteResources(ctx, projectID, writes)
}

func (o *overtaken) ExpireSession(ctx context.Context, projectID, id string, now time.Time, idem connectd.Idem) (*connectd.Session, error) {
	if idem != (connectd.Idem{}) {
		if err := o.takeOver(ctx, idem); err != nil {
			return nil, err
		}
	}
	return o.Store.ExpireSession(ctx, projectID, id, now, idem)
}

// TestLapsedClaim: a request that outlived its lease, whose key a retry took
// over, creates nothing, answers idempotencyKeyInUse (not a 500, not
// userEmailExists), and leaves the retry's claim in flight: session and
// user creates, and (issue 11.4) resource creates and expiries.
func TestLapsedClaim(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	st := &overtaken{Store: sqlitetest.New(t), hash: []byte("request"), retry: at.Add(time.Hour)}
	svc := service.New(st, "https://connect.example.com", nil)
	svc.Now = func() time.Time { return at }
	pf := platform.New(st)
	pf.Now = svc.Now
	svc.Platform = pf
	p := &connectd.Project{ID: "p", Settings: connectd.DefaultProjectSettings()}
	if err := svc.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}

	inFlight := func(key string) {
		t.Helper()
		rec, err := st.Store.ClaimIdempotencyKey(ctx, p.ID, key, st.hash, st.retry.Add(time.Second), time.Minute)
		if err != nil || rec == nil || rec.ResourceID != "" || !rec.CreatedAt.Equal(st.retry) {
			t.Fatalf("claim of %s after the lapsed request: %+v, %v; want the retry's, in flight", key, rec, err)
		}
	}
	wantInUse := func(what string, err error) {
		t.Helper()
		if e := connectd.AsError(err); e.Code != "idempotencyKeyInUse" {
			t.Fatalf("%s: %v, want idempotencyKeyInUse", what, err)
		}
	}

	_, err := svc.CreateSession(ctx, p, service.CreateSessionInput{Intent: connectd.Intent{Type: connectd.IntentViewSubscriptions}},
		&service.Idempotency{Key: "s", RequestHash: st.hash})
	wantInUse("CreateSession", err)
	inFlight("s")
	if page, err := st.ListSessions(ctx, p.ID, connectd.SessionFilter{ListParams: connectd.ListParams{Limit: 10}}); err != nil || len(page.Items) != 0 {
		t.Fatalf("sessions: %d, %v; want none", len(page.Items), err)
	}

	email := "jerry@example.com"
	_, err = svc.CreateUser(ctx, p.ID, service.UserInput{Email: &email}, &service.Idempotency{Key: "u", RequestHash: st.hash})
	wantInUse("CreateUser", err)
	inFlight("u")
	if _, err := st.GetUserByEmail(ctx, p.ID, email); !errors.Is(err, connectd.ErrNotFound) {
		t.Fatalf("user: %v; want none", err)
	}

	_, err = service.ResourcesOf[connectd.Plan](svc).Create(ctx, p.ID, &connectd.Plan{Name: "Basic", Status: connectd.PlanActive},
		&service.Idempotency{Key: "r", RequestHash: st.hash})
	wantInUse("create plan", err)
	inFlight("r")
	if page, err := pf.Plans().List(ctx, p.ID, connectd.PlatformFilter{ListParams: connectd.ListParams{Limit: 10}}); err != nil || len(page.Items) != 0 {
		t.Fatalf("plans: %d, %v; want none", len(page.Items), err)
	}

	plain := service.New(st.Store, "https://connect.example.com", nil) // no takeover
	cs, err := plain.CreateSession(ctx, p, service.CreateSessionInput{Intent: connectd.Intent{Type: connectd.IntentViewSubscriptions}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.ExpireSession(ctx, p.ID, cs.Session.ID, &service.Idempotency{Key: "x", RequestHash: st.hash})
	wantInUse("ExpireSession", err)
	inFlight("x")
	if got, err := st.GetSession(ctx, p.ID, cs.Session.ID); err != nil || got.StoredStatus != connectd.StatusOpen {
		t.Fatalf("session after the refused expiry: %+v, %v; want open", got, err)
	}
}
