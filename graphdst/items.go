package graphdst

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/imapmig/imapmig/graphdst/internal/convert"
	"github.com/imapmig/imapmig/migrate"
)

// SetFlags implements migrate.Mailbox.
func (m *Mailbox) SetFlags(ctx context.Context, itemID string, f migrate.Flags) error {
	resp, rq, err := m.jsonReq(ctx, http.MethodPatch, m.path("/messages/"+url.PathEscape(itemID)), flagPatch(f), true)
	if err != nil {
		return err
	}
	if resp.status != http.StatusOK {
		return classify(m.t.graphError(rq, resp))
	}
	return nil
}

// Move implements migrate.Mailbox. With immutable ids a repeated move is
// harmless, so it is retried like an idempotent request.
func (m *Mailbox) Move(ctx context.Context, itemID, destFolderID string) (string, error) {
	id, err := m.move(ctx, itemID, destFolderID)
	return id, classifyAny(err)
}

// move is Move with a definite failure left as *GraphError.
func (m *Mailbox) move(ctx context.Context, itemID, destFolderID string) (string, error) {
	m.filling(destFolderID)
	resp, rq, err := m.jsonReq(ctx, http.MethodPost, m.path("/messages/"+url.PathEscape(itemID)+"/move"), map[string]string{"destinationId": destFolderID}, true)
	if err != nil {
		return "", err
	}
	if resp.status != http.StatusCreated && resp.status != http.StatusOK {
		return "", m.t.graphError(rq, resp)
	}
	var v struct{ ID string }
	if err := json.Unmarshal(resp.body, &v); err != nil || v.ID == "" {
		return "", migrate.Retryable(errors.New("graphdst: move: response without id"))
	}
	return v.ID, nil
}

// Delete implements migrate.Mailbox: a message expunged at the source is
// removed with permanentDelete. A soft DELETE would move it into Deleted
// Items, where the user never had it (and where the engine may migrate the
// source's Trash); permanentDelete puts it in Recoverable Items/Purges,
// out of the user's view but recoverable by an administrator for the
// retention period.
func (m *Mailbox) Delete(ctx context.Context, itemID string) error {
	return m.permanentDelete(ctx, itemID)
}

// permanentDelete removes an item of the tool's own making for good
// (Recoverable Items/Purges, invisible to the user): never a soft DELETE,
// which would put an incomplete copy in the user's Deleted Items (docs/HOW-MAIL-IS-COPIED.md, "Writing to Exchange Online").
func (m *Mailbox) permanentDelete(ctx context.Context, itemID string) error {
	rq := request{method: http.MethodPost, url: m.path("/messages/" + url.PathEscape(itemID) + "/permanentDelete"), idempotent: true}
	resp, err := m.t.do(ctx, m.g, rq)
	if err != nil {
		return err
	}
	switch resp.status {
	case http.StatusNoContent, http.StatusOK, http.StatusNotFound:
		return nil
	}
	return classify(m.t.graphError(rq, resp))
}

// discardPending permanently deletes an incomplete item after a failed
// create, even when ctx was cancelled (a stop lands between messages, and
// the item must not outlive it). A failure is only logged: SweepPending
// and the next create of the same key remove it later.
func (m *Mailbox) discardPending(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), discardTimeout)
	defer cancel()
	if err := m.permanentDelete(ctx, id); err != nil {
		m.t.log.Warn("incomplete item left for a later sweep", "mailbox", m.id, "err", err)
	}
}

var _ migrate.PendingSweeper = (*Mailbox)(nil)

// SweepPending implements migrate.PendingSweeper: it permanently deletes
// the folder's incomplete items left by an earlier version (under a
// "pending:" key) and, once per pass, every item in the staging folder
// (large creates an interrupted pass never finished), and says how many.
// Call it only while no create into the folder is in flight.
func (m *Mailbox) SweepPending(ctx context.Context, folderID string) (int, error) {
	n, err := m.purge(ctx, folderID, func(key string) bool { return strings.HasPrefix(key, pendingPrefix) })
	if err != nil {
		return 0, err
	}
	_, staged, err := m.staging(ctx, false)
	if err != nil {
		return 0, err
	}
	return n + staged, nil
}

type keyedPage struct {
	Value []struct {
		ID    string            `json:"id"`
		Props []convert.ExtProp `json:"singleValueExtendedProperties"`
	} `json:"value"`
	NextLink string `json:"@odata.nextLink"`
}

// Keys implements migrate.Mailbox: one pass over the folder, 1,000 items a
// page, expanding only the source-key property. Pending items (interrupted
// large creates) are not reported.
func (m *Mailbox) Keys(ctx context.Context, folderID string, fn func(migrate.KeyedItem) error) error {
	return m.scanKeys(ctx, folderID, func(key, id string) error {
		if strings.HasPrefix(key, pendingPrefix) {
			return nil
		}
		return fn(migrate.KeyedItem{SourceKey: key, ItemID: id})
	})
}

// scanKeys lists every keyed item of a folder, pending ones included.
func (m *Mailbox) scanKeys(ctx context.Context, folderID string, fn func(key, id string) error) error {
	if m.knownEmpty(folderID) {
		return nil
	}
	q := url.Values{
		"$select": {"id"},
		"$expand": {"singleValueExtendedProperties($filter=id eq " + quote(SourceKeyProperty) + ")"},
		"$top":    {"1000"},
	}
	next := m.path("/mailFolders/" + url.PathEscape(folderID) + "/messages?" + odataQuery(q))
	for next != "" {
		resp, err := m.get(ctx, next)
		if err != nil {
			return err
		}
		if resp.status != http.StatusOK {
			ge := m.t.graphError(request{method: "GET", url: next}, resp)
			if resp.status == http.StatusNotFound {
				return fmt.Errorf("%w: %w", migrate.ErrFolderGone, ge)
			}
			return classify(ge)
		}
		var pg keyedPage
		if err := json.Unmarshal(resp.body, &pg); err != nil {
			return migrate.Retryable(fmt.Errorf("graphdst: keys page: %w", err))
		}
		for _, it := range pg.Value {
			for _, p := range it.Props {
				if p.Value != "" {
					if err := fn(p.Value, it.ID); err != nil {
						return err
					}
				}
			}
		}
		next = pg.NextLink
	}
	return nil
}

// LookupKey implements migrate.Mailbox.
func (m *Mailbox) LookupKey(ctx context.Context, folderID, sourceKey string) (string, bool, error) {
	if m.knownEmpty(folderID) {
		return "", false, nil
	}
	q := url.Values{
		"$filter": {"singleValueExtendedProperties/Any(ep: ep/id eq " + quote(SourceKeyProperty) + " and ep/value eq " + quote(sourceKey) + ")"},
		"$select": {"id"},
		"$top":    {"10"},
	}
	p := m.path("/mailFolders/" + url.PathEscape(folderID) + "/messages?" + odataQuery(q))
	resp, err := m.get(ctx, p)
	if err != nil {
		return "", false, err
	}
	if resp.status != http.StatusOK {
		return "", false, classify(m.t.graphError(request{method: "GET", url: p}, resp))
	}
	var pg keyedPage
	if err := json.Unmarshal(resp.body, &pg); err != nil {
		return "", false, migrate.Retryable(fmt.Errorf("graphdst: lookup: %w", err))
	}
	if len(pg.Value) == 0 {
		return "", false, nil
	}
	return pg.Value[0].ID, true, nil
}
