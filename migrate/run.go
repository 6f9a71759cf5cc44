package migrate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/imapmig/imapmig/state"
)

// passKind says which pool a pass runs in and what ends it.
type passKind int

const (
	passInitial passKind = iota
	passIncremental
	passFinal // the last incremental sync of a completing user
)

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
	wg      sync.WaitGroup
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
	var last time.Time
	for {
		// Wake-ups come in bursts (every pass that ends sends one); a scan
		// reads every user, so scans are at least MinScanGap apart.
		if gap := e.opts.MinScanGap - time.Since(last); gap > 0 {
			t := time.NewTimer(gap)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		last = time.Now()
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
		case state.UserValidating, state.UserSyncing:
			fix = func(u *state.User) { u.Status = state.UserQueued }
		case state.UserIncrementalSyncing:
			fix = func(u *state.User) { u.Status, u.NextSyncAt = state.UserSynced, now }
		case state.UserStopping:
			fix = func(u *state.User) { u.Status = state.UserStopped }
		case state.UserCompleting:
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
	batches := map[string]state.Batch{}
	var next time.Time
	soonest := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
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
			if (b.Status == state.BatchSynced || b.Status == state.BatchSyncedWithErrors) && !now.Before(ca) {
				if err := e.CompleteBatch(ctx, b.Name); err != nil {
					e.log.Warn("complete_after", "batch", b.Name, "err", err)
				}
			} else if now.Before(ca) {
				soonest(ca)
			}
		}
	}
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
		case u.Status == state.UserQueued && (b.Status == state.BatchSyncing || b.Status == state.BatchSyncedWithErrors || b.Status == state.BatchSynced):
			kind = passInitial
		case (u.Status == state.UserSynced || u.Status == state.UserFailed && !u.LastSuccessfulSyncTime.IsZero()) &&
			(b.Status == state.BatchSyncing || b.Status == state.BatchSynced || b.Status == state.BatchSyncedWithErrors):
			kind = passIncremental // a Failed user here keeps retrying its incremental syncs
		case u.Status == state.UserCompleting:
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

// runPass runs one pass and records its outcome.
func (e *Engine) runPass(ctx context.Context, u state.User, b state.Batch, ep state.Endpoint, kind passKind, run *running) error {
	email := u.EmailAddress
	log := e.log.With("user", email, "batch", b.Name, "pass", kind.String())
	status := map[passKind]state.UserStatus{passInitial: state.UserValidating, passIncremental: state.UserIncrementalSyncing, passFinal: state.UserCompleting}[kind]
	now := e.now().UTC()
	u, err := e.store.UpdateUser(email, func(u *state.User) error {
		u.Status = status
		if kind == passInitial && u.StartedAt.IsZero() {
			u.StartedAt = now
		}
		return nil
	})
	if err != nil {
		return err
	}
	e.updateBatchStatus(b.Name)
	log.Info("pass started")

	var base, baseBytes int64
	if fs, err := e.store.Folders(email); err == nil {
		for _, f := range fs {
			base += f.Items
			baseBytes += f.ItemBytes
		}
	}
	prog := newProgress(e.now, base, baseBytes)
	e.reg().mu.Lock()
	run.prog = prog
	e.reg().mu.Unlock()

	err = e.doPass(ctx, u, b, ep, kind, prog, log)
	if err != nil && KindOf(err) == KindFailUser && u.EstimatedTotalCount == 0 && u.LastSuccessfulSyncTime.IsZero() {
		e.estimateSource(ctx, u, b, ep, log)
	}
	return e.finishPass(ctx, u, b, kind, prog, err, log)
}

func (e *Engine) doPass(ctx context.Context, u state.User, b state.Batch, ep state.Endpoint, kind passKind, prog *progress, log *slog.Logger) error {
	src, mbx, err := e.open(ctx, u, b, ep, log)
	if err != nil {
		return err
	}
	defer src.Close()
	r := e.reg()
	r.mu.Lock()
	if run, ok := r.runs[state.UserKey(u.EmailAddress)]; ok {
		run.mbx = mbx
	}
	r.mu.Unlock()
	if kind == passInitial {
		if _, err := e.store.UpdateUser(u.EmailAddress, func(u *state.User) error { u.Status = state.UserSyncing; return nil }); err != nil {
			return Fatal(err)
		}
	}
	p := &pass{e: e, user: u, batch: b, src: src, mbx: mbx, log: log, prog: prog, email: u.EmailAddress, folderIDs: map[string]string{}}
	return p.run(ctx)
}

// open validates a user (DESIGN §3 step 1): the target mailbox exists and
// the IMAP login works. The caller closes the Source.
func (e *Engine) open(ctx context.Context, u state.User, b state.Batch, ep state.Endpoint, log *slog.Logger) (Source, Mailbox, error) {
	tgt, err := e.targetFor(ctx, b.Tenant)
	if err != nil {
		return nil, nil, err
	}
	mbx, err := retryOp(ctx, log, e.opts.RetryAttempts, e.opts.RetryBackoff, func() (Mailbox, error) { return tgt.Mailbox(ctx, u.EmailAddress) })
	if err != nil {
		if errors.Is(err, ErrRecipientNotFound) && KindOf(err) != KindFailUser {
			err = FailUser(ReasonRecipientNotFound, err)
		}
		return nil, nil, err
	}
	conn, err := e.sourceFor(ctx, ep)
	if err != nil {
		return nil, nil, err
	}
	login, err := e.login(u)
	if err != nil {
		return nil, nil, err
	}
	src, err := retryOp(ctx, log, e.opts.RetryAttempts, e.opts.RetryBackoff, func() (Source, error) { return conn.Connect(ctx, login) })
	if err != nil {
		if errors.Is(err, ErrAuthFailed) && KindOf(err) != KindFailUser {
			err = FailUser(ReasonImapAuthenticationFailed, err)
		}
		return nil, nil, err
	}
	return src, mbx, nil
}

func (e *Engine) targetFor(ctx context.Context, tenant string) (Target, error) {
	r := e.reg()
	r.mu.Lock()
	t, ok := r.targets[tenant]
	r.mu.Unlock()
	if ok {
		return t, nil
	}
	if e.opts.Targets == nil {
		return nil, Fatal(errors.New("this daemon has no Graph target configured"))
	}
	ts, err := e.store.Tenants()
	if err != nil {
		return nil, Fatal(err)
	}
	for _, tn := range ts {
		if tn.Name == tenant {
			t, err := e.opts.Targets(ctx, tn)
			if err != nil {
				return nil, err
			}
			r.mu.Lock()
			r.targets[tenant] = t
			r.mu.Unlock()
			return t, nil
		}
	}
	return nil, FailUser("TenantNotFound", fmt.Errorf("no tenant named %q", tenant))
}

func (e *Engine) sourceFor(ctx context.Context, ep state.Endpoint) (SourceConnector, error) {
	r := e.reg()
	r.mu.Lock()
	c, ok := r.sources[ep.Name]
	r.mu.Unlock()
	if ok {
		return c, nil
	}
	if e.opts.Sources == nil {
		return nil, Fatal(errors.New("this daemon has no IMAP connector configured"))
	}
	c, err := e.opts.Sources(ctx, ep)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.sources[ep.Name] = c
	r.mu.Unlock()
	return c, nil
}

// finishPass records a pass's outcome on the user and its batch.
func (e *Engine) finishPass(ctx context.Context, u state.User, b state.Batch, kind passKind, prog *progress, runErr error, log *slog.Logger) error {
	email := u.EmailAddress
	now := e.now().UTC()
	defer e.updateBatchStatus(b.Name)
	if runErr == nil {
		if _, err := e.store.User(email); errors.Is(err, state.ErrNotFound) {
			return nil // removed while the pass ran
		}
		totals, err := e.totals(email)
		if err != nil {
			return Fatal(err)
		}
		var recovered int
		_, err = e.store.UpdateUser(email, func(u *state.User) error {
			totals.apply(u)
			u.LastSuccessfulSyncTime = now
			if u.Failures >= e.live().UserRetries {
				recovered = u.Failures
			}
			u.ErrorReason, u.LastError, u.Failures = "", "", 0
			switch {
			case u.Status == state.UserStopping:
				u.Status = state.UserStopped
			case kind == passFinal:
				u.Status = state.UserCompleted
				if u.SkippedItemCount > 0 {
					u.Status = state.UserCompletedWithWarnings
				}
				u.NextSyncAt = time.Time{}
			default:
				u.Status = state.UserSynced
				u.NextSyncAt = now.Add(jittered(b.Options.SyncInterval, email))
			}
			return nil
		})
		if err != nil {
			return Fatal(err)
		}
		s := prog.snapshot()
		log.Info("pass done", "copied", s.Copied, "moved", s.Moved, "flags", s.Flagged, "deleted", s.Deleted,
			"in_target", totals.items, "skipped", totals.skipped, "score", totals.score, "secs", now.Sub(s.Started).Seconds())
		e.event(b.Name, email, "info", fmt.Sprintf("%s sync done: %d copied, %d moved, %d flag updates, %d deleted; %s",
			kind, s.Copied, s.Moved, s.Flagged, s.Deleted, totals.verdict()))
		if recovered > 0 {
			log.Info("user recovered", "failed_passes", recovered)
			e.event(b.Name, email, "info", fmt.Sprintf("user recovered: a sync succeeded after %d failed passes in a row; the failure is cleared", recovered))
		}
		return nil
	}
	if ctx.Err() != nil && (errors.Is(runErr, context.Canceled) || errors.Is(ctx.Err(), context.Canceled)) {
		// Stopped, removed, or the daemon is shutting down.
		_, _ = e.store.UpdateUser(email, func(u *state.User) error {
			if u.Status == state.UserStopping {
				u.Status = state.UserStopped
			}
			return nil
		})
		log.Info("pass stopped")
		return nil
	}
	kindOf := KindOf(runErr)
	reason := ReasonOf(runErr)
	log.Warn("pass failed", "kind", kindOf.String(), "reason", reason, "err", runErr)
	if kindOf == KindFatal {
		e.finishFailed(email, cmp.Or(reason, "InternalError"), runErr)
		return runErr
	}
	var failedNow, retrying bool
	var failures int
	var retryAt time.Time
	_, err := e.store.UpdateUser(email, func(u *state.User) error {
		u.LastError = runErr.Error()
		u.ErrorReason = cmp.Or(reason, "TransientError")
		u.Failures++
		failures = u.Failures
		wait := e.opts.UserRetryBackoff << min(u.Failures-1, 6)
		if kindOf == KindFailUser || u.Failures >= e.live().UserRetries {
			failedNow = kindOf == KindFailUser || u.Failures == e.live().UserRetries // once, not on every retry
			u.Status = state.UserFailed
			u.NextSyncAt = time.Time{}
			if kind == passIncremental && kindOf != KindFailUser && !u.LastSuccessfulSyncTime.IsZero() {
				// Shown as Failed, but retried: the next good pass clears it.
				u.NextSyncAt = now.Add(min(wait, cmp.Or(b.Options.SyncInterval, 24*time.Hour)))
				retrying, retryAt = true, u.NextSyncAt
			}
			return nil
		}
		switch kind {
		case passInitial:
			u.Status = state.UserQueued
			u.NextSyncAt = now.Add(wait)
		case passIncremental:
			u.Status = state.UserSynced
			u.NextSyncAt = now.Add(wait)
		case passFinal:
			u.Status = state.UserCompleting
			u.NextSyncAt = now.Add(wait)
		}
		if u.Status == state.UserStopping {
			u.Status = state.UserStopped
		}
		return nil
	})
	if err != nil {
		return Fatal(err)
	}
	if failedNow {
		msg := fmt.Sprintf("user failed: %s", runErr)
		if failures > 1 {
			msg = fmt.Sprintf("user failed after %d failed passes in a row: %s", failures, runErr)
		}
		if retrying {
			msg += fmt.Sprintf("; retried at %s, a good pass clears the failure", retryAt.Format(time.RFC3339))
		}
		log.Warn("user failed", "failed_passes", failures, "reason", reason)
		e.event(b.Name, email, "error", msg)
	}
	return nil
}

func (e *Engine) finishFailed(email, reason string, err error) {
	_, _ = e.store.UpdateUser(email, func(u *state.User) error {
		u.Status, u.ErrorReason, u.LastError = state.UserFailed, reason, err.Error()
		u.NextSyncAt = time.Time{}
		return nil
	})
}

// jittered spreads users' next syncs over 5% of the interval, by address,
// so 50,000 users that finished together do not all start together.
func jittered(interval time.Duration, email string) time.Duration {
	if interval <= 0 {
		interval = 24 * time.Hour
	}
	h := fnv.New32a()
	h.Write([]byte(state.UserKey(email)))
	spread := interval / 20
	if spread <= 0 {
		return interval
	}
	return interval + time.Duration(uint64(h.Sum32())%uint64(spread))
}

// updateBatchStatus derives a running batch's status from its users.
func (e *Engine) updateBatchStatus(name string) {
	us, err := e.store.Users(name)
	if err != nil {
		return
	}
	counts := map[state.UserStatus]int{}
	for _, u := range us {
		counts[u.Status]++
	}
	_, _ = e.store.UpdateBatch(name, func(b *state.Batch) error {
		b.Status = deriveBatchStatus(b.Status, counts, len(us))
		return nil
	})
}

// deriveBatchStatus is the rule of DESIGN §1: a batch is Syncing while any
// user's initial sync is pending, then Synced, SyncedWithErrors (some
// failed) or Failed (all failed); a completing batch is Completed when every
// user is done.
func deriveBatchStatus(cur state.BatchStatus, c map[state.UserStatus]int, total int) state.BatchStatus {
	switch cur {
	case state.BatchCreated, state.BatchStopped, state.BatchStopping, state.BatchRemoving, state.BatchCompleted, state.BatchCompletedWithErrors:
		return cur
	case state.BatchCompleting:
		if c[state.UserCompleting] > 0 {
			return cur
		}
		if c[state.UserFailed] > 0 || c[state.UserCompletedWithWarnings] > 0 {
			return state.BatchCompletedWithErrors
		}
		return state.BatchCompleted
	}
	if total == 0 {
		return cur
	}
	if c[state.UserQueued]+c[state.UserValidating]+c[state.UserSyncing] > 0 {
		return state.BatchSyncing
	}
	if c[state.UserFailed] == total {
		return state.BatchFailed
	}
	if c[state.UserFailed] > 0 {
		return state.BatchSyncedWithErrors
	}
	return state.BatchSynced
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
