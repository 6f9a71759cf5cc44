package webui

import (
	"sync"
	"time"

	"github.com/imapmig/imapmig/migrate"
)

// batchCache keeps a batch's view and users for a short time, so paging,
// sorting and filtering a batch of 50,000 users, and several browsers
// refreshing it, cost one read of the engine per interval instead of one
// per request. An entry lives ten times as long as it took to read (at
// least minTTL, at most maxTTL): a small batch is always fresh, a huge one
// costs at most about a tenth of a core however many browsers watch it.
// Actions drop the entries they touch.
type batchCache struct {
	now            func() time.Time
	minTTL, maxTTL time.Duration
	mu             sync.Mutex
	byName         map[string]*cacheEntry
}

// maxCachedBatches bounds the memory the cache holds.
const maxCachedBatches = 4

type cacheEntry struct {
	mu    sync.Mutex // held while loading, so concurrent requests share one read
	at    time.Time
	ttl   time.Duration
	view  migrate.BatchView
	users []migrate.UserView
}

func newBatchCache(now func() time.Time) *batchCache {
	return &batchCache{now: now, minTTL: time.Second, maxTTL: 30 * time.Second, byName: map[string]*cacheEntry{}}
}

// get returns the batch's view and users (which the caller must not
// modify), reading them with load when the entry is missing or old.
func (c *batchCache) get(name string, load func() (migrate.BatchView, []migrate.UserView, error)) (migrate.BatchView, []migrate.UserView, error) {
	c.mu.Lock()
	e := c.byName[name]
	if e == nil {
		if len(c.byName) >= maxCachedBatches {
			var oldest string
			for n, x := range c.byName {
				if oldest == "" || x.at.Before(c.byName[oldest].at) {
					oldest = n
				}
			}
			delete(c.byName, oldest)
		}
		e = &cacheEntry{}
		c.byName[name] = e
	}
	c.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.at.IsZero() && c.now().Sub(e.at) < e.ttl {
		return e.view, e.users, nil
	}
	start := c.now()
	v, us, err := load()
	if err != nil {
		c.drop(name)
		return v, nil, err
	}
	took := c.now().Sub(start)
	e.at, e.ttl, e.view, e.users = c.now(), max(c.minTTL, min(c.maxTTL, 10*took)), v, us
	return v, us, nil
}

// drop forgets a batch ("" forgets all).
func (c *batchCache) drop(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if name == "" {
		clear(c.byName)
		return
	}
	delete(c.byName, name)
}

// DropCache forgets every batch read (benchmarks measure a cold read).
func (c *Console) DropCache() { c.cache.drop("") }
