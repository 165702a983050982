package service

import (
	"context"
	"testing"
	"time"

	"github.com/connectd/connectd"
	"github.com/connectd/connectd/store/sqlite/sqlitetest"
)

func TestLookupCacheExpiresAndBounds(t *testing.T) {
	c := lookupCache[int]{ttl: 50 * time.Millisecond}
	c.put("a", 1)
	if v, ok := c.get("a"); !ok || v != 1 {
		t.Fatalf("get a = %v, %v; want 1, true", v, ok)
	}
	if _, ok := c.get("b"); ok {
		t.Fatal("get b: found an entry never put")
	}
	time.Sleep(60 * time.Millisecond)
	if _, ok := c.get("a"); ok {
		t.Fatal("get a after the TTL: still found")
	}
	for i := range 3 * lookupCacheSize {
		c.put(string(rune(i)), i)
		if len(c.m) > lookupCacheSize {
			t.Fatalf("cache holds %d entries, more than %d", len(c.m), lookupCacheSize)
		}
	}
}

// countingStore counts the key and project reads that reach the store.
type countingStore struct {
	connectd.Store
	keys, projects int
}

func (c *countingStore) GetAPIKeyByHash(ctx context.Context, hash []byte) (*connectd.APIKey, error) {
	c.keys++
	return c.Store.GetAPIKeyByHash(ctx, hash)
}

func (c *countingStore) GetProject(ctx context.Context, id string) (*connectd.Project, error) {
	c.projects++
	return c.Store.GetProject(ctx, id)
}

func TestLookupCacheServesAuthenticateAndProject(t *testing.T) {
	ctx := context.Background()
	st := &countingStore{Store: sqlitetest.New(t)}
	s := New(st, "http://example.test", nil)
	if err := s.CreateProject(ctx, &connectd.Project{ID: "p1", Settings: connectd.DefaultProjectSettings()}); err != nil {
		t.Fatal(err)
	}
	secret, err := s.CreateAPIKey(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	// Off by default: every call reads the store.
	for range 2 {
		if _, err := s.Authenticate(ctx, secret); err != nil {
			t.Fatal(err)
		}
	}
	if st.keys != 2 {
		t.Fatalf("cache off: %d key reads, want 2", st.keys)
	}
	s.EnableLookupCache(100 * time.Millisecond)
	st.keys, st.projects = 0, 0
	// A miss is not kept: an unknown key is read each time.
	for range 2 {
		if _, err := s.Authenticate(ctx, connectd.APIKeyPrefix+"unknown"); err == nil {
			t.Fatal("unknown key authenticated")
		}
	}
	if st.keys != 2 {
		t.Fatalf("unknown key: %d reads, want 2", st.keys)
	}
	st.keys = 0
	for range 5 {
		k, err := s.Authenticate(ctx, secret)
		if err != nil || k.ProjectID != "p1" {
			t.Fatalf("Authenticate = %+v, %v", k, err)
		}
		k.ProjectID = "changed by a caller" // must not reach the cache
		p, err := s.Project(ctx, "p1", "p1")
		if err != nil || p.ID != "p1" {
			t.Fatalf("Project = %+v, %v", p, err)
		}
		p.Settings.CallbackAllowList = append(p.Settings.CallbackAllowList, "mutated")
	}
	if st.keys != 1 || st.projects != 1 {
		t.Fatalf("cache on: %d key and %d project reads, want 1 and 1", st.keys, st.projects)
	}
	if p, _ := s.GetProject(ctx, "p1"); len(p.Settings.CallbackAllowList) != 0 {
		t.Fatalf("a caller's change reached the cache: %v", p.Settings.CallbackAllowList)
	}
	time.Sleep(120 * time.Millisecond)
	if _, err := s.Authenticate(ctx, secret); err != nil {
		t.Fatal(err)
	}
	if st.keys != 2 {
		t.Fatalf("after the TTL: %d key reads, want 2", st.keys)
	}
}
