package graphdst

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/imapmig/imapmig/migrate"
)

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
	if err := jsonUnmarshal(resp.body, &cur); err != nil {
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
