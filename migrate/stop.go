package migrate

import "context"

type stopKey struct{}

// WithStop attaches stop to ctx as the signal to stop waiting. The engine
// detaches in-flight creates from the pass's cancellation (a stop lands on
// a message boundary, a request on the wire is not cut), but a create that
// is only waiting (for a mailbox's budget, a throttling fence, a backoff)
// must end when the pass stops, or a shutdown waits minutes for Graph's
// windows. Targets end such waits through StopWaiting.
func WithStop(ctx, stop context.Context) context.Context {
	return context.WithValue(ctx, stopKey{}, stop)
}

// StopWaiting returns the Done channel of the stop signal WithStop attached
// to ctx (nil, which never fires, when there is none) and the error to
// return when it fires (the stop's Err, context.Canceled for a stopped pass, so the engine sees a
// stopped pass and not a failure). A wait selects on it beside ctx.Done().
func StopWaiting(ctx context.Context) (<-chan struct{}, func() error) {
	stop, _ := ctx.Value(stopKey{}).(context.Context)
	if stop == nil {
		return nil, func() error { return context.Canceled }
	}
	return stop.Done(), func() error {
		if err := stop.Err(); err != nil {
			return err
		}
		return context.Canceled
	}
}
