package graphemu

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	maxInlineAttachment = 3 << 20
	maxUploadSession    = 150 << 20
	defaultPageSize     = 10
	maxPageSize         = 1000
	maxBatch            = 20
)

func preferImmutable(r *http.Request) bool {
	for _, v := range r.Header.Values("Prefer") {
		if strings.Contains(strings.ToLower(strings.ReplaceAll(v, " ", "")), `idtype="immutableid"`) {
			return true
		}
	}
	return false
}

func splitPath(escaped string) []string {
	raw := strings.Split(strings.Trim(escaped, "/"), "/")
	out := make([]string, 0, len(raw))
	for _, p := range raw {
		if u, err := url.PathUnescape(p); err == nil {
			p = u
		}
		out = append(out, p)
	}
	return out
}

// serveGraph is the /v1.0 surface.
func (s *Server) serveGraph(w http.ResponseWriter, r *http.Request) {
	clientID, ok := s.authenticate(r)
	if !ok {
		if r.Header.Get("Authorization") == "" {
			writeError(w, 401, "InvalidAuthenticationToken", "Access token is empty.")
		} else {
			writeError(w, 401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
		}
		return
	}
	segs := splitPath(strings.TrimPrefix(r.URL.EscapedPath(), "/v1.0"))
	body, tooBig, err := readBody(r, s.limits.MaxRequestBody)
	if err != nil {
		writeError(w, 400, "BadRequest", "could not read the request body")
		return
	}
	if tooBig {
		writeError(w, 413, "RequestEntityTooLarge", "The maximum request length supported is 4MB.")
		return
	}
	if len(segs) == 1 && segs[0] == "$batch" && r.Method == http.MethodPost {
		s.serveBatch(w, r, body)
		return
	}
	if len(segs) < 2 || !strings.EqualFold(segs[0], "users") {
		writeError(w, 400, "BadRequest", "Resource not found for the segment '"+strings.Join(segs, "/")+"'.")
		return
	}
	s.mu.Lock()
	mb := s.mailboxLocked(segs[1])
	s.mu.Unlock()
	if len(segs) == 2 {
		if r.Method != http.MethodGet {
			writeError(w, 405, "Request_BadRequest", "method not allowed")
			return
		}
		s.stats.requests.Add(1)
		if mb == nil {
			writeError(w, 404, "Request_ResourceNotFound", "Resource '"+segs[1]+"' does not exist or one of its queried reference-property objects are not present.")
			return
		}
		writeJSON(w, 200, map[string]any{"id": mb.id, "userPrincipalName": mb.address, "mail": mb.address, "displayName": mb.address})
		return
	}
	if mb == nil {
		s.stats.requests.Add(1)
		writeError(w, 404, "ErrorInvalidUser", "The requested user '"+segs[1]+"' is invalid.")
		return
	}
	release := s.admit(w, clientID, mb.id, r.Method, int64(len(body)))
	if release == nil {
		return
	}
	rw := &releaseWriter{ResponseWriter: w, release: release}
	defer rw.done()
	if s.opts.Latency > 0 {
		time.Sleep(s.opts.Latency)
	}
	rest := segs[2:]
	isCreate := r.Method == http.MethodPost && isMessageCollection(rest)
	kind, code := s.fault(isCreate)
	switch kind {
	case 1:
		s.stats.faults.Add(1)
		if code == 503 {
			writeError(rw, 503, "ServiceUnavailable", "Service unavailable (injected).")
		} else {
			writeError(rw, 504, "UnknownError", "Gateway timeout (injected).")
		}
		return
	case 2:
		rec := httptest.NewRecorder()
		s.dispatch(rec, r, mb, rest, body)
		if rec.Code == http.StatusCreated {
			s.stats.ambiguous.Add(1)
			writeError(rw, 504, "UnknownError", "Gateway timeout (injected after the create took effect).")
			return
		}
		for k, v := range rec.Header() {
			rw.Header()[k] = v
		}
		rw.WriteHeader(rec.Code)
		_, _ = rw.Write(rec.Body.Bytes())
		return
	}
	s.dispatch(rw, r, mb, rest, body)
}

func isMessageCollection(rest []string) bool {
	if len(rest) == 1 && strings.EqualFold(rest[0], "messages") {
		return true
	}
	return len(rest) == 3 && strings.EqualFold(rest[0], "mailFolders") && strings.EqualFold(rest[2], "messages")
}

func (s *Server) dispatch(w http.ResponseWriter, r *http.Request, mb *mailbox, rest []string, body []byte) {
	n := len(rest)
	seg := func(i int) string {
		if i < n {
			return strings.ToLower(rest[i])
		}
		return ""
	}
	m := r.Method
	switch {
	case seg(0) == "mailfolders" && n == 1:
		switch m {
		case http.MethodGet:
			s.listFolders(w, r, mb, mb.root.id)
		case http.MethodPost:
			s.createFolder(w, r, mb, mb.root.id, body)
		default:
			methodNotAllowed(w)
		}
	case seg(0) == "mailfolders" && n == 2 && m == http.MethodPatch:
		s.patchFolder(w, r, mb, rest[1], body)
	case seg(0) == "mailfolders" && n == 2:
		s.getFolder(w, r, mb, rest[1])
	case seg(0) == "mailfolders" && n == 3 && seg(2) == "move" && m == http.MethodPost:
		s.moveFolder(w, r, mb, rest[1], body)
	case seg(0) == "mailfolders" && n == 3 && seg(2) == "childfolders":
		s.folderCollection(w, r, mb, rest[1], body, s.listFolders, s.createFolder)
	case seg(0) == "mailfolders" && n == 3 && seg(2) == "messages":
		s.folderCollection(w, r, mb, rest[1], body, s.listMessages, s.createMessage)
	case seg(0) == "mailfolders" && n >= 4 && seg(2) == "messages":
		s.messageOp(w, r, mb, rest[3], rest[4:], body)
	case seg(0) == "messages" && n == 1:
		switch m {
		case http.MethodGet:
			s.listMessages(w, r, mb, "")
		case http.MethodPost:
			s.createMessage(w, r, mb, "", body)
		default:
			methodNotAllowed(w)
		}
	case seg(0) == "messages" && n >= 2:
		s.messageOp(w, r, mb, rest[1], rest[2:], body)
	case seg(0) == "sendmail" && n == 1 && m == http.MethodPost:
		s.sendMail(w, r, mb, body)
	default:
		writeError(w, 400, "BadRequest", "Resource not found for the segment '"+strings.Join(rest, "/")+"'.")
	}
}

// folderCollection serves GET (list) and POST (create) on a collection of
// the folder ref: its child folders or its messages.
func (s *Server) folderCollection(w http.ResponseWriter, r *http.Request, mb *mailbox, ref string, body []byte,
	list func(http.ResponseWriter, *http.Request, *mailbox, string),
	create func(http.ResponseWriter, *http.Request, *mailbox, string, []byte)) {
	f := s.folderRef(mb, ref)
	if f == nil {
		writeError(w, 404, "ErrorItemNotFound", "The specified object was not found in the store.")
		return
	}
	switch r.Method {
	case http.MethodGet:
		list(w, r, mb, f.id)
	case http.MethodPost:
		create(w, r, mb, f.id, body)
	default:
		methodNotAllowed(w)
	}
}

func methodNotAllowed(w http.ResponseWriter) {
	writeError(w, 405, "ErrorInvalidRequest", "The OData request is not supported.")
}

func (s *Server) folderRef(mb *mailbox, ref string) *folder {
	s.mu.Lock()
	defer s.mu.Unlock()
	return mb.folder(ref)
}

// ---- folders ----

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
		"isHidden": false,
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
	s.mu.Lock()
	var list []*folder
	for _, f := range mb.folders {
		if f.parentID == parentID && f.id != mb.root.id {
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
	f := mb.folder(ref)
	switch {
	case f == nil:
		writeError(w, 404, "ErrorItemNotFound", "The specified object was not found in the store.")
		return
	case f.wellKnown != "":
		writeError(w, 400, "ErrorInvalidRequest", "A distinguished folder cannot be renamed.")
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
	f := &folder{id: s.newID("AAMkF"), parentID: parentID, name: *in.DisplayName}
	mb.folders[f.id] = f
	v := folderJSON(mb, f)
	s.mu.Unlock()
	writeJSON(w, 201, v)
}

// ---- messages ----

var (
	reExtAnyFilter = regexp.MustCompile(`(?i)^\s*singleValueExtendedProperties/any\(\s*(\w+)\s*:\s*(\w+)/id\s+eq\s+'((?:[^']|'')*)'\s+and\s+(\w+)/value\s+eq\s+'((?:[^']|'')*)'\s*\)\s*$`)
	reExtExpand    = regexp.MustCompile(`(?i)^\s*singleValueExtendedProperties\(\s*\$filter\s*=\s*id\s+eq\s+'((?:[^']|'')*)'\s*\)\s*$`)
)

type listOpts struct {
	selectFields map[string]bool
	expandExt    string
	immutable    bool
}

func (s *Server) parseListOpts(w http.ResponseWriter, r *http.Request) (listOpts, bool) {
	q := r.URL.Query()
	o := listOpts{immutable: preferImmutable(r)}
	if v := q.Get("$select"); v != "" {
		o.selectFields = map[string]bool{}
		for _, f := range strings.Split(v, ",") {
			o.selectFields[strings.TrimSpace(f)] = true
		}
	}
	if v := q.Get("$expand"); v != "" {
		mm := reExtExpand.FindStringSubmatch(v)
		if mm == nil {
			writeError(w, 400, "BadRequest", "Parsing OData Select and Expand failed: unsupported $expand '"+v+"'.")
			return o, false
		}
		o.expandExt = strings.ReplaceAll(mm[1], "''", "'")
	}
	return o, true
}

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request, mb *mailbox, folderID string) {
	q := r.URL.Query()
	o, ok := s.parseListOpts(w, r)
	if !ok {
		return
	}
	var fid, fval string
	hasFilter := false
	if f := q.Get("$filter"); f != "" {
		mm := reExtAnyFilter.FindStringSubmatch(f)
		if mm == nil || mm[1] != mm[2] || mm[1] != mm[4] {
			writeError(w, 400, "ErrorInvalidUrlQueryFilter", "The query filter contains one or more invalid nodes.")
			return
		}
		fid = strings.ReplaceAll(mm[3], "''", "'")
		fval = strings.ReplaceAll(mm[5], "''", "'")
		hasFilter = true
	}
	top, skip, ok := pageParams(w, q)
	if !ok {
		return
	}
	s.mu.Lock()
	var list []*message
	for _, m := range mb.messages {
		if folderID != "" && m.folderID != folderID {
			continue
		}
		if hasFilter {
			v, ok := m.extValue(fid)
			if !ok || !strings.EqualFold(v, fval) {
				continue
			}
		}
		list = append(list, m)
	}
	sort.Slice(list, func(i, j int) bool {
		if !list[i].received.Equal(list[j].received) {
			return list[i].received.After(list[j].received)
		}
		return list[i].immutableID < list[j].immutableID
	})
	var items []any
	for i := skip; i < len(list) && i < skip+top; i++ {
		items = append(items, messageJSON(mb, list[i], o))
	}
	total := len(list)
	s.mu.Unlock()
	s.writePage(w, r, items, skip, top, total)
}

func messageJSON(mb *mailbox, m *message, o listOpts) map[string]any {
	id := m.regularID
	if o.immutable {
		id = m.immutableID
	}
	v := map[string]any{}
	for k, raw := range m.fields {
		v[k] = raw
	}
	v["id"] = id
	v["@odata.etag"] = fmt.Sprintf(`W/"%d"`, m.modified.UnixNano())
	v["createdDateTime"] = m.created.UTC().Format(time.RFC3339)
	v["lastModifiedDateTime"] = m.modified.UTC().Format(time.RFC3339)
	v["receivedDateTime"] = m.received.UTC().Format(time.RFC3339)
	if m.sent.IsZero() {
		v["sentDateTime"] = nil
	} else {
		v["sentDateTime"] = m.sent.UTC().Format(time.RFC3339)
	}
	v["hasAttachments"] = len(m.attachments) > 0
	v["isDraft"] = m.isDraft
	v["isRead"] = m.isRead
	v["flag"] = map[string]string{"flagStatus": m.flagStatus}
	cats := m.categories
	if cats == nil {
		cats = []string{}
	}
	v["categories"] = cats
	v["parentFolderId"] = m.folderID
	if o.selectFields != nil {
		sel := map[string]any{"id": id, "@odata.etag": v["@odata.etag"]}
		for k := range o.selectFields {
			if x, ok := v[k]; ok {
				sel[k] = x
			}
		}
		v = sel
	}
	if o.expandExt != "" {
		var props []extProp
		for _, p := range m.ext {
			if extIDEqual(p.ID, o.expandExt) {
				props = append(props, p)
			}
		}
		if len(props) > 0 {
			v["singleValueExtendedProperties"] = props
		}
	}
	return v
}

// messageFields are the writable message properties a client may send.
var messageFields = map[string]bool{
	"subject": true, "body": true, "from": true, "sender": true, "toRecipients": true,
	"ccRecipients": true, "bccRecipients": true, "replyTo": true, "internetMessageId": true,
	"importance": true, "isRead": true, "isDraft": true, "flag": true, "categories": true,
	"internetMessageHeaders": true, "singleValueExtendedProperties": true,
	"multiValueExtendedProperties": true, "attachments": true, "inferenceClassification": true,
	"isDeliveryReceiptRequested": true, "isReadReceiptRequested": true, "receivedDateTime": true,
	"sentDateTime": true, "@odata.type": true, "uniqueBody": true, "bodyPreview": true,
}

type inAttachment struct {
	ODataType    string `json:"@odata.type"`
	Name         string `json:"name"`
	ContentType  string `json:"contentType"`
	ContentBytes string `json:"contentBytes"`
	IsInline     bool   `json:"isInline"`
	ContentID    string `json:"contentId"`
	Size         int64  `json:"size"`
}

func decodeAttachment(a inAttachment) (*attachment, string) {
	if !strings.EqualFold(a.ODataType, "#microsoft.graph.fileAttachment") {
		return nil, "only #microsoft.graph.fileAttachment is supported by the emulator"
	}
	if a.Name == "" {
		return nil, "attachment name is required"
	}
	data, err := base64.StdEncoding.DecodeString(a.ContentBytes)
	if err != nil {
		return nil, "contentBytes is not valid base64"
	}
	return &attachment{name: a.Name, contentType: a.ContentType, isInline: a.IsInline, contentID: a.ContentID, data: data}, ""
}

func parseSystemTime(v string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func validateExt(props []extProp) string {
	for _, p := range props {
		typ, _, _ := strings.Cut(strings.TrimSpace(p.ID), " ")
		switch strings.ToLower(typ) {
		case "integer", "long", "short":
			if _, err := strconv.ParseInt(p.Value, 10, 64); err != nil {
				return "The value '" + p.Value + "' of extended property '" + p.ID + "' is not an integer."
			}
		case "systemtime":
			if _, ok := parseSystemTime(p.Value); !ok {
				return "The value '" + p.Value + "' of extended property '" + p.ID + "' is not a SystemTime."
			}
		case "boolean":
			if _, err := strconv.ParseBool(p.Value); err != nil {
				return "The value of extended property '" + p.ID + "' is not a Boolean."
			}
		case "string", "binary", "guid", "double", "float", "currency", "applicationtime", "null", "object":
		default:
			return "The extended property id '" + p.ID + "' is invalid."
		}
	}
	return ""
}

func (s *Server) createMessage(w http.ResponseWriter, r *http.Request, mb *mailbox, folderID string, body []byte) {
	ct := strings.ToLower(r.Header.Get("Content-Type"))
	if strings.HasPrefix(ct, "text/plain") {
		s.createMIME(w, r, mb, folderID, body)
		return
	}
	var in map[string]json.RawMessage
	if err := json.Unmarshal(body, &in); err != nil {
		writeError(w, 400, "RequestBodyRead", "Cannot read the request body: "+err.Error())
		return
	}
	for k := range in {
		if !messageFields[k] {
			writeError(w, 400, "RequestBodyRead", "The property '"+k+"' does not exist on type 'microsoft.graph.message'.")
			return
		}
	}
	now := time.Now().UTC()
	m := &message{fields: map[string]json.RawMessage{}, isDraft: true, flagStatus: "notFlagged", created: now, modified: now, received: now}
	var isReadSet bool
	for k, raw := range in {
		var err error
		switch k {
		case "isRead":
			err = json.Unmarshal(raw, &m.isRead)
			isReadSet = true
		case "isDraft", "@odata.type", "receivedDateTime", "sentDateTime", "bodyPreview", "uniqueBody":
			// read-only: ignored as Graph does
		case "flag":
			var f struct {
				FlagStatus string `json:"flagStatus"`
			}
			err = json.Unmarshal(raw, &f)
			if err == nil && f.FlagStatus != "" {
				if !validFlag(f.FlagStatus) {
					writeError(w, 400, "RequestBodyRead", "Invalid flagStatus '"+f.FlagStatus+"'.")
					return
				}
				m.flagStatus = f.FlagStatus
			}
		case "categories":
			err = json.Unmarshal(raw, &m.categories)
		case "singleValueExtendedProperties":
			err = json.Unmarshal(raw, &m.ext)
		case "internetMessageHeaders":
			var hs []struct{ Name, Value string }
			err = json.Unmarshal(raw, &hs)
			for _, h := range hs {
				if !strings.HasPrefix(strings.ToLower(h.Name), "x-") {
					writeError(w, 400, "InvalidInternetMessageHeader", "The internet message header name '"+h.Name+"' should start with 'x-' or 'X-'.")
					return
				}
			}
			m.fields[k] = raw
		case "attachments":
			var as []inAttachment
			err = json.Unmarshal(raw, &as)
			for _, a := range as {
				att, msg := decodeAttachment(a)
				if msg != "" {
					writeError(w, 400, "ErrorInvalidRequest", msg)
					return
				}
				if len(att.data) > maxInlineAttachment {
					writeError(w, 413, "RequestEntityTooLarge", "Attachments over 3 MB must be uploaded with an upload session.")
					return
				}
				m.attachments = append(m.attachments, att)
			}
		default:
			m.fields[k] = raw
		}
		if err != nil {
			writeError(w, 400, "RequestBodyRead", "Cannot read property '"+k+"': "+err.Error())
			return
		}
	}
	if msg := validateExt(m.ext); msg != "" {
		writeError(w, 400, "ErrorInvalidExtendedPropertyValue", msg)
		return
	}
	if v, ok := m.extValue("Integer 0x0E07"); ok {
		flags, _ := strconv.ParseInt(v, 10, 64)
		m.isDraft = flags&0x8 != 0
		if !isReadSet {
			m.isRead = flags&0x1 != 0
		}
	}
	if v, ok := m.extValue("SystemTime 0x0E06"); ok {
		m.received, _ = parseSystemTime(v)
	}
	if v, ok := m.extValue("SystemTime 0x0039"); ok {
		m.sent, _ = parseSystemTime(v)
	} else if !m.isDraft {
		m.sent = m.received
	}
	s.mu.Lock()
	if folderID == "" {
		folderID = mb.wellKnown["drafts"].id
	}
	m.folderID = folderID
	s.insertLocked(mb, m)
	v := messageJSON(mb, m, listOpts{immutable: preferImmutable(r)})
	s.mu.Unlock()
	writeJSON(w, 201, v)
}

func validFlag(f string) bool {
	return f == "flagged" || f == "complete" || f == "notFlagged"
}

func (s *Server) insertLocked(mb *mailbox, m *message) {
	m.immutableID = s.newID("AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0A")
	m.regularID = s.newID("AAMkAGI2THVSAAA=")
	for _, a := range m.attachments {
		a.id = s.newID("AAMkAGI2THVSAAABEgAQ")
		a.added = m.created
	}
	mb.messages[m.immutableID] = m
	mb.regular[m.regularID] = m
	s.stats.creates.Add(1)
}

func (s *Server) createMIME(w http.ResponseWriter, r *http.Request, mb *mailbox, folderID string, body []byte) {
	if folderID != "" {
		writeError(w, 400, "UnableToDeserializePostBody", "were unable to deserialize ")
		return
	}
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(body)), ""))
	if err != nil {
		writeError(w, 400, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content.")
		return
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		writeError(w, 400, "ErrorMimeContentInvalid", "The MIME content is invalid.")
		return
	}
	now := time.Now().UTC()
	m := &message{fields: map[string]json.RawMessage{}, isDraft: true, flagStatus: "notFlagged", created: now, modified: now, received: now, mime: true}
	dec := new(mimeWordDecoder)
	subj := dec.decode(msg.Header.Get("Subject"))
	m.fields["subject"], _ = json.Marshal(subj)
	if id := msg.Header.Get("Message-ID"); id != "" {
		m.fields["internetMessageId"], _ = json.Marshal(id)
	}
	if d, err := msg.Header.Date(); err == nil {
		m.sent = d.UTC()
	}
	s.mu.Lock()
	m.folderID = mb.wellKnown["drafts"].id
	s.insertLocked(mb, m)
	v := messageJSON(mb, m, listOpts{immutable: preferImmutable(r)})
	s.mu.Unlock()
	writeJSON(w, 201, v)
}

type mimeWordDecoder struct{}

func (mimeWordDecoder) decode(s string) string {
	d := new(mimeDecoder)
	if out, err := d.DecodeHeader(s); err == nil {
		return out
	}
	return s
}

func (s *Server) messageOp(w http.ResponseWriter, r *http.Request, mb *mailbox, ref string, rest []string, body []byte) {
	s.mu.Lock()
	m := mb.message(ref)
	s.mu.Unlock()
	if m == nil {
		writeError(w, 404, "ErrorItemNotFound", "The specified object was not found in the store.")
		return
	}
	imm := preferImmutable(r)
	switch {
	case len(rest) == 0 && r.Method == http.MethodGet:
		o, ok := s.parseListOpts(w, r)
		if !ok {
			return
		}
		s.mu.Lock()
		v := messageJSON(mb, m, o)
		s.mu.Unlock()
		writeJSON(w, 200, v)
	case len(rest) == 0 && r.Method == http.MethodDelete:
		s.mu.Lock()
		delete(mb.messages, m.immutableID)
		delete(mb.regular, m.regularID)
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	case len(rest) == 0 && r.Method == http.MethodPatch:
		s.patchMessage(w, r, mb, m, body)
	case len(rest) == 1 && strings.EqualFold(rest[0], "permanentDelete") && r.Method == http.MethodPost:
		// The item goes to Recoverable Items/Purges, invisible to clients.
		s.mu.Lock()
		delete(mb.messages, m.immutableID)
		delete(mb.regular, m.regularID)
		mb.purged++
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	case len(rest) == 1 && strings.EqualFold(rest[0], "move") && r.Method == http.MethodPost:
		var in struct {
			DestinationID string `json:"destinationId"`
		}
		if err := json.Unmarshal(body, &in); err != nil || in.DestinationID == "" {
			writeError(w, 400, "ErrorInvalidRequest", "destinationId is required.")
			return
		}
		s.mu.Lock()
		f := mb.folder(in.DestinationID)
		if f == nil || f == mb.root {
			s.mu.Unlock()
			writeError(w, 404, "ErrorItemNotFound", "The specified destination folder was not found.")
			return
		}
		delete(mb.regular, m.regularID)
		m.regularID = s.newID("AAMkAGI2THVSAAA=")
		mb.regular[m.regularID] = m
		m.folderID = f.id
		m.modified = time.Now().UTC()
		v := messageJSON(mb, m, listOpts{immutable: imm})
		s.mu.Unlock()
		writeJSON(w, 201, v)
	case len(rest) == 1 && strings.EqualFold(rest[0], "attachments"):
		switch r.Method {
		case http.MethodGet:
			s.mu.Lock()
			var items []any
			for _, a := range m.attachments {
				items = append(items, attachmentJSON(a, true))
			}
			n := len(items)
			s.mu.Unlock()
			s.writePage(w, r, items, 0, n, n)
		case http.MethodPost:
			var a inAttachment
			if err := json.Unmarshal(body, &a); err != nil {
				writeError(w, 400, "RequestBodyRead", "Cannot read the request body.")
				return
			}
			att, msg := decodeAttachment(a)
			if msg != "" {
				writeError(w, 400, "ErrorInvalidRequest", msg)
				return
			}
			if len(att.data) > maxInlineAttachment {
				writeError(w, 413, "RequestEntityTooLarge", "Attachments over 3 MB must be uploaded with an upload session.")
				return
			}
			s.mu.Lock()
			att.id = s.newID("AAMkAGI2THVSAAABEgAQ")
			m.attachments = append(m.attachments, att)
			m.modified = time.Now().UTC()
			s.mu.Unlock()
			writeJSON(w, 201, attachmentJSON(att, false))
		default:
			methodNotAllowed(w)
		}
	case len(rest) == 2 && strings.EqualFold(rest[0], "attachments") && strings.EqualFold(rest[1], "createUploadSession") && r.Method == http.MethodPost:
		s.createUploadSession(w, r, mb, m, body)
	default:
		writeError(w, 400, "BadRequest", "Resource not found for the segment '"+strings.Join(rest, "/")+"'.")
	}
}

func attachmentJSON(a *attachment, withBytes bool) map[string]any {
	v := map[string]any{
		"@odata.type": "#microsoft.graph.fileAttachment",
		"id":          a.id, "name": a.name, "contentType": a.contentType,
		"size": len(a.data), "isInline": a.isInline, "contentId": a.contentID,
		"lastModifiedDateTime": a.added.UTC().Format(time.RFC3339),
	}
	if withBytes {
		v["contentBytes"] = base64.StdEncoding.EncodeToString(a.data)
	}
	return v
}

// patchable on a sent (non-draft) item.
var sentPatchable = map[string]bool{
	"isRead": true, "flag": true, "categories": true, "importance": true,
	"inferenceClassification": true, "singleValueExtendedProperties": true,
	"isReadReceiptRequested": true, "isDeliveryReceiptRequested": true,
}

func (s *Server) patchMessage(w http.ResponseWriter, r *http.Request, mb *mailbox, m *message, body []byte) {
	var in map[string]json.RawMessage
	if err := json.Unmarshal(body, &in); err != nil {
		writeError(w, 400, "RequestBodyRead", "Cannot read the request body.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range in {
		if !messageFields[k] || k == "attachments" {
			writeError(w, 400, "RequestBodyRead", "The property '"+k+"' cannot be updated.")
			return
		}
		if !m.isDraft && !sentPatchable[k] {
			writeError(w, 400, "ErrorInvalidPropertyUpdateSentMessage", "Update operation is not allowed for property '"+k+"' of a sent message.")
			return
		}
	}
	var props []extProp
	if raw, ok := in["singleValueExtendedProperties"]; ok {
		if err := json.Unmarshal(raw, &props); err != nil {
			writeError(w, 400, "RequestBodyRead", "Cannot read singleValueExtendedProperties.")
			return
		}
		if msg := validateExt(props); msg != "" {
			writeError(w, 400, "ErrorInvalidExtendedPropertyValue", msg)
			return
		}
		for _, p := range props {
			if extIDEqual(p.ID, "Integer 0x0E07") {
				old, _ := m.extValue(p.ID)
				if old != p.Value {
					writeError(w, 400, "ErrorInvalidPropertyUpdateSentMessage", "PidTagMessageFlags (0x0E07) can only be set when the item is created.")
					return
				}
			}
		}
	}
	var flag struct {
		FlagStatus string `json:"flagStatus"`
	}
	if raw, ok := in["flag"]; ok {
		if err := json.Unmarshal(raw, &flag); err != nil || !validFlag(flag.FlagStatus) {
			writeError(w, 400, "RequestBodyRead", "Invalid flag.")
			return
		}
	}
	for k, raw := range in {
		switch k {
		case "isRead":
			if err := json.Unmarshal(raw, &m.isRead); err != nil {
				writeError(w, 400, "RequestBodyRead", "Invalid isRead.")
				return
			}
		case "flag":
			m.flagStatus = flag.FlagStatus
		case "categories":
			var c []string
			if err := json.Unmarshal(raw, &c); err != nil {
				writeError(w, 400, "RequestBodyRead", "Invalid categories.")
				return
			}
			m.categories = c
		case "singleValueExtendedProperties":
			for _, p := range props {
				replaced := false
				for i := range m.ext {
					if extIDEqual(m.ext[i].ID, p.ID) {
						m.ext[i].Value = p.Value
						replaced = true
					}
				}
				if !replaced {
					m.ext = append(m.ext, p)
				}
			}
		case "isDraft", "@odata.type":
		default:
			m.fields[k] = raw
		}
	}
	m.modified = time.Now().UTC()
	writeJSON(w, 200, messageJSON(mb, m, listOpts{immutable: preferImmutable(r)}))
}

func (s *Server) sendMail(w http.ResponseWriter, r *http.Request, mb *mailbox, body []byte) {
	var in struct {
		Message         map[string]json.RawMessage `json:"message"`
		SaveToSentItems *bool                      `json:"saveToSentItems"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.Message == nil {
		writeError(w, 400, "ErrorInvalidRequest", "The message is required.")
		return
	}
	var to []json.RawMessage
	if raw, ok := in.Message["toRecipients"]; ok {
		_ = json.Unmarshal(raw, &to)
	}
	if len(to) == 0 {
		writeError(w, 400, "ErrorInvalidRecipients", "At least one recipient is not valid.")
		return
	}
	save := in.SaveToSentItems == nil || *in.SaveToSentItems
	raw, _ := json.Marshal(in.Message)
	now := time.Now().UTC()
	s.mu.Lock()
	s.sent = append(s.sent, SentMail{From: mb.address, Message: raw, SaveToSentItems: save, At: now})
	if save {
		m := &message{fields: map[string]json.RawMessage{}, isRead: true, flagStatus: "notFlagged", created: now, modified: now, received: now, sent: now, folderID: mb.wellKnown["sentitems"].id}
		for k, v := range in.Message {
			if k != "attachments" {
				m.fields[k] = v
			}
		}
		s.insertLocked(mb, m)
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

// ---- $batch ----

func (s *Server) serveBatch(w http.ResponseWriter, r *http.Request, body []byte) {
	var in struct {
		Requests []struct {
			ID        string            `json:"id"`
			Method    string            `json:"method"`
			URL       string            `json:"url"`
			Headers   map[string]string `json:"headers"`
			Body      json.RawMessage   `json:"body"`
			DependsOn []string          `json:"dependsOn"`
		} `json:"requests"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		writeError(w, 400, "BadRequest", "Invalid batch payload.")
		return
	}
	if len(in.Requests) == 0 || len(in.Requests) > maxBatch {
		writeError(w, 400, "BadRequest", "Number of batch request steps exceeds the maximum value of 20.")
		return
	}
	type subResp struct {
		ID      string            `json:"id"`
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers,omitempty"`
		Body    json.RawMessage   `json:"body,omitempty"`
	}
	seen := map[string]bool{}
	var out []subResp
	for _, sr := range in.Requests {
		if sr.ID == "" || seen[sr.ID] {
			writeError(w, 400, "BadRequest", "Batch request ids must be unique and non-empty.")
			return
		}
		seen[sr.ID] = true
		var rb []byte
		if len(sr.Body) > 0 && string(sr.Body) != "null" {
			if ct := sr.Headers["Content-Type"] + sr.Headers["content-type"]; ct == "" {
				out = append(out, subResp{ID: sr.ID, Status: 400, Body: errBody("BadRequest", "A Content-Type header is required for a request with a body.")})
				continue
			}
			rb = sr.Body
			var str string
			if json.Unmarshal(sr.Body, &str) == nil {
				rb = []byte(str) // text/plain bodies are JSON strings
			}
		}
		u := "/v1.0/" + strings.TrimPrefix(sr.URL, "/")
		req := httptest.NewRequest(sr.Method, u, bytes.NewReader(rb))
		req = req.WithContext(r.Context())
		req.Header.Set("Authorization", r.Header.Get("Authorization"))
		for _, p := range r.Header.Values("Prefer") {
			req.Header.Add("Prefer", p)
		}
		for k, v := range sr.Headers {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		s.serveGraph(rec, req)
		resp := subResp{ID: sr.ID, Status: rec.Code, Headers: map[string]string{}}
		for k := range rec.Header() {
			resp.Headers[k] = rec.Header().Get(k)
		}
		if rec.Body.Len() > 0 {
			resp.Body = json.RawMessage(rec.Body.Bytes())
		}
		out = append(out, resp)
	}
	writeJSON(w, 200, map[string]any{"responses": out})
}

func errBody(code, msg string) json.RawMessage {
	var e graphError
	e.Error.Code, e.Error.Message = code, msg
	b, _ := json.Marshal(e)
	return b
}
