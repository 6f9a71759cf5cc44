package migrate_test

import (
	"context"

	"github.com/imapmig/imapmig/migrate"
)

// hookTarget is a Target whose creates go through create, which calls the
// target's own Create (next) or answers in its place.
type hookTarget struct {
	migrate.Target
	create func(ctx context.Context, next migrate.Mailbox, folderID string, nm migrate.NewMessage) (string, error)
}

type hookMailbox struct {
	migrate.Mailbox
	t *hookTarget
}

func (t *hookTarget) Mailbox(ctx context.Context, addr string) (migrate.Mailbox, error) {
	mb, err := t.Target.Mailbox(ctx, addr)
	if err != nil {
		return nil, err
	}
	return hookMailbox{mb, t}, nil
}

func (m hookMailbox) Create(ctx context.Context, folderID string, nm migrate.NewMessage) (string, error) {
	return m.t.create(ctx, m.Mailbox, folderID, nm)
}
