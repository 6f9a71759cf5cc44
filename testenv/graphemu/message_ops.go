package graphemu

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

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
		s.softDelete(mb, m)
		w.WriteHeader(http.StatusNoContent)
	case len(rest) == 0 && r.Method == http.MethodPatch:
		s.patchMessage(w, r, mb, m, body)
	case len(rest) == 1 && strings.EqualFold(rest[0], "permanentDelete") && r.Method == http.MethodPost:
		// The item goes to Recoverable Items/Purges, invisible to clients.
		s.mu.Lock()
		mb.removeMessage(m)
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
		s.moveLocked(mb, m, f)
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
			att, ok := inlineAttachment(w, a)
			if !ok {
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

// moveLocked puts m into f: a new regular id, the same immutable id.
// s.mu held.
func (s *Server) moveLocked(mb *mailbox, m *message, f *folder) {
	delete(mb.regular, m.regularID)
	m.regularID = s.newID("AAMkAGI2THVSAAA=")
	mb.regular[m.regularID] = m
	m.folderID = f.id
	m.modified = time.Now().UTC()
}

// softDelete is Exchange's DELETE of a message: it moves the item to
// Deleted Items, where the user sees it; an item already in Deleted Items
// (or below it) goes to Recoverable Items/Deletions.
func (s *Server) softDelete(mb *mailbox, m *message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	trash := mb.wellKnown["deleteditems"]
	if mb.within(m.folderID, trash) {
		mb.removeMessage(m)
		mb.deletions++
		return
	}
	s.moveLocked(mb, m, trash)
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
	if _, ok := in.Message["internetMessageId"]; !ok {
		// Exchange gives a message without one its own Message-ID.
		in.Message["internetMessageId"], _ = json.Marshal("<" + s.newID("emu") + "@" + domainOf(mb.address) + ">")
	}
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

func domainOf(address string) string {
	if i := strings.LastIndexByte(address, '@'); i >= 0 {
		return address[i+1:]
	}
	return "emu.invalid"
}
