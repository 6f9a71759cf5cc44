package migrate

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// retryOp runs op, retrying retryable errors a few times with backoff (the
// Target owns throttling; this covers IMAP hiccups and transient faults).
// Other errors are returned as they are.
func retryOp[T any](ctx context.Context, log *slog.Logger, attempts int, base time.Duration, op func() (T, error)) (T, error) {
	var zero T
	var err error
	for i := 0; i < attempts; i++ {
		var v T
		v, err = op()
		if err == nil {
			return v, nil
		}
		// A Graph outage was waited out inside the call already (for
		// graph_outage_limit): the pass ends instead of waiting again.
		if KindOf(err) != KindRetryable || ReasonOf(err) == ReasonGraphUnavailable || ctx.Err() != nil || errors.Is(err, context.Canceled) {
			return zero, err
		}
		wait := max(base<<i, RetryAfterOf(err))
		log.Debug("retrying", "attempt", i+1, "wait", wait, "err", err)
		noted := NoteWait(ctx, waitReason(err), time.Now().Add(wait))
		select {
		case <-ctx.Done():
			noted()
			return zero, ctx.Err()
		case <-time.After(wait):
		}
		noted()
	}
	return zero, err
}

// retry is retryOp with the engine's settings and the pass's log.
func retry[T any](ctx context.Context, p *pass, op func() (T, error)) (T, error) {
	return retryOp(ctx, p.log, p.e.opts.RetryAttempts, p.e.opts.RetryBackoff, op)
}

// retryDo is retry for an operation without a result.
func retryDo(ctx context.Context, p *pass, op func() error) error {
	_, err := retry(ctx, p, func() (struct{}, error) { return struct{}{}, op() })
	return err
}
