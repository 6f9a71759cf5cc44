// One pass's life: open the source and the target, run the pass, record its outcome.

package migrate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"time"

	"github.com/imapmig/imapmig/migrate/model"
	"github.com/imapmig/imapmig/state"
)

const (
	passInitial passKind = iota
	passIncremental
	passFinal // the last incremental sync of a completing user
)

// runPass runs one pass and records its outcome.
func (e *Engine) runPass(ctx context.Context, u state.User, b state.Batch, ep state.Endpoint, kind passKind, run *running) error {
	email := u.EmailAddress
	log := e.log.With("user", email, "batch", b.Name, "pass", kind.String())
	status := map[passKind]state.UserStatus{passInitial: model.UserValidating, passIncremental: model.UserIncrementalSyncing, passFinal: model.UserCompleting}[kind]
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

	started := time.Now()
	err = e.doPass(ctx, u, b, ep, kind, prog, log)
	if err != nil && KindOf(err) == KindFailUser && u.EstimatedTotalCount == 0 && u.LastSuccessfulSyncTime.IsZero() {
		e.estimateSource(ctx, u, b, ep, log)
	}
	defer func() { e.observe().PassFinished(kind.String(), passOutcome(err), time.Since(started)) }()
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
		if _, err := e.store.UpdateUser(u.EmailAddress, func(u *state.User) error { u.Status = model.UserSyncing; return nil }); err != nil {
			return Fatal(err)
		}
	}
	p := &pass{e: e, user: u, batch: b, src: src, mbx: mbx, log: log, prog: prog, email: u.EmailAddress, folderIDs: map[string]string{}}
	return p.run(ctx)
}

// open validates a user (docs/ARCHITECTURE.md, "The path of one message", step 2): the target mailbox exists and
// the IMAP login works. The two are independent, so they run at once (an
// IMAP login with TLS is several round trips, a mailbox lookup one Graph
// request); the target's error comes first when both fail, and a failed
// mailbox lookup ends the login. The caller closes the Source.
func (e *Engine) open(ctx context.Context, u state.User, b state.Batch, ep state.Endpoint, log *slog.Logger) (Source, Mailbox, error) {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type opened struct {
		src Source
		err error
	}
	conn := make(chan opened, 1)
	go func() {
		src, err := e.connect(cctx, u, ep, log)
		conn <- opened{src, err}
	}()
	mbx, err := e.mailbox(ctx, u, b, log)
	if err != nil {
		cancel()
	}
	c := <-conn
	if err != nil {
		if c.src != nil {
			c.src.Close()
		}
		return nil, nil, err
	}
	if c.err != nil {
		return nil, nil, c.err
	}
	return c.src, mbx, nil
}

// mailbox opens the user's target mailbox.
func (e *Engine) mailbox(ctx context.Context, u state.User, b state.Batch, log *slog.Logger) (Mailbox, error) {
	tgt, err := e.targetFor(ctx, b.Tenant)
	if err != nil {
		return nil, err
	}
	mbx, err := retryOp(ctx, log, e.opts.RetryAttempts, e.opts.RetryBackoff, func() (Mailbox, error) { return tgt.Mailbox(ctx, u.EmailAddress) })
	if err != nil {
		if errors.Is(err, ErrRecipientNotFound) && KindOf(err) != KindFailUser {
			err = FailUser(ReasonRecipientNotFound, err)
		}
		return nil, err
	}
	return mbx, nil
}

// connect logs the user in on the IMAP endpoint.
func (e *Engine) connect(ctx context.Context, u state.User, ep state.Endpoint, log *slog.Logger) (Source, error) {
	conn, err := e.sourceFor(ctx, ep)
	if err != nil {
		return nil, err
	}
	login, err := e.login(u)
	if err != nil {
		return nil, err
	}
	src, err := retryOp(ctx, log, e.opts.RetryAttempts, e.opts.RetryBackoff, func() (Source, error) { return conn.Connect(ctx, login) })
	if err != nil {
		if errors.Is(err, ErrAuthFailed) && KindOf(err) != KindFailUser {
			err = FailUser(ReasonImapAuthenticationFailed, err)
		}
		return nil, err
	}
	return src, nil
}

// finishPass records a pass's outcome on the user and its batch.
func (e *Engine) finishPass(ctx context.Context, u state.User, b state.Batch, kind passKind, prog *progress, runErr error, log *slog.Logger) error {
	defer e.updateBatchStatus(b.Name)
	switch {
	case runErr == nil:
		return e.finishGood(u, b, kind, prog, log)
	case ctx.Err() != nil && (errors.Is(runErr, context.Canceled) || errors.Is(ctx.Err(), context.Canceled)):
		// Stopped, removed, or the daemon is shutting down.
		_, _ = e.store.UpdateUser(u.EmailAddress, func(u *state.User) error {
			if u.Status == model.UserStopping {
				u.Status = model.UserStopped
			}
			return nil
		})
		log.Info("pass stopped")
		return nil
	}
	return e.finishBad(u, b, kind, runErr, log)
}

// finishGood records a successful pass: the user's totals, its next status
// and sync time, and the pass's event.
func (e *Engine) finishGood(u state.User, b state.Batch, kind passKind, prog *progress, log *slog.Logger) error {
	email := u.EmailAddress
	now := e.now().UTC()
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
		case u.Status == model.UserStopping:
			u.Status = model.UserStopped
		case kind == passFinal:
			u.Status = model.UserCompleted
			if u.SkippedItemCount > 0 {
				u.Status = model.UserCompletedWithWarnings
			}
			u.NextSyncAt = time.Time{}
		default:
			u.Status = model.UserSynced
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

// finishBad records a failed pass: a fatal error fails the user and stops
// the engine; others count towards the user's retries, with backoff.
func (e *Engine) finishBad(u state.User, b state.Batch, kind passKind, runErr error, log *slog.Logger) error {
	email := u.EmailAddress
	now := e.now().UTC()
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
			u.Status = model.UserFailed
			u.NextSyncAt = time.Time{}
			if kind == passIncremental && kindOf != KindFailUser && !u.LastSuccessfulSyncTime.IsZero() {
				// Shown as Failed, but retried: the next good pass clears it.
				u.NextSyncAt = now.Add(min(wait, cmp.Or(b.Options.SyncInterval, 24*time.Hour)))
				retrying, retryAt = true, u.NextSyncAt
			}
			return nil
		}
		u.Status = map[passKind]state.UserStatus{passInitial: model.UserQueued, passIncremental: model.UserSynced, passFinal: model.UserCompleting}[kind]
		u.NextSyncAt = now.Add(wait)
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
		u.Status, u.ErrorReason, u.LastError = model.UserFailed, reason, err.Error()
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
