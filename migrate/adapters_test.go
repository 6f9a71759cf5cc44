package migrate_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/memtarget"
	"github.com/imapmig/imapmig/migrate/model"
	"github.com/imapmig/imapmig/state"
	"github.com/imapmig/imapmig/state/statetest"
)

// TestEngine_AdaptersBuiltOncePerEndpointAndTenant: a batch whose passes
// all start at once builds its endpoint's connector and its tenant's
// target once, not once per pass. The factories hold every caller until
// all the batch's passes have started, so passes that each built their
// own would all be counted.
func TestEngine_AdaptersBuiltOncePerEndpointAndTenant(t *testing.T) {
	const n = 12
	src := newFakeServer()
	seedBasic(src)
	var users []string
	for i := range n {
		users = append(users, fmt.Sprintf("u%d@contoso.com", i))
	}
	tgt := memtarget.New(users...)
	release := make(chan struct{})
	var sources, targets atomic.Int64
	st := statetest.MustOpen(t)
	h := newHarnessWith(t, st, src, tgt, n, func(o *migrate.Options) {
		o.Sources = func(ctx context.Context, _ state.Endpoint) (migrate.SourceConnector, error) {
			sources.Add(1)
			select {
			case <-release:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			return src, nil
		}
		o.Targets = func(ctx context.Context, _ state.Tenant) (migrate.Target, error) {
			targets.Add(1)
			select {
			case <-release:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			return tgt, nil
		}
	})
	rows := make([]batchUser, 0, n)
	for _, u := range users {
		rows = append(rows, batchUser{u, "user", "pw"})
	}
	h.startBatch("b", state.BatchOptions{SyncInterval: time.Hour}, rows...)
	deadline := time.Now().Add(30 * time.Second)
	for started := 0; started < n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d passes started", started, n)
		}
		started = 0
		time.Sleep(time.Millisecond) // polling interval
		for _, u := range users {
			if got, err := st.User(u); err == nil && got.Status != model.UserQueued && got.Status != "" {
				started++
			}
		}
	}
	close(release)
	for _, u := range users {
		h.waitUser(u, model.UserSynced)
	}
	if s, g := sources.Load(), targets.Load(); s != 1 || g != 1 {
		t.Fatalf("built %d connectors and %d targets for %d passes at once, want 1 and 1", s, g, n)
	}
}
