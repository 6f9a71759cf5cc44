package graphemu

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

type mimeDecoder = mime.WordDecoder

type uploadSession struct {
	id        string
	clientID  string
	mailbox   *mailbox
	messageID string // immutable id
	att       attachment
	size      int64
	data      []byte
	expires   time.Time
}

func (s *Server) uploadURL(id string) string {
	host := s.opts.UploadHost
	u, err := url.Parse(s.baseURL)
	if host == "" && err == nil {
		host = u.Host
		if u.Hostname() == "127.0.0.1" {
			host = "localhost"
			if p := u.Port(); p != "" {
				host += ":" + p
			}
		}
	}
	scheme := "https"
	if err == nil && u.Scheme != "" {
		scheme = u.Scheme
	}
	return scheme + "://" + host + "/upload/" + id
}

func (s *Server) createUploadSession(w http.ResponseWriter, r *http.Request, mb *mailbox, m *message, body []byte) {
	var in struct {
		AttachmentItem *struct {
			AttachmentType string `json:"attachmentType"`
			Name           string `json:"name"`
			Size           int64  `json:"size"`
			ContentType    string `json:"contentType"`
			IsInline       bool   `json:"isInline"`
			ContentID      string `json:"contentId"`
		} `json:"AttachmentItem"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.AttachmentItem == nil {
		writeError(w, 400, "ErrorInvalidRequest", "AttachmentItem is required.")
		return
	}
	ai := in.AttachmentItem
	if ai.AttachmentType != "" && !strings.EqualFold(ai.AttachmentType, "file") {
		writeError(w, 400, "ErrorInvalidRequest", "Only file attachments can be uploaded with an upload session.")
		return
	}
	if ai.Name == "" {
		writeError(w, 400, "ErrorInvalidRequest", "The attachment name is required.")
		return
	}
	if ai.Size <= 0 {
		writeError(w, 400, "ErrorInvalidRequest", "The attachment size must be positive.")
		return
	}
	if ai.Size > maxUploadSession {
		writeError(w, 400, "ErrorAttachmentSizeShouldNotBeGreaterThanMaximumSize", "Attachment size must not exceed 150 MB.")
		return
	}
	clientID, _ := s.authenticate(r)
	s.mu.Lock()
	us := &uploadSession{
		id: s.newID("us"), clientID: clientID, mailbox: mb, messageID: m.immutableID,
		att:  attachment{name: ai.Name, contentType: ai.ContentType, isInline: ai.IsInline, contentID: ai.ContentID},
		size: ai.Size, expires: time.Now().Add(24 * time.Hour),
	}
	s.uploads[us.id] = us
	s.mu.Unlock()
	writeJSON(w, 201, map[string]any{
		"uploadUrl":          s.uploadURL(us.id),
		"expirationDateTime": us.expires.UTC().Format(time.RFC3339),
		"nextExpectedRanges": []string{"0-"},
	})
}

// serveUpload handles PUT/GET/DELETE on an upload-session URL. Like Graph,
// it refuses requests that carry an Authorization header: the URL itself is
// the credential.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	if s.refuseInOutage(w) {
		return
	}
	id := strings.TrimPrefix(r.URL.Path, "/upload/")
	if r.Header.Get("Authorization") != "" {
		writeError(w, 401, "InvalidAuthenticationToken", "The upload URL is pre-authenticated; the request must not carry an Authorization header.")
		return
	}
	s.mu.Lock()
	us := s.uploads[id]
	s.mu.Unlock()
	if us == nil || time.Now().After(us.expires) {
		writeError(w, 404, "ErrorItemNotFound", "The upload session was not found or has expired.")
		return
	}
	switch r.Method {
	case http.MethodGet:
		s.stats.requests.Add(1)
		writeJSON(w, 200, map[string]any{"expirationDateTime": us.expires.UTC().Format(time.RFC3339), "nextExpectedRanges": []string{fmt.Sprintf("%d-", len(us.data))}})
		return
	case http.MethodDelete:
		s.stats.requests.Add(1)
		s.mu.Lock()
		delete(s.uploads, id)
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		return
	case http.MethodPut:
	default:
		methodNotAllowed(w)
		return
	}
	body, put, tooBig, err := readChunk(r, s.limits.MaxRequestBody)
	defer put() // body is copied into the session's data
	if err != nil {
		writeError(w, 400, "BadRequest", "could not read the request body")
		return
	}
	if tooBig {
		writeError(w, 413, "RequestEntityTooLarge", "Each upload request must be at most 4 MB.")
		return
	}
	release := s.admit(w, us.clientID, us.mailbox.id, r.Method, int64(len(body)))
	if release == nil {
		return
	}
	rw := &releaseWriter{ResponseWriter: w, release: release}
	defer rw.done()
	if kind, code := s.fault(false); kind == 1 {
		s.stats.faults.Add(1)
		writeError(rw, code, "ServiceUnavailable", "Service unavailable (injected).")
		return
	}
	start, end, total, ok := parseContentRange(r.Header.Get("Content-Range"))
	if !ok {
		writeError(rw, 400, "InvalidContentRange", "A valid Content-Range header (bytes a-b/total) is required.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if total != us.size || start != int64(len(us.data)) || end-start+1 != int64(len(body)) || end >= total {
		rw.Header().Set("Content-Type", "application/json")
		writeError(rw, 416, "InvalidContentRange", fmt.Sprintf("Expected range %d- of %d; got %d-%d/%d with %d bytes.", len(us.data), us.size, start, end, total, len(body)))
		return
	}
	if us.data == nil {
		// The session's size is known (at most 150 MB, checked when it
		// was created): its data is not grown chunk by chunk.
		us.data = make([]byte, 0, us.size)
	}
	us.data = append(us.data, body...)
	if int64(len(us.data)) < us.size {
		writeJSON(rw, 200, map[string]any{"expirationDateTime": us.expires.UTC().Format(time.RFC3339), "nextExpectedRanges": []string{fmt.Sprintf("%d-", len(us.data))}})
		return
	}
	delete(s.uploads, id)
	m := us.mailbox.messages[us.messageID]
	if m == nil {
		writeError(rw, 404, "ErrorItemNotFound", "The message of this upload session no longer exists.")
		return
	}
	att := us.att
	att.id = s.newID("AAMkAGI2THVSAAABEgAQ")
	att.data = us.data
	att.added = time.Now().UTC()
	m.attachments = append(m.attachments, &att)
	m.modified = att.added
	rw.Header().Set("Location", fmt.Sprintf("%s/users('%s')/messages('%s')/attachments('%s')", s.GraphURL(), us.mailbox.id, m.immutableID, att.id))
	rw.WriteHeader(http.StatusCreated)
}

func parseContentRange(h string) (start, end, total int64, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(h), "bytes ")
	if !found {
		return 0, 0, 0, false
	}
	rng, tot, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, 0, false
	}
	a, b, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, 0, false
	}
	var err1, err2, err3 error
	start, err1 = strconv.ParseInt(a, 10, 64)
	end, err2 = strconv.ParseInt(b, 10, 64)
	total, err3 = strconv.ParseInt(tot, 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || start < 0 || end < start {
		return 0, 0, 0, false
	}
	return start, end, total, true
}

// serveInspect serves GET /_emu/mailboxes/{address} (the dump),
// GET /_emu/stats and GET /_emu/sent, and POST /_emu/mailboxes/{address}
// (provision). It needs no token: it is for tests and the demo only.
func (s *Server) serveInspect(w http.ResponseWriter, r *http.Request) {
	segs := splitPath(strings.TrimPrefix(r.URL.EscapedPath(), "/_emu"))
	switch {
	case len(segs) == 2 && segs[0] == "mailboxes" && r.Method == http.MethodGet:
		d, ok := s.Dump(segs[1])
		if !ok {
			writeError(w, 404, "ErrorInvalidUser", "no such mailbox")
			return
		}
		writeJSON(w, 200, d)
	case len(segs) == 2 && segs[0] == "mailboxes" && r.Method == http.MethodPost:
		id := s.AddMailbox(segs[1])
		writeJSON(w, 201, map[string]string{"id": id, "address": segs[1]})
	case len(segs) == 1 && segs[0] == "stats":
		writeJSON(w, 200, s.Stats())
	case len(segs) == 1 && segs[0] == "sent":
		writeJSON(w, 200, s.Sent())
	default:
		writeError(w, 404, "ResourceNotFound", "no such inspection endpoint")
	}
}
