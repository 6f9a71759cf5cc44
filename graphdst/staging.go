package graphdst

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/imapmig/imapmig/graphdst/internal/convert"
	"github.com/imapmig/imapmig/migrate"
)

// stagingName is the hidden folder under the mailbox root in which large
// messages are built. A hidden folder is not listed by clients nor by GET
// mailFolders without includeHiddenFolders, and an item keeps its immutable
// id when it is moved out of it.
const stagingName = "imapmig staging 8ad1c3e0"

// createStaged creates a message whose attachments do not fit one request:
// in the staging folder, then each attachment, then one move into folderID.
// A partial item is never where a user can see it, and an incomplete one is
// removed with permanentDelete (a soft DELETE would put it in Deleted
// Items). After a crash the staging folder is purged at the next pass
// (staging).
func (m *Mailbox) createStaged(ctx context.Context, folderID, key string, body streamBody, pl *convert.Plan) (string, error) {
	staging, _, err := m.staging(ctx, true)
	if err != nil {
		return "", err
	}
	// An item of this key left by an earlier attempt of this pass is
	// incomplete: remove it before starting again.
	if id, found, err := m.LookupKey(ctx, staging, key); err != nil {
		return "", err
	} else if found {
		if err := m.permanentDelete(ctx, id); err != nil {
			return "", err
		}
	}
	id, err := m.createResolved(ctx, staging, body, key)
	if err != nil {
		return "", err
	}
	if err := m.complete(ctx, id, pl); err != nil {
		m.discardPending(ctx, id)
		return "", err
	}
	moved, err := m.move(ctx, id, folderID)
	if err != nil {
		m.discardPending(ctx, id)
		var ge *GraphError
		if errors.As(err, &ge) && ge.Status == http.StatusNotFound {
			return "", migrate.Retryable(fmt.Errorf("%w: %w", migrate.ErrFolderGone, ge))
		}
		return "", classifyAny(err)
	}
	return moved, nil
}

// staging returns the staging folder's id, creating it when create is set
// ("" when it does not exist and create is not set). The first call of a
// Mailbox (one pass) purges what is in it, items of an interrupted pass,
// and says how many. Only one pass per mailbox runs at a time, so nothing
// there is in use.
func (m *Mailbox) staging(ctx context.Context, create bool) (string, int, error) {
	m.smu.Lock()
	defer m.smu.Unlock()
	if m.stagingID != "" || (m.stagingChecked && !create) {
		return m.stagingID, 0, nil
	}
	var id string
	var err error
	if create {
		id, err = m.childFolder(ctx, migrate.WellKnownRoot, stagingName, true)
	} else {
		id, _, err = m.findChild(ctx, migrate.WellKnownRoot, stagingName, true)
	}
	if err != nil || id == "" {
		m.stagingChecked = err == nil
		return "", 0, err
	}
	n := 0
	if !m.stagingChecked {
		if n, err = m.purge(ctx, id, nil); err != nil {
			return "", 0, err
		}
	}
	m.stagingID, m.stagingChecked = id, true
	return id, n, nil
}

// purge permanently deletes a folder's keyed items whose key match
// accepts (every one when match is nil) and says how many.
func (m *Mailbox) purge(ctx context.Context, folderID string, match func(key string) bool) (int, error) {
	var ids []string
	if err := m.scanKeys(ctx, folderID, func(key, id string) error {
		if match == nil || match(key) {
			ids = append(ids, id)
		}
		return nil
	}); err != nil {
		return 0, err
	}
	for _, id := range ids {
		if err := m.permanentDelete(ctx, id); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}
