package service

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/connectd/connectd"
)

// DefaultLookupCacheTTL is how long `connectd serve` keeps an API key or a
// project it has read, so that the API and the portal do not read the same
// two rows again on every request. A key deleted or a project changed in the
// database (by another instance or by hand) takes effect within this time.
const DefaultLookupCacheTTL = 2 * time.Second

// lookupCacheSize bounds each cache; when full, expired entries are dropped
// and, if that frees nothing, the whole cache.
const lookupCacheSize = 1024

// lookupCache is a small TTL cache of found rows. Misses (ErrNotFound) and
// errors are never cached, so a key just created works at once. API keys are
// keyed by the SHA-256 of their secret, never the secret.
type lookupCache[V any] struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]lookupEntry[V]
}

type lookupEntry[V any] struct {
	v       V
	expires time.Time // monotonic clock reading of time.Now
}

func (c *lookupCache[V]) get(k string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || !time.Now().Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.v, true
}

func (c *lookupCache[V]) put(k string, v V) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]lookupEntry[V])
	}
	if _, ok := c.m[k]; !ok && len(c.m) >= lookupCacheSize {
		for k, e := range c.m {
			if !now.Before(e.expires) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= lookupCacheSize {
			clear(c.m)
		}
	}
	c.m[k] = lookupEntry[V]{v: v, expires: now.Add(c.ttl)}
}

// lookups holds the caches of a Service; a zero TTL turns them off.
type lookups struct {
	keys     lookupCache[connectd.APIKey]
	projects lookupCache[connectd.Project]
}

// EnableLookupCache makes Authenticate, Project and GetProject keep what
// they read for ttl (DefaultLookupCacheTTL in `connectd serve`); zero or less
// turns caching off (the default of New, which tests rely on). Call it
// before serving.
func (s *Service) EnableLookupCache(ttl time.Duration) {
	if ttl <= 0 {
		s.cache = nil
		return
	}
	c := &lookups{}
	c.keys.ttl, c.projects.ttl = ttl, ttl
	s.cache = c
}

// apiKeyByHash is Store.GetAPIKeyByHash through the cache.
func (s *Service) apiKeyByHash(ctx context.Context, hash []byte) (*connectd.APIKey, error) {
	c := s.cache
	if c != nil {
		if k, ok := c.keys.get(string(hash)); ok {
			k.SecretHash = slices.Clone(k.SecretHash)
			return &k, nil
		}
	}
	s.Metrics.APIKeyLookedUp()
	k, err := s.Store.GetAPIKeyByHash(ctx, hash)
	if err == nil && c != nil {
		v := *k
		v.SecretHash = slices.Clone(k.SecretHash)
		c.keys.put(string(hash), v)
	}
	return k, err
}

// GetProject is Store.GetProject through the cache. Every caller gets its
// own copy.
func (s *Service) GetProject(ctx context.Context, id string) (*connectd.Project, error) {
	c := s.cache
	if c != nil {
		if p, ok := c.projects.get(id); ok {
			return cloneProject(&p), nil
		}
	}
	p, err := s.Store.GetProject(ctx, id)
	if err == nil && c != nil {
		c.projects.put(id, *cloneProject(p))
	}
	return p, err
}

func cloneProject(p *connectd.Project) *connectd.Project {
	cp := *p
	if p.Settings.CallbackAllowList != nil {
		cp.Settings.CallbackAllowList = slices.Clone(p.Settings.CallbackAllowList)
	}
	return &cp
}
