package graphemu

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
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
	if s.refuseInOutage(w) {
		return
	}
	clientID, st := s.authenticate(r)
	if st != tokenValid {
		s.refuseToken(w, st)
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
	if s.serveDirectory(w, r, segs) { // domains*.go: the cutover checks' directory calls
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
	case seg(0) == "mailfolders" && n == 2 && m == http.MethodDelete:
		s.deleteFolder(w, mb, rest[1], false)
	case seg(0) == "mailfolders" && n == 3 && seg(2) == "permanentdelete" && m == http.MethodPost:
		s.deleteFolder(w, mb, rest[1], true)
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
