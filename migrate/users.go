// The engine's user verbs: sync now, stop, remove, approve skipped items; a user's IMAP login.

package migrate

import (
	"context"
	"fmt"

	"github.com/imapmig/imapmig/migrate/model"
	"github.com/imapmig/imapmig/state"
)

// SyncNowUser runs an incremental sync of one Synced user now.
func (e *Engine) SyncNowUser(ctx context.Context, email string) error {
	return e.withUser(email, func(u state.User) error {
		if u.Status != model.UserSynced {
			hint := "SyncNow applies to users whose initial sync is done (Synced)"
			if u.Status == model.UserFailed {
				hint = "a Failed user is resumed with `imapmig batch start " + u.Batch + "`"
				if b, err := e.store.Batch(u.Batch); err == nil && (b.Status == model.BatchCompleted || b.Status == model.BatchCompletedWithErrors || b.Status == model.BatchCompleting) {
					hint = "its batch " + u.Batch + " is " + string(b.Status) + ": remove the user (`imapmig user remove " + u.EmailAddress + "`, the mail already copied stays) and add it to a new batch (`imapmig batch new`)"
				}
			}
			return &ActionError{Object: "user", Name: u.EmailAddress, Status: string(u.Status), Action: "sync now", Hint: hint}
		}
		if _, err := e.store.UpdateUser(email, func(u *state.User) error { u.NextSyncAt = e.now().UTC(); return nil }); err != nil {
			return err
		}
		e.notify()
		return nil
	})
}

// StopUser stops one user: out of the queue, or at the next message
// boundary when running.
func (e *Engine) StopUser(ctx context.Context, email string) error {
	return e.withUser(email, func(u state.User) error {
		var next state.UserStatus
		switch u.Status {
		case model.UserQueued, model.UserSynced, model.UserCreated:
			next = model.UserStopped
		case model.UserValidating, model.UserSyncing, model.UserIncrementalSyncing:
			next = model.UserStopping
		default:
			return &ActionError{Object: "user", Name: u.EmailAddress, Status: string(u.Status), Action: "stop", Hint: "only a queued, running or synced user can be stopped"}
		}
		if _, err := e.store.UpdateUser(email, func(u *state.User) error { u.Status = next; return nil }); err != nil {
			return err
		}
		e.cancelUser(u.EmailAddress)
		e.event(u.Batch, u.EmailAddress, "info", "user stopped")
		return nil
	})
}

// RemoveUser stops a user and deletes its state; its target mail is kept.
func (e *Engine) RemoveUser(ctx context.Context, email string) error {
	return e.withUser(email, func(u state.User) error {
		e.cancelUser(u.EmailAddress)
		if err := e.store.RemoveUser(email); err != nil {
			return err
		}
		e.event(u.Batch, u.EmailAddress, "info", "user removed")
		return nil
	})
}

// ApproveSkipped approves a user's skipped items and returns how many.
func (e *Engine) ApproveSkipped(ctx context.Context, email string) (int, error) {
	if _, err := e.store.User(email); err != nil {
		return 0, err
	}
	n, err := e.store.ApproveSkipped(email)
	if err != nil {
		return n, err
	}
	if _, err := e.rescore(email); err != nil {
		return n, err
	}
	return n, nil
}

// withUser runs fn on the stored user email under the engine's lock.
func (e *Engine) withUser(email string, fn func(u state.User) error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, err := e.store.User(email)
	if err != nil {
		return err
	}
	return fn(u)
}

func (e *Engine) login(u state.User) (Login, error) {
	pw, err := e.store.Password(u)
	if err != nil {
		return Login{}, Fatal(err)
	}
	return Login{UserName: u.UserName, Password: pw, UserRoot: u.UserRoot}, nil
}

func (e *Engine) userForEndpoint(endpoint, email string) (state.User, error) {
	if email != "" {
		return e.store.User(email)
	}
	bs, err := e.store.Batches()
	if err != nil {
		return state.User{}, err
	}
	for _, b := range bs {
		if b.Endpoint != endpoint {
			continue
		}
		us, err := e.store.Users(b.Name)
		if err != nil {
			return state.User{}, err
		}
		if len(us) > 0 {
			return us[0], nil
		}
	}
	return state.User{}, fmt.Errorf("no migration user on endpoint %q to test with (give one with --user, or test any account with --username): %w", endpoint, state.ErrNotFound)
}
