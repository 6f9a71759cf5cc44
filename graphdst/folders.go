package graphdst

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/imapmig/imapmig/migrate"
)

// EnsureFolder implements migrate.Mailbox.
func (m *Mailbox) EnsureFolder(ctx context.Context, fp migrate.FolderPath) (string, error) {
	root := fp.WellKnown
	if root == "" {
		root = migrate.WellKnownRoot
	}
	m.fmu.Lock()
	defer m.fmu.Unlock()
	key := root
	id, ok := m.folders[key]
	if !ok {
		resp, err := m.get(ctx, m.path("/mailFolders/"+url.PathEscape(root)+"?$select=id"))
		if err != nil {
			return "", err
		}
		if resp.status != http.StatusOK {
			return "", classify(m.t.graphError(request{method: "GET", url: m.path("/mailFolders/" + root)}, resp))
		}
		var f struct{ ID string }
		if err := json.Unmarshal(resp.body, &f); err != nil || f.ID == "" {
			return "", migrate.Retryable(fmt.Errorf("graphdst: folder %s: bad response", root))
		}
		id = f.ID
		m.folders[key] = id
	}
	for _, name := range fp.Names {
		key += "\x00" + name
		if cid, ok := m.folders[key]; ok {
			id = cid
			continue
		}
		cid, err := m.childFolder(ctx, id, name, false)
		if err != nil {
			return "", err
		}
		m.folders[key] = cid
		id = cid
	}
	return id, nil
}

// findChild looks a child folder up by name; hidden folders are listed
// only with includeHiddenFolders, so a lookup of one says so.
func (m *Mailbox) findChild(ctx context.Context, parentID, name string, hidden bool) (string, bool, error) {
	q := url.Values{"$filter": {"displayName eq " + quote(name)}, "$select": {"id,displayName"}}
	if hidden {
		q.Set("includeHiddenFolders", "true")
	}
	p := m.path("/mailFolders/" + url.PathEscape(parentID) + "/childFolders?" + odataQuery(q))
	resp, err := m.get(ctx, p)
	if err != nil {
		return "", false, err
	}
	if resp.status != http.StatusOK {
		return "", false, classify(m.t.graphError(request{method: "GET", url: p}, resp))
	}
	var l struct {
		Value []struct {
			ID          string `json:"id"`
			DisplayName string `json:"displayName"`
		} `json:"value"`
	}
	if err := json.Unmarshal(resp.body, &l); err != nil {
		return "", false, migrate.Retryable(fmt.Errorf("graphdst: folder list: %w", err))
	}
	for _, f := range l.Value {
		if strings.EqualFold(f.DisplayName, name) {
			return f.ID, true, nil
		}
	}
	return "", false, nil
}

// childFolder creates a child folder, or finds it when it exists; hidden
// creates it with isHidden, which cannot be changed later. The create
// comes first: a first copy creates every folder, and an existing one
// (a run from an empty state file, a folder made by the user) answers
// 409 ErrorFolderExists and is looked up, one request more than a lookup
// first, which would cost every new folder a request.
func (m *Mailbox) childFolder(ctx context.Context, parentID, name string, hidden bool) (string, error) {
	p := m.path("/mailFolders/" + url.PathEscape(parentID) + "/childFolders")
	// A retried create after a lost response gets ErrorFolderExists, which
	// is handled by lookup, so the create counts as idempotent.
	in := map[string]any{"displayName": name}
	if hidden {
		in["isHidden"] = true
	}
	resp, rq, err := m.jsonReq(ctx, http.MethodPost, p, in, true)
	if err != nil {
		return "", err
	}
	switch resp.status {
	case http.StatusCreated, http.StatusOK:
		var f struct{ ID string }
		if err := json.Unmarshal(resp.body, &f); err != nil || f.ID == "" {
			return "", migrate.Retryable(errors.New("graphdst: folder create: bad response"))
		}
		if resp.status == http.StatusCreated {
			m.markEmpty(f.ID) // emptyfolders.go
		}
		return f.ID, nil
	case http.StatusConflict:
		ge := m.t.graphError(rq, resp)
		if ge.Code != "ErrorFolderExists" {
			return "", classify(ge)
		}
		id, ok, err := m.findChild(ctx, parentID, name, hidden)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", migrate.Retryable(fmt.Errorf("graphdst: folder %q exists but cannot be found", name))
		}
		return id, nil
	}
	return "", classify(m.t.graphError(rq, resp))
}

var _ migrate.FolderRenamer = (*Mailbox)(nil)

// RenameFolder implements migrate.FolderRenamer: a PATCH of displayName
// and, when the parent changes, a folder move. The folder keeps its id.
func (m *Mailbox) RenameFolder(ctx context.Context, folderID string, to migrate.FolderPath) error {
	if len(to.Names) == 0 {
		return migrate.SkipItem("ErrorInvalidRequest", errors.New("graphdst: a folder cannot become a well-known folder"))
	}
	parentID, err := m.EnsureFolder(ctx, migrate.FolderPath{WellKnown: to.WellKnown, Names: to.Names[:len(to.Names)-1]})
	if err != nil {
		return err
	}
	name := to.Names[len(to.Names)-1]
	resp, err := m.get(ctx, m.path("/mailFolders/"+url.PathEscape(folderID)+"?$select=id,displayName,parentFolderId"))
	if err != nil {
		return err
	}
	if resp.status != http.StatusOK {
		return classify(m.t.graphError(request{method: http.MethodGet, url: m.path("/mailFolders/" + folderID)}, resp))
	}
	var cur struct {
		DisplayName    string `json:"displayName"`
		ParentFolderID string `json:"parentFolderId"`
	}
	if err := json.Unmarshal(resp.body, &cur); err != nil {
		return migrate.Retryable(errors.New("graphdst: folder: unreadable response"))
	}
	defer m.forgetFolders()
	if cur.DisplayName != name {
		resp, rq, err := m.jsonReq(ctx, http.MethodPatch, m.path("/mailFolders/"+url.PathEscape(folderID)), map[string]string{"displayName": name}, true)
		if err != nil {
			return err
		}
		if resp.status != http.StatusOK {
			return classify(m.t.graphError(rq, resp))
		}
	}
	if cur.ParentFolderID != parentID {
		resp, rq, err := m.jsonReq(ctx, http.MethodPost, m.path("/mailFolders/"+url.PathEscape(folderID)+"/move"), map[string]string{"destinationId": parentID}, true)
		if err != nil {
			return err
		}
		if resp.status != http.StatusCreated && resp.status != http.StatusOK {
			return classify(m.t.graphError(rq, resp))
		}
	}
	return nil
}

// forgetFolders empties the path cache after a folder changed place.
func (m *Mailbox) forgetFolders() {
	m.fmu.Lock()
	m.folders = map[string]string{}
	m.fmu.Unlock()
}
