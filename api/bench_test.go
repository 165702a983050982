package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/internal/apitest"
	"github.com/connectd/connectd/store/postgres/pgtest"
)

// Benchmarks of the Sessions API over real HTTP on a loopback port, one
// sub-benchmark per store backend. PostgreSQL runs when
// CONNECTD_TEST_POSTGRES_URL is set:
//
//	go test -run '^$' -bench . -benchtime 3s ./api/
//	CONNECTD_TEST_POSTGRES_URL='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' go test -run '^$' -bench . -benchtime 3s ./api/
//
// Requests run in parallel (b.RunParallel, GOMAXPROCS goroutines) through
// one shared client whose idle pool is large enough that connections are
// reused instead of exhausting ephemeral ports.

// benchBackends runs f as a sub-benchmark per backend; PostgreSQL is
// skipped when no database is configured.
func benchBackends(b *testing.B, f func(b *testing.B, e *benchEnv)) {
	for _, backend := range apitest.Backends {
		b.Run(string(backend), func(b *testing.B) {
			if backend == apitest.Postgres && os.Getenv(pgtest.EnvURL) == "" {
				b.Skipf("set %s to benchmark PostgreSQL", pgtest.EnvURL)
			}
			f(b, newBenchEnv(b, backend))
		})
	}
}

// benchEnv is a server with a user owning the resources every intent needs,
// and a client tuned for parallel load.
type benchEnv struct {
	*apitest.Env
	client *http.Client
	user   string
	bodies [][]byte // create bodies, spread over the 13 intents
}

func newBenchEnv(b *testing.B, backend apitest.Backend) *benchEnv {
	b.Helper()
	e := apitest.New(b, apitest.Options{Backend: backend})
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 512
	tr.MaxIdleConnsPerHost = 512 // the default of 2 makes parallel clients churn through ports
	tr.IdleConnTimeout = time.Minute
	b.Cleanup(tr.CloseIdleConnections)
	be := &benchEnv{Env: e, client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
	be.user = e.CreateUser("bench.user@example.com")
	w := seedWorldOf(b, e, be.user, freshWorld())
	be.bodies = benchCreateBodies(b, w, be.user)
	return be
}

// benchCreateBodies returns one realistic create body per intent: callback
// URLs of the accepted kinds, appearance on some, and the three ways to
// name a user (an existing user, userDetails, none) where the intent allows.
func benchCreateBodies(tb testing.TB, w world, user string) [][]byte {
	tb.Helper()
	type m = map[string]any
	intent := func(t connectd.IntentType, payload m) m {
		if payload == nil {
			return m{"type": string(t)}
		}
		return m{"type": string(t), string(t): payload}
	}
	withUser := func(body m) m { body["user"] = user; return body }
	details := m{
		"email": "new.customer@example.com", "fullName": "Elaine Benes", "birthday": "1990-05-17",
		"preferredLocale": "en-US", "metadata": m{"crmId": "12345", "segment": "consumer"},
	}
	bodies := []m{
		withUser(m{"callbackUrl": "https://example.com/connect/done?ref=bench", "intent": intent(connectd.IntentCancelSubscription, m{"subscription": w.sub})}),
		withUser(m{"callbackUrl": "myapp://connect-callback", "intent": intent(connectd.IntentChangeSubscription, m{"subscription": w.sub}), "appearance": m{"theme": "dark"}}),
		withUser(m{"callbackUrl": "https://example.com/cb", "intent": intent(connectd.IntentCheckoutAddon, m{"subscription": w.sub, "addons": []string{w.addon, w.addon2}})}),
		withUser(m{"callbackUrl": "https://shop.example.com/checkout/return", "intent": intent(connectd.IntentCheckoutNewSubscription,
			m{"plan": w.plan, "sim": w.sim, "device": w.device, "imei": "490154203237518", "addons": []string{w.addon}})}),
		withUser(m{"callbackUrl": "myapp://deep-link?screen=porting", "intent": intent(connectd.IntentCompletePorting, m{"subscription": w.sub})}),
		withUser(m{"callbackUrl": "https://example.com/pay/return", "intent": intent(connectd.IntentConfirmPayment, m{"payment": w.payment})}),
		withUser(m{"callbackUrl": "https://example.com/cb", "intent": intent(connectd.IntentResumeSubscription, m{"subscription": w.subEnded}), "appearance": m{"theme": "light"}}),
		withUser(m{"callbackUrl": nil, "intent": intent(connectd.IntentUpdatePaymentMethod, nil)}),
		{"callbackUrl": "http://localhost:3000/cb", "intent": intent(connectd.IntentUpdateUserAddress, nil), "userDetails": details},
		{"callbackUrl": "https://example.com/cb", "intent": intent(connectd.IntentUpdateUserFullName, nil), "userDetails": details},
		withUser(m{"callbackUrl": "myapp://esim", "intent": intent(connectd.IntentViewEsimInstallation, m{"subscription": w.sub})}),
		withUser(m{"callbackUrl": "https://example.com/cb#subscription", "intent": intent(connectd.IntentViewSubscription, m{"subscription": w.sub})}),
		{"callbackUrl": "https://example.com/cb", "intent": intent(connectd.IntentViewSubscriptions, nil)}, // hosted login
	}
	if len(bodies) != len(connectd.IntentTypes) {
		tb.Fatalf("%d bodies for %d intents", len(bodies), len(connectd.IntentTypes))
	}
	out := make([][]byte, len(bodies))
	for i, body := range bodies {
		j, err := json.Marshal(body)
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = j
	}
	return out
}

// do sends one request and drains the answer so that the connection goes
// back to the pool. It returns the body only when the status is not want.
func (be *benchEnv) do(method, path string, body []byte, want int) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, be.URL+"/projects/"+be.Project+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+be.Key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := be.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b, nil
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil, err
}

// checkBodies creates one session per body, so that a body the server
// refuses fails the benchmark before any timing.
func (be *benchEnv) checkBodies(b *testing.B) []string {
	b.Helper()
	ids := make([]string, 0, len(be.bodies))
	for i, body := range be.bodies {
		r := be.Do(apitest.Request{Method: http.MethodPost, Path: "/projects/" + be.Project + "/connectSessions", Body: body})
		if r.Status != http.StatusCreated {
			b.Fatalf("body %d (%s): %d %s", i, connectd.IntentTypes[i], r.Status, r.Body)
		}
		ids = append(ids, r.JSON(b)["id"].(string))
	}
	return ids
}

func BenchmarkCreateSession(b *testing.B) {
	benchBackends(b, func(b *testing.B, be *benchEnv) {
		be.checkBodies(b)
		var next atomic.Uint64
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := next.Add(1) % uint64(len(be.bodies))
				status, body, err := be.do(http.MethodPost, "/connectSessions", be.bodies[i], http.StatusCreated)
				if err != nil || status != http.StatusCreated {
					b.Errorf("create %s: %d %s %v", connectd.IntentTypes[i], status, body, err)
					return
				}
			}
		})
	})
}

func BenchmarkGetSession(b *testing.B) {
	benchBackends(b, func(b *testing.B, be *benchEnv) {
		// A realistic table: a few thousand sessions, read at random.
		ids := be.checkBodies(b)
		for len(ids) < 2000 {
			i := len(ids) % len(be.bodies)
			r := be.Do(apitest.Request{Method: http.MethodPost, Path: "/projects/" + be.Project + "/connectSessions", Body: be.bodies[i]})
			if r.Status != http.StatusCreated {
				b.Fatalf("create: %d %s", r.Status, r.Body)
			}
			ids = append(ids, r.JSON(b)["id"].(string))
		}
		var next atomic.Uint64
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				// A multiplicative step spreads reads over the table.
				id := ids[(next.Add(1)*7919)%uint64(len(ids))]
				status, body, err := be.do(http.MethodGet, "/connectSessions/"+id, nil, http.StatusOK)
				if err != nil || status != http.StatusOK {
					b.Errorf("get %s: %d %s %v", id, status, body, err)
					return
				}
			}
		})
	})
}
