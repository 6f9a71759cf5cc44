package migrate

import "context"

// Run is the scheduler: it runs until ctx ends.
func (e *Engine) Run(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}
