package migrate

import (
	"context"
	"log/slog"
	"time"

	"github.com/imapmig/imapmig/state"
)

// estimateSource records how many messages a user that failed before its
// first scan has in scope (a missing target mailbox fails before the
// source is read), so that the batch's totals and score count them as
// missing instead of as nothing. It is best effort: a source that cannot
// be read leaves the estimate at 0.
func (e *Engine) estimateSource(ctx context.Context, u state.User, b state.Batch, ep state.Endpoint, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	conn, err := e.sourceFor(ctx, ep)
	if err != nil {
		return
	}
	login, err := e.login(u)
	if err != nil {
		return
	}
	src, err := conn.Connect(ctx, login)
	if err != nil {
		log.Debug("no source estimate for a failed user", "err", err)
		return
	}
	defer src.Close()
	fs, err := src.Folders(ctx)
	if err != nil {
		return
	}
	plans, _ := mapFolders(fs, b.Options)
	var n int64
	for _, p := range plans {
		if !p.Src.NoSelect {
			n += int64(p.Src.Messages)
		}
	}
	_, _ = e.store.UpdateUser(u.EmailAddress, func(u *state.User) error {
		if u.EstimatedTotalCount == 0 {
			u.EstimatedTotalCount = n
		}
		return nil
	})
}
