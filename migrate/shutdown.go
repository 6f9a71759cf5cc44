package migrate

import (
	"context"
	"sync"
	"time"
)

// Shutdown. When Run's context ends, every pass stops at the next message
// boundary: creates already on the wire are left to finish, so the
// outcome of each is known. But one large upload to a slow or throttled
// service can take minutes, and a daemon must stop within seconds (a
// service manager kills it after its timeout anyway). So creates still on
// the wire ShutdownGrace after the stop are cut. That is as safe as a
// kill at the same moment: a create whose outcome is unknown is found by
// its source key on the next pass, and an interrupted large create leaves
// only an incomplete item that is removed for good (see create.go and
// docs/ARCHITECTURE.md).

// DefaultShutdownGrace is Options.ShutdownGrace's default.
const DefaultShutdownGrace = 2 * time.Second

// aborter ends creates on the wire a grace period after Run's stop.
type aborter struct {
	once   sync.Once
	ctx    context.Context
	cancel context.CancelFunc
}

func (a *aborter) init() {
	a.once.Do(func() { a.ctx, a.cancel = context.WithCancel(context.Background()) })
}

// abortCtx ends when creates on the wire must be cut.
func (e *Engine) abortCtx() context.Context {
	e.abort.init()
	return e.abort.ctx
}

// armAbort cuts creates on the wire ShutdownGrace after ctx (Run's) ends.
func (e *Engine) armAbort(ctx context.Context) (disarm func()) {
	e.abort.init()
	grace := e.opts.ShutdownGrace
	if grace <= 0 {
		grace = DefaultShutdownGrace
	}
	var mu sync.Mutex
	var t *time.Timer
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		t = time.AfterFunc(grace, e.abort.cancel)
		mu.Unlock()
	})
	return func() {
		stop()
		mu.Lock()
		if t != nil {
			t.Stop()
		}
		mu.Unlock()
	}
}
