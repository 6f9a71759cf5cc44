package graphemu

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

func folderJSON(mb *mailbox, f *folder) map[string]any {
	var children, total, unread int
	for _, c := range mb.folders {
		if c.parentID == f.id {
			children++
		}
	}
	for _, m := range mb.messages {
		if m.folderID == f.id {
			total++
			if !m.isRead {
				unread++
			}
		}
	}
	return map[string]any{
		"id": f.id, "displayName": f.name, "parentFolderId": f.parentID,
		"childFolderCount": children, "totalItemCount": total, "unreadItemCount": unread,
		"isHidden": f.hidden,
	}
}

func (s *Server) getFolder(w http.ResponseWriter, r *http.Request, mb *mailbox, ref string) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w)
		return
	}
	s.mu.Lock()
	f := mb.folder(ref)
	var v map[string]any
	if f != nil {
		v = folderJSON(mb, f)
	}
	s.mu.Unlock()
	if f == nil {
		writeError(w, 404, "ErrorItemNotFound", "The specified object was not found in the store.")
		return
	}
	writeJSON(w, 200, v)
}

var reDisplayNameFilter = regexp.MustCompile(`^\s*displayName\s+eq\s+'((?:[^']|'')*)'\s*$`)

func (s *Server) listFolders(w http.ResponseWriter, r *http.Request, mb *mailbox, parentID string) {
	q := r.URL.Query()
	var nameFilter *string
	if f := q.Get("$filter"); f != "" {
		mm := reDisplayNameFilter.FindStringSubmatch(f)
		if mm == nil {
			writeError(w, 400, "ErrorInvalidUrlQueryFilter", "The query filter contains one or more invalid nodes.")
			return
		}
		v := strings.ReplaceAll(mm[1], "''", "'")
		nameFilter = &v
	}
	top, skip, ok := pageParams(w, q)
	if !ok {
		return
	}
	withHidden := strings.EqualFold(q.Get("includeHiddenFolders"), "true")
	s.mu.Lock()
	var list []*folder
	for _, f := range mb.folders {
		if f.parentID == parentID && f.id != mb.root.id && (withHidden || !f.hidden) {
			if nameFilter != nil && !strings.EqualFold(f.name, *nameFilter) {
				continue
			}
			list = append(list, f)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })
	var items []any
	for i := skip; i < len(list) && i < skip+top; i++ {
		items = append(items, folderJSON(mb, list[i]))
	}
	total := len(list)
	s.mu.Unlock()
	s.writePage(w, r, items, skip, top, total)
}

func pageParams(w http.ResponseWriter, q url.Values) (top, skip int, ok bool) {
	top = defaultPageSize
	if v := q.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, 400, "BadRequest", "Invalid value for $top.")
			return 0, 0, false
		}
		top = min(n, maxPageSize)
	}
	if v := q.Get("$skip"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, 400, "BadRequest", "Invalid value for $skip.")
			return 0, 0, false
		}
		skip = n
	}
	return top, skip, true
}

func (s *Server) writePage(w http.ResponseWriter, r *http.Request, items []any, skip, top, total int) {
	if items == nil {
		items = []any{}
	}
	resp := map[string]any{"value": items}
	if skip+top < total {
		q := r.URL.Query()
		q.Set("$skip", strconv.Itoa(skip+top))
		q.Set("$top", strconv.Itoa(top))
		resp["@odata.nextLink"] = s.baseURL + r.URL.Path + "?" + q.Encode()
	}
	writeJSON(w, 200, resp)
}

// patchFolder renames a folder (displayName). Well-known folders cannot be
// renamed; a sibling with the new name is a 409 ErrorFolderExists.
func (s *Server) patchFolder(w http.ResponseWriter, r *http.Request, mb *mailbox, ref string, body []byte) {
	var in struct {
		DisplayName *string `json:"displayName"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		writeError(w, 400, "RequestBodyRead", "Cannot read the request body: "+err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f := userFolderLocked(w, mb, ref, "ErrorInvalidRequest", "A distinguished folder cannot be renamed.")
	switch {
	case f == nil:
		return
	case in.DisplayName == nil || strings.TrimSpace(*in.DisplayName) == "":
		writeError(w, 400, "ErrorInvalidRequest", "The displayName cannot be empty.")
		return
	}
	for _, o := range mb.folders {
		if o.id != f.id && o.parentID == f.parentID && strings.EqualFold(o.name, *in.DisplayName) {
			writeError(w, 409, "ErrorFolderExists", "A folder with the specified name already exists.")
			return
		}
	}
	f.name = *in.DisplayName
	writeJSON(w, 200, folderJSON(mb, f))
}

// moveFolder moves a folder under another; the id does not change.
func (s *Server) moveFolder(w http.ResponseWriter, r *http.Request, mb *mailbox, ref string, body []byte) {
	var in struct {
		DestinationID string `json:"destinationId"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		writeError(w, 400, "RequestBodyRead", "Cannot read the request body: "+err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, dest := mb.folder(ref), mb.folder(in.DestinationID)
	switch {
	case f == nil || dest == nil:
		writeError(w, 404, "ErrorItemNotFound", "The specified object was not found in the store.")
		return
	case f.wellKnown != "":
		writeError(w, 400, "ErrorInvalidRequest", "A distinguished folder cannot be moved.")
		return
	}
	for p := dest; p != nil; p = mb.folders[p.parentID] {
		if p.id == f.id {
			writeError(w, 400, "ErrorMoveCopyFailed", "A folder cannot be moved into itself.")
			return
		}
	}
	for _, o := range mb.folders {
		if o.id != f.id && o.parentID == dest.id && strings.EqualFold(o.name, f.name) {
			writeError(w, 409, "ErrorFolderExists", "A folder with the specified name already exists.")
			return
		}
	}
	f.parentID = dest.id
	writeJSON(w, 201, folderJSON(mb, f))
}

func (s *Server) createFolder(w http.ResponseWriter, r *http.Request, mb *mailbox, parentID string, body []byte) {
	var in struct {
		DisplayName *string `json:"displayName"`
		IsHidden    bool    `json:"isHidden"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		writeError(w, 400, "RequestBodyRead", "Cannot read the request body: "+err.Error())
		return
	}
	if in.DisplayName == nil || strings.TrimSpace(*in.DisplayName) == "" {
		writeError(w, 400, "ErrorInvalidRequest", "The displayName is required and cannot be empty.")
		return
	}
	s.mu.Lock()
	for _, f := range mb.folders {
		if f.parentID == parentID && strings.EqualFold(f.name, *in.DisplayName) {
			s.mu.Unlock()
			writeError(w, 409, "ErrorFolderExists", "A folder with the specified name already exists.")
			return
		}
	}
	f := &folder{id: s.newID("AAMkF"), parentID: parentID, name: *in.DisplayName, hidden: in.IsHidden}
	mb.folders[f.id] = f
	v := folderJSON(mb, f)
	s.mu.Unlock()
	writeJSON(w, 201, v)
}

// deleteFolder deletes a folder as Exchange does. A soft DELETE moves it,
// with its items and subfolders, into Deleted Items (a folder already there
// is removed, its items to Recoverable Items/Deletions); permanentDelete
// removes the folder and everything in it from the mailbox.
func (s *Server) deleteFolder(w http.ResponseWriter, mb *mailbox, ref string, permanent bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := userFolderLocked(w, mb, ref, "ErrorDeleteDistinguishedFolder", "Distinguished folders cannot be deleted.")
	if f == nil {
		return
	}
	trash := mb.wellKnown["deleteditems"]
	if !permanent && !mb.within(f.id, trash) {
		f.parentID = trash.id
		w.WriteHeader(http.StatusNoContent)
		return
	}
	n := mb.removeFolderLocked(f)
	if permanent {
		mb.purged += n
	} else {
		mb.deletions += n
	}
	w.WriteHeader(http.StatusNoContent)
}

// userFolderLocked finds a folder the client may change: nil after a 404,
// or after a 400 with code and msg for a well-known folder. s.mu held.
func userFolderLocked(w http.ResponseWriter, mb *mailbox, ref, code, msg string) *folder {
	f := mb.folder(ref)
	switch {
	case f == nil:
		writeError(w, 404, "ErrorItemNotFound", "The specified object was not found in the store.")
		return nil
	case f.wellKnown != "":
		writeError(w, 400, code, msg)
		return nil
	}
	return f
}

// removeFolderLocked removes f, its subfolders and their items, and
// returns how many items it removed. s.mu held.
func (mb *mailbox) removeFolderLocked(f *folder) int {
	gone := map[string]bool{}
	for id := range mb.folders {
		if mb.within(id, f) {
			gone[id] = true
		}
	}
	n := 0
	for _, m := range mb.messages {
		if gone[m.folderID] {
			mb.removeMessage(m)
			n++
		}
	}
	for id := range gone {
		delete(mb.folders, id)
	}
	return n
}

// RemoveFolder deletes a folder and its items behind the client's back, as
// a user who deletes it in Outlook and empties Deleted Items; false when
// there is no such mailbox or folder.
func (s *Server) RemoveFolder(address, folderID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	mb := s.mailboxLocked(address)
	if mb == nil {
		return false
	}
	f := mb.folders[folderID]
	if f == nil || f.wellKnown != "" {
		return false
	}
	mb.purged += mb.removeFolderLocked(f)
	return true
}
