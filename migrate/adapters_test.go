package migrate_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/memtarget"
	"github.com/imapmig/imapmig/migrate/model"
	"github.com/imapmig/imapmig/state"
	"github.com/imapmig/imapmig/state/statetest"
)

// arrivals is closed once n callers have arrived.
type arrivals struct {
	mu   sync.Mutex
	left int
	all  chan struct{}
}

func newArrivals(n int) *arrivals { return &arrivals{left: n, all: make(chan struct{})} }

func (a *arrivals) arrive() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.left--; a.left == 0 {
		close(a.all)
	}
}

// wait waits until every caller has arrived.
func (a *arrivals) wait(ctx context.Context) error {
	select {
	case <-a.all:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// arrivingConnector and arrivingTarget mark each pass's use of the
// adapter they wrap.
type arrivingConnector struct {
	migrate.SourceConnector
	a *arrivals
}

func (c arrivingConnector) Connect(ctx context.Context, l migrate.Login) (migrate.Source, error) {
	c.a.arrive()
	return c.SourceConnector.Connect(ctx, l)
}

type arrivingTarget struct {
	migrate.Target
	a *arrivals
}

func (t arrivingTarget) Mailbox(ctx context.Context, address string) (migrate.Mailbox, error) {
	t.a.arrive()
	return t.Target.Mailbox(ctx, address)
}

// TestEngine_AdaptersBuiltOncePerEndpointAndTenant: a batch whose passes
// all start at once builds its endpoint's connector and its tenant's
// target once, not once per pass. A pass asks for both at the same time
// (open), so each factory is held until every pass has used the other
// adapter: by then every pass has asked for this one too, and passes that
// each built their own would all be counted.
func TestEngine_AdaptersBuiltOncePerEndpointAndTenant(t *testing.T) {
	const n = 12
	for _, held := range []string{"target", "connector"} {
		t.Run(held, func(t *testing.T) {
			src := newFakeServer()
			seedBasic(src)
			var users []string
			for i := range n {
				users = append(users, fmt.Sprintf("u%d@contoso.com", i))
			}
			tgt := memtarget.New(users...)
			used := newArrivals(n)
			var builds atomic.Int64
			st := statetest.MustOpen(t)
			h := newHarnessWith(t, st, src, tgt, n, func(o *migrate.Options) {
				o.Sources = func(ctx context.Context, _ state.Endpoint) (migrate.SourceConnector, error) {
					if held == "target" {
						return arrivingConnector{src, used}, nil
					}
					builds.Add(1)
					return src, used.wait(ctx)
				}
				o.Targets = func(ctx context.Context, _ state.Tenant) (migrate.Target, error) {
					if held == "connector" {
						return arrivingTarget{tgt, used}, nil
					}
					builds.Add(1)
					return tgt, used.wait(ctx)
				}
			})
			rows := make([]batchUser, 0, n)
			for _, u := range users {
				rows = append(rows, batchUser{u, "user", "pw"})
			}
			h.startBatch("b", state.BatchOptions{}, rows...)
			for _, u := range users {
				h.waitUser(u, model.UserSynced)
			}
			if got := builds.Load(); got != 1 {
				t.Fatalf("%d passes at once built the %s %d times, want once", n, held, got)
			}
		})
	}
}
