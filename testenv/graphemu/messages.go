package graphemu

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/mail"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

var (
	reExtAnyFilter = regexp.MustCompile(`(?i)^\s*singleValueExtendedProperties/any\(\s*(\w+)\s*:\s*(\w+)/id\s+eq\s+'((?:[^']|'')*)'\s+and\s+(\w+)/value\s+eq\s+'((?:[^']|'')*)'\s*\)\s*$`)
	// reIMIDFilter is `internetMessageId eq '<…>'` (quotes doubled inside),
	// how a sender finds its own sent mail again.
	reIMIDFilter = regexp.MustCompile(`(?i)^\s*internetMessageId\s+eq\s+'((?:[^']|'')*)'\s*$`)
	reExtExpand  = regexp.MustCompile(`(?i)^\s*singleValueExtendedProperties\(\s*\$filter\s*=\s*id\s+eq\s+'((?:[^']|'')*)'\s*\)\s*$`)
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
	var fid, fval, imid string
	hasFilter, byIMID := false, false
	if f := q.Get("$filter"); f != "" {
		if mm := reIMIDFilter.FindStringSubmatch(f); mm != nil {
			imid, byIMID = strings.ReplaceAll(mm[1], "''", "'"), true
		} else {
			mm := reExtAnyFilter.FindStringSubmatch(f)
			if mm == nil || mm[1] != mm[2] || mm[1] != mm[4] {
				writeError(w, 400, "ErrorInvalidUrlQueryFilter", "The query filter contains one or more invalid nodes.")
				return
			}
			fid = strings.ReplaceAll(mm[3], "''", "'")
			fval = strings.ReplaceAll(mm[5], "''", "'")
			hasFilter = true
		}
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
		if byIMID && m.internetMessageID() != imid {
			continue
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
	ODataType    string     `json:"@odata.type"`
	Name         string     `json:"name"`
	ContentType  string     `json:"contentType"`
	ContentBytes b64Content `json:"contentBytes"`
	IsInline     bool       `json:"isInline"`
	ContentID    string     `json:"contentId"`
	Size         int64      `json:"size"`
}

// b64Content is an attachment's contentBytes, decoded from the request's
// bytes where they are: as a Go string it was copied twice more (into
// the string, and back into bytes for the base64 decoder), a megabyte
// each for a 1 MB attachment. What is accepted and refused is the same.
type b64Content struct {
	data []byte
	bad  bool // not valid base64: decodeAttachment refuses it
}

// UnmarshalJSON decodes a JSON string of base64. The request was
// validated as JSON before (json.Unmarshal checks it all first), so a
// string without a backslash is its bytes between the quotes.
func (c *b64Content) UnmarshalJSON(raw []byte) error {
	var text []byte
	if n := len(raw); n >= 2 && raw[0] == '"' && raw[n-1] == '"' && bytes.IndexByte(raw[1:n-1], '\\') < 0 {
		text = raw[1 : n-1]
	} else {
		var s *string // null leaves the value as it is, as for a string
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		if s == nil {
			return nil
		}
		text = []byte(*s)
	}
	data := make([]byte, base64.StdEncoding.DecodedLen(len(text)))
	n, err := base64.StdEncoding.Decode(data, text)
	*c = b64Content{data: data[:n], bad: err != nil}
	return nil
}

func decodeAttachment(a inAttachment) (*attachment, string) {
	if !strings.EqualFold(a.ODataType, "#microsoft.graph.fileAttachment") {
		return nil, "only #microsoft.graph.fileAttachment is supported by the emulator"
	}
	if a.Name == "" {
		return nil, "attachment name is required"
	}
	if a.ContentBytes.bad {
		return nil, "contentBytes is not valid base64"
	}
	data := a.ContentBytes.data
	if data == nil {
		data = []byte{}
	}
	return &attachment{name: a.Name, contentType: a.ContentType, isInline: a.IsInline, contentID: a.ContentID, data: data}, ""
}

// inlineAttachment decodes an attachment sent in a request body, which
// must be under 3 MB; false after an error answer.
func inlineAttachment(w http.ResponseWriter, a inAttachment) (*attachment, bool) {
	att, msg := decodeAttachment(a)
	if msg != "" {
		writeError(w, 400, "ErrorInvalidRequest", msg)
		return nil, false
	}
	if len(att.data) > maxInlineAttachment {
		writeError(w, 413, "RequestEntityTooLarge", "Attachments over 3 MB must be uploaded with an upload session.")
		return nil, false
	}
	return att, true
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
	in, as, attErr, fast, err := decodeCreate(body)
	var decoded *decodedAttachments
	if fast {
		decoded = &decodedAttachments{as: as, err: attErr}
	} else if err == nil {
		err = json.Unmarshal(body, &in)
	}
	if err != nil {
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
	isReadSet, ok := readMessageFields(w, m, in, decoded)
	if !ok {
		return
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

// decodedAttachments are a create's attachments decoded with the body
// (decodeCreate), and the error decoding them.
type decodedAttachments struct {
	as  []inAttachment
	err error
}

// readMessageFields sets m from a create's JSON properties in; it reports
// whether isRead was given, and false after answering an error. The
// attachments come from decoded when it is not nil; an error decoding
// them is answered before the other properties are read (the properties
// are read in no particular order, as they always were).
func readMessageFields(w http.ResponseWriter, m *message, in map[string]json.RawMessage, decoded *decodedAttachments) (isReadSet, ok bool) {
	if decoded != nil && decoded.err != nil {
		return false, addAttachments(w, m, decoded.as, decoded.err)
	}
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
					return false, false
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
					return false, false
				}
			}
			m.fields[k] = raw
		case "attachments":
			d := decoded
			if d == nil {
				d = new(decodedAttachments)
				d.err = json.Unmarshal(raw, &d.as)
			}
			if !addAttachments(w, m, d.as, d.err) {
				return false, false
			}
		default:
			m.fields[k] = raw
		}
		if err != nil {
			writeError(w, 400, "RequestBodyRead", "Cannot read property '"+k+"': "+err.Error())
			return false, false
		}
	}
	return isReadSet, true
}

// addAttachments adds a create's attachments to m, each checked as
// before, then answers err (from decoding them) if there is one; false
// after an answer.
func addAttachments(w http.ResponseWriter, m *message, as []inAttachment, err error) bool {
	for _, a := range as {
		att, ok := inlineAttachment(w, a)
		if !ok {
			return false
		}
		m.attachments = append(m.attachments, att)
	}
	if err != nil {
		writeError(w, 400, "RequestBodyRead", "Cannot read property 'attachments': "+err.Error())
		return false
	}
	return true
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
