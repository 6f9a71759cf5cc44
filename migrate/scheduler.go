// The scheduler: which passes start when, the registry of passes in flight.

package migrate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/imapmig/imapmig/migrate/model"
	"github.com/imapmig/imapmig/state"
)

// passKind says which pool a pass runs in and what ends it.
type passKind int

func (k passKind) String() string {
	return [...]string{"initial", "incremental", "final"}[k]
}

// running is a pass in flight.
type running struct {
	kind     passKind
	batch    string
	endpoint string
	cancel   context.CancelFunc
	prog     *progress
	mbx      Mailbox // set once the target mailbox is open (for Pacer)
	wait     *waitBoard
}

// registry holds the engine's in-flight passes and cached adapters.
type registry struct {
	mu      sync.Mutex
	runs    map[string]*running // by user key
	sources map[string]SourceConnector
	targets map[string]Target
	// flight builds each adapter once (adapters.go); gen counts
	// ForgetAdapters calls, so a build that started before one is not
	// kept.
	flight singleflight.Group
	gen    uint64
	wg     sync.WaitGroup
}

func (e *Engine) reg() *registry {
	e.regOnce.Do(func() {
		e.registry = &registry{runs: map[string]*running{}, sources: map[string]SourceConnector{}, targets: map[string]Target{}}
	})
	return e.registry
}

// Run is the scheduler: it starts passes as the endpoints' pools allow and
// the users' schedules say, until ctx ends; then it stops every pass at its
// next message boundary and returns.
func (e *Engine) Run(ctx context.Context) error {
	if err := e.recover(); err != nil {
		return err
	}
	defer e.armAbort(ctx)() // creates on the wire are cut ShutdownGrace after the stop
	fatal := make(chan error, 1)
	e.fatal = fatal
	defer func() {
		r := e.reg()
		r.mu.Lock()
		for _, run := range r.runs {
			run.cancel()
		}
		r.mu.Unlock()
		r.wg.Wait()
	}()
	var due time.Time // when the next scan is due at the average pace (see scanPace)
	for {
		if wait := scanPace(&due, time.Now(), e.opts.MinScanGap); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
			scanPace(&due, time.Now(), e.opts.MinScanGap)
		}
		next, err := e.schedule(ctx)
		if err != nil {
			return err
		}
		wait := e.opts.ScanInterval
		if !next.IsZero() {
			wait = min(wait, max(next.Sub(e.now()), 10*time.Millisecond))
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case err := <-fatal:
			timer.Stop()
			return err
		case <-e.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// scanPace paces the scheduler's scans: wake-ups come in bursts (every
// pass that ends sends one) and a scan reads every user, so scans are
// MinScanGap apart on average. Two may come back to back after a quiet
// spell (the generic cell rate algorithm with a tolerance of one gap), so
// the first wake-up after it (a batch started right after the daemon came
// up and made its first scan, a SyncNow) is served at once, while the
// wake-ups of passes ending together still wait. It returns how long to
// wait before scanning at now; when that is 0 it counts the scan in due.
func scanPace(due *time.Time, now time.Time, gap time.Duration) time.Duration {
	if wait := due.Add(-gap).Sub(now); wait > 0 {
		return wait
	}
	if due.Before(now) {
		*due = now
	}
	*due = due.Add(gap)
	return 0
}

// recover puts users whose pass was interrupted by a daemon stop back where
// the scheduler picks them up again.
func (e *Engine) recover() error {
	us, err := e.store.Users("")
	if err != nil {
		return Fatal(err)
	}
	now := e.now().UTC()
	for _, u := range us {
		var fix func(*state.User)
		switch u.Status {
		case model.UserValidating, model.UserSyncing:
			fix = func(u *state.User) { u.Status = model.UserQueued }
		case model.UserIncrementalSyncing:
			fix = func(u *state.User) { u.Status, u.NextSyncAt = model.UserSynced, now }
		case model.UserStopping:
			fix = func(u *state.User) { u.Status = model.UserStopped }
		case model.UserCompleting:
			fix = func(u *state.User) { u.NextSyncAt = now }
		}
		if fix == nil {
			continue
		}
		if _, err := e.store.UpdateUser(u.EmailAddress, func(u *state.User) error { fix(u); return nil }); err != nil {
			return Fatal(err)
		}
	}
	return nil
}

// schedule starts what may start now and returns when it should look again
// (zero: no known time).
func (e *Engine) schedule(ctx context.Context) (time.Time, error) {
	eps, err := e.store.Endpoints()
	if err != nil {
		return time.Time{}, Fatal(err)
	}
	bs, err := e.store.Batches()
	if err != nil {
		return time.Time{}, Fatal(err)
	}
	now := e.now()
	endpoints := map[string]state.Endpoint{}
	for _, ep := range eps {
		endpoints[ep.Name] = ep
	}
	var next time.Time
	soonest := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	batches := e.scheduleBatches(ctx, bs, now, soonest)
	r := e.reg()
	r.mu.Lock()
	total := map[string]int{}
	incr := map[string]int{}
	for _, run := range r.runs {
		total[run.endpoint]++
		if run.kind != passInitial {
			incr[run.endpoint]++
		}
	}
	r.mu.Unlock()

	full := func(ep state.Endpoint, kind passKind) bool {
		return total[ep.Name] >= cmp.Or(ep.MaxConcurrentMigrations, 20) ||
			kind != passInitial && incr[ep.Name] >= cmp.Or(ep.MaxConcurrentIncrementalSyncs, 10)
	}
	allFull := func() bool {
		for _, ep := range endpoints {
			if !full(ep, passInitial) {
				return false
			}
		}
		return true
	}
	// Due users come from the state's due index, earliest first: queued
	// users in the order they were queued, synced users by their next sync
	// (SyncNow makes it now). Reading stops once every pool is full.
	err = e.store.Due(now, func(u state.User) bool {
		if allFull() {
			return false
		}
		b, ok := batches[u.Batch]
		if !ok || e.Running(u.EmailAddress) {
			return true
		}
		if sa := b.Options.StartAfter; !sa.IsZero() && now.Before(sa) {
			soonest(sa)
			return true
		}
		var kind passKind
		switch {
		case u.Status == model.UserQueued && (b.Status == model.BatchSyncing || b.Status == model.BatchSyncedWithErrors || b.Status == model.BatchSynced):
			kind = passInitial
		case (u.Status == model.UserSynced || u.Status == model.UserFailed && !u.LastSuccessfulSyncTime.IsZero()) &&
			(b.Status == model.BatchSyncing || b.Status == model.BatchSynced || b.Status == model.BatchSyncedWithErrors):
			kind = passIncremental // a Failed user here keeps retrying its incremental syncs
		case u.Status == model.UserCompleting:
			kind = passFinal
		default:
			return true
		}
		ep, ok := endpoints[b.Endpoint]
		if !ok || full(ep, kind) {
			return true
		}
		total[ep.Name]++
		if kind != passInitial {
			incr[ep.Name]++
		}
		e.start(ctx, u, b, ep, kind)
		return true
	})
	if err != nil {
		return time.Time{}, Fatal(err)
	}
	if t, ok := e.store.NextDue(now); ok {
		soonest(t)
	}
	return next, nil
}

// scheduleBatches sends the batches' due report mails and completes the
// batches whose complete_after has come; it returns the batches by name
// and tells soonest when to look again.
func (e *Engine) scheduleBatches(ctx context.Context, bs []state.Batch, now time.Time, soonest func(time.Time)) map[string]state.Batch {
	batches := map[string]state.Batch{}
	for _, b := range bs {
		batches[b.Name] = b
		for _, kind := range e.dueReports(b, now) {
			r := e.reg()
			r.wg.Add(1)
			go func(name, kind string) {
				defer r.wg.Done()
				if err := e.SendReport(ctx, name, kind); err != nil {
					e.log.Warn("report mail", "batch", name, "kind", kind, "err", err)
				}
			}(b.Name, kind)
		}
		if !b.LastReportAt.IsZero() && e.live().ReportInterval > 0 {
			soonest(b.LastReportAt.Add(e.live().ReportInterval))
		}
		if ca := b.Options.CompleteAfter; !ca.IsZero() {
			if (b.Status == model.BatchSynced || b.Status == model.BatchSyncedWithErrors) && !now.Before(ca) {
				if err := e.CompleteBatch(ctx, b.Name); err != nil {
					e.log.Warn("complete_after", "batch", b.Name, "err", err)
				}
			} else if now.Before(ca) {
				soonest(ca)
			}
		}
	}
	return batches
}

// Running reports whether a pass of the user is in flight.
func (e *Engine) Running(email string) bool {
	r := e.reg()
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.runs[state.UserKey(email)]
	return ok
}

// start launches one pass in its own goroutine.
func (e *Engine) start(ctx context.Context, u state.User, b state.Batch, ep state.Endpoint, kind passKind) {
	key := state.UserKey(u.EmailAddress)
	pctx, cancel := context.WithCancel(ctx)
	run := &running{kind: kind, batch: b.Name, endpoint: ep.Name, cancel: cancel, wait: &waitBoard{}}
	pctx = withWaitBoard(pctx, run.wait)
	r := e.reg()
	r.mu.Lock()
	r.runs[key] = run
	r.wg.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.wg.Done()
		defer func() {
			if p := recover(); p != nil {
				e.log.Error("pass panicked", "user", u.EmailAddress, "panic", p)
				e.finishFailed(u.EmailAddress, "InternalError", fmt.Errorf("internal error: %v", p))
			}
			r.mu.Lock()
			delete(r.runs, key)
			r.mu.Unlock()
			cancel()
			e.notify()
		}()
		err := e.runPass(pctx, u, b, ep, kind, run)
		if err != nil && KindOf(err) == KindFatal {
			if _, uerr := e.store.User(u.EmailAddress); errors.Is(uerr, state.ErrNotFound) {
				// The user (or its batch) was removed while its pass ran:
				// the pass's last writes found nothing to write to.
				e.log.Info("pass ended: the user was removed", "user", u.EmailAddress)
				return
			}
		}
		if err != nil && KindOf(err) == KindFatal && e.fatal != nil {
			select {
			case e.fatal <- err:
			default:
			}
		}
	}()
}

// cancelBatch stops the in-flight passes of a batch.
func (e *Engine) cancelBatch(name string) {
	r := e.reg()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, run := range r.runs {
		if run.batch == name {
			run.cancel()
		}
	}
}

// cancelUser stops a user's in-flight pass.
func (e *Engine) cancelUser(email string) {
	r := e.reg()
	r.mu.Lock()
	defer r.mu.Unlock()
	if run, ok := r.runs[state.UserKey(email)]; ok {
		run.cancel()
	}
}

// Pacer is an optional capability of a Mailbox: until when its uploads
// wait for the service's budget (zero when they do not).
type Pacer interface {
	PacingUntil() time.Time
}

// pacingUntil is when a running user's mailbox stops waiting for the
// target's budget, if it waits now.
func (e *Engine) pacingUntil(email string) (time.Time, bool) {
	r := e.reg()
	r.mu.Lock()
	var mbx Mailbox
	if run, ok := r.runs[state.UserKey(email)]; ok {
		mbx = run.mbx
	}
	r.mu.Unlock()
	p, ok := mbx.(Pacer)
	if !ok {
		return time.Time{}, false
	}
	t := p.PacingUntil()
	return t, t.After(e.now())
}

// liveProgress returns the snapshot of a user's running pass, if any.
func (e *Engine) liveProgress(email string) (snapshot, bool) {
	r := e.reg()
	r.mu.Lock()
	var prog *progress
	if run, ok := r.runs[state.UserKey(email)]; ok {
		prog = run.prog
	}
	r.mu.Unlock()
	if prog == nil {
		return snapshot{}, false
	}
	return prog.snapshot(), true
}
