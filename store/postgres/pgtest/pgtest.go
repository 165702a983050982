// Package pgtest gives tests a PostgreSQL store of their own: a fresh schema
// of the database named by CONNECTD_TEST_POSTGRES_URL, dropped when the test
// ends.
//
// Without that variable the tests that use it are skipped, unless
// CONNECTD_TEST_REQUIRE_POSTGRES=1, when they fail: CI sets both so that a
// missing database cannot pass for a green run.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/connectd/connectd/store/postgres"
)

// Environment variables read by New and URL.
const (
	EnvURL     = "CONNECTD_TEST_POSTGRES_URL"
	EnvRequire = "CONNECTD_TEST_REQUIRE_POSTGRES"
)

const hint = "set " + EnvURL + "=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run them"

// connectTimeout bounds how long a test waits for the server.
const connectTimeout = 10 * time.Second

// New returns a migrated store on a fresh schema, closed and dropped when t
// ends.
func New(t testing.TB) *postgres.Store {
	t.Helper()
	u := URL(t)
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	s, err := postgres.Open(ctx, u)
	if err != nil {
		t.Fatalf("pgtest: open: %v", err)
	}
	// Registered after URL's cleanup, so it runs before the schema is dropped.
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("pgtest: migrate: %v", err)
	}
	return s
}

// URL creates a fresh, empty schema and returns the test database's URL with
// search_path set to it, for tests that open their own store or start a
// server process. The schema is dropped when t ends.
func URL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvURL)
	if base == "" {
		unavailable(t, "PostgreSQL tests skipped: "+hint)
	}
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	conn, err := connect(ctx, base)
	if err != nil {
		unavailable(t, fmt.Sprintf("PostgreSQL tests skipped: cannot reach the server of %s (%v); %s", EnvURL, err, hint))
	}
	defer conn.Close(context.Background())

	schema := "t_" + randomHex(8)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("pgtest: create schema: %v", err)
	}
	t.Cleanup(func() { dropSchema(t, base, schema) })
	u, err := withSearchPath(base, schema)
	if err != nil {
		t.Fatalf("pgtest: %s: %v", EnvURL, err)
	}
	return u
}

// NeedURLForm is for the tests that append settings to the URL: it skips t
// when EnvURL is in keyword/value form (host=... dbname=...), or fails it
// when PostgreSQL is required, since CI gives a URL.
func NeedURLForm(t testing.TB, u string) {
	t.Helper()
	if !strings.Contains(u, "://") {
		unavailable(t, "PostgreSQL tests skipped: this test needs a URL-form "+EnvURL+" (postgres://...)")
	}
}

// unavailable skips t, or fails it when PostgreSQL is required.
func unavailable(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv(EnvRequire) == "1" {
		t.Fatal(strings.Replace(msg, "tests skipped", "required ("+EnvRequire+"=1) but unavailable", 1))
	}
	t.Skip(msg)
}

func dropSchema(t testing.TB, base, schema string) {
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	conn, err := connect(ctx, base)
	if err != nil {
		t.Errorf("pgtest: drop schema %s: %v", schema, err)
		return
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
		t.Errorf("pgtest: drop schema %s: %v", schema, err)
	}
}

// connect opens one connection to the database of url, which may carry pool
// settings (pool_max_conns, ...) meant for postgres.Open.
func connect(ctx context.Context, url string) (*pgx.Conn, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	return pgx.ConnectConfig(ctx, cfg.ConnConfig)
}

// withSearchPath sets search_path in a URL or keyword/value connection
// string.
func withSearchPath(base, schema string) (string, error) {
	if strings.HasPrefix(base, "postgres://") || strings.HasPrefix(base, "postgresql://") {
		u, err := url.Parse(base)
		if err != nil {
			return "", fmt.Errorf("not a URL")
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	return base + " search_path=" + schema, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
