package graphdst

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/imapmig/imapmig/migrate"
)

const (
	// maxRequestBody is Graph's request body limit.
	maxRequestBody = 4 << 20
	// createBudget is what a create body may use, with room for JSON slack.
	createBudget = maxRequestBody - 96<<10
	// inlineMax is the largest attachment sent inline or with one POST
	// (its base64 must fit a 4 MB body); larger ones use upload sessions.
	inlineMax = 3_000_000
	// uploadChunk is the size of one upload-session PUT (a multiple of
	// 320 KiB, under 4 MB).
	uploadChunk = 12 * 320 << 10
	// maxAttachment is Graph's upload-session limit.
	maxAttachment = 150 << 20
	// discardTimeout bounds the removal of an incomplete item after a
	// failed create.
	discardTimeout = 30 * time.Second
)

// Mailbox is one destination mailbox; it implements migrate.Mailbox.
type Mailbox struct {
	t       *Target
	address string
	user    string // path-escaped address
	id      string // directory object id
	g       *governor

	fmu     sync.Mutex
	folders map[string]string // path key → folder id
}

var _ migrate.Mailbox = (*Mailbox)(nil)

// ID is the mailbox's directory object id.
func (m *Mailbox) ID() string { return m.id }

func (m *Mailbox) path(p string) string { return "/users/" + m.user + p }

func odataQuery(v url.Values) string {
	return strings.ReplaceAll(v.Encode(), "+", "%20")
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func (m *Mailbox) get(ctx context.Context, p string) (*response, error) {
	return m.t.do(ctx, m.g, request{method: http.MethodGet, url: p, idempotent: true})
}

func (m *Mailbox) jsonReq(ctx context.Context, method, p string, v any, idempotent bool) (*response, request, error) {
	b, err := jsonMarshal(v)
	if err != nil {
		return nil, request{}, migrate.Fatal(err)
	}
	rq := request{method: method, url: p, body: b, idempotent: idempotent}
	resp, err := m.t.do(ctx, m.g, rq)
	return resp, rq, err
}

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
		if err := jsonUnmarshal(resp.body, &f); err != nil || f.ID == "" {
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
		cid, err := m.childFolder(ctx, id, name)
		if err != nil {
			return "", err
		}
		m.folders[key] = cid
		id = cid
	}
	return id, nil
}

func (m *Mailbox) findChild(ctx context.Context, parentID, name string) (string, bool, error) {
	q := url.Values{"$filter": {"displayName eq " + quote(name)}, "$select": {"id,displayName"}}
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
	if err := jsonUnmarshal(resp.body, &l); err != nil {
		return "", false, migrate.Retryable(fmt.Errorf("graphdst: folder list: %w", err))
	}
	for _, f := range l.Value {
		if strings.EqualFold(f.DisplayName, name) {
			return f.ID, true, nil
		}
	}
	return "", false, nil
}

func (m *Mailbox) childFolder(ctx context.Context, parentID, name string) (string, error) {
	if id, ok, err := m.findChild(ctx, parentID, name); err != nil || ok {
		return id, err
	}
	p := m.path("/mailFolders/" + url.PathEscape(parentID) + "/childFolders")
	// A retried create after a lost response gets ErrorFolderExists, which
	// is handled by lookup, so the create counts as idempotent.
	resp, rq, err := m.jsonReq(ctx, http.MethodPost, p, map[string]string{"displayName": name}, true)
	if err != nil {
		return "", err
	}
	switch resp.status {
	case http.StatusCreated, http.StatusOK:
		var f struct{ ID string }
		if err := jsonUnmarshal(resp.body, &f); err != nil || f.ID == "" {
			return "", migrate.Retryable(errors.New("graphdst: folder create: bad response"))
		}
		return f.ID, nil
	case http.StatusConflict:
		ge := m.t.graphError(rq, resp)
		if ge.Code != "ErrorFolderExists" {
			return "", classify(ge)
		}
		id, ok, err := m.findChild(ctx, parentID, name)
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

// plan splits a converted message into what goes in the create request and
// what is added afterwards.
type plan struct {
	inline  []part
	post    []part // < inlineMax, one POST each
	session []part // upload sessions
}

func packMessage(c *converted) (*plan, []byte, error) {
	base, err := jsonMarshal(c.msg)
	if err != nil {
		return nil, nil, migrate.SkipItem(migrate.ReasonMalformedMessage, err)
	}
	if len(base) > createBudget/2 {
		// A huge body: keep it as an attachment and say so in the body.
		name, ct := "body.txt", "text/plain"
		if c.msg.Body.ContentType == "html" {
			name, ct = "body.html", "text/html"
		}
		c.attachments = append([]part{{name: name, contentType: ct, data: []byte(c.msg.Body.Content)}}, c.attachments...)
		c.msg.Body = itemBody{ContentType: "text", Content: "The body of this message was too large to show here; it is attached as " + name + "."}
		c.notes = append(c.notes, migrate.NoteBodyStoredAsAttachment)
		if base, err = jsonMarshal(c.msg); err != nil {
			return nil, nil, migrate.SkipItem(migrate.ReasonMalformedMessage, err)
		}
		if len(base) > createBudget/2 {
			return nil, nil, migrate.SkipItem(migrate.ReasonMessageTooLarge, errors.New("message headers exceed Graph's request size"))
		}
	}
	p := &plan{}
	size := len(base)
	for _, a := range c.attachments {
		switch {
		case len(a.data) > maxAttachment:
			return nil, nil, migrate.SkipItem(migrate.ReasonMessageTooLarge, fmt.Errorf("attachment %q is %d bytes, over Graph's 150 MB", a.name, len(a.data)))
		case len(a.data) > inlineMax:
			p.session = append(p.session, a)
		default:
			enc := (len(a.data)+2)/3*4 + len(a.name) + len(a.contentType) + len(a.contentID) + 256
			if size+enc <= createBudget {
				p.inline = append(p.inline, a)
				size += enc
			} else {
				p.post = append(p.post, a)
			}
		}
	}
	for _, a := range p.inline {
		c.msg.Attachments = append(c.msg.Attachments, toFileAttachment(a))
	}
	return p, nil, nil
}

func toFileAttachment(a part) fileAttachment {
	return fileAttachment{ODataType: "#microsoft.graph.fileAttachment", Name: a.name, ContentType: a.contentType, ContentBytes: a.data, IsInline: a.inline, ContentID: a.contentID}
}

// Create implements migrate.Mailbox. Messages are created as JSON with the
// extended properties of DESIGN §4. A message with attachments that do not
// fit the create request is created under a pending source key, completed,
// and then given its real key, so a lookup never finds a half-made item.
func (m *Mailbox) Create(ctx context.Context, folderID string, nm migrate.NewMessage) (string, error) {
	id, _, err := m.CreateNoted(ctx, folderID, nm)
	return id, err
}

var _ migrate.NotingCreator = (*Mailbox)(nil)

// CreateNoted implements migrate.NotingCreator: Create, and how the message
// was stored when it was not a plain copy (S/MIME, unparseable, huge body).
func (m *Mailbox) CreateNoted(ctx context.Context, folderID string, nm migrate.NewMessage) (string, []string, error) {
	id, conv, err := m.create(ctx, folderID, nm)
	if err != nil || conv == nil {
		return id, nil, err
	}
	return id, conv.notes, nil
}

func (m *Mailbox) create(ctx context.Context, folderID string, nm migrate.NewMessage) (string, *converted, error) {
	if nm.Body == nil {
		return "", nil, migrate.SkipItem(migrate.ReasonMalformedMessage, errors.New("no body"))
	}
	rc, err := nm.Body.Open()
	if err != nil {
		return "", nil, migrate.Retryable(fmt.Errorf("graphdst: open spool: %w", err))
	}
	raw, err := io.ReadAll(rc)
	_ = rc.Close()
	if err != nil {
		return "", nil, migrate.Retryable(fmt.Errorf("graphdst: read spool: %w", err))
	}
	key := nm.Meta.SourceKey
	if key == "" {
		key = migrate.HeaderHash(migrate.HeaderBlock(raw))
	}
	conv, err := convert(raw, nm)
	if err != nil {
		return "", nil, err
	}
	pl, _, err := packMessage(conv)
	if err != nil {
		return "", nil, err
	}
	needsMore := len(pl.post)+len(pl.session) > 0
	createKey := key
	if needsMore {
		createKey = pendingPrefix + key
		// A pending item left by an earlier, interrupted attempt is
		// incomplete: remove it before starting again.
		if id, found, err := m.LookupKey(ctx, folderID, createKey); err != nil {
			return "", nil, err
		} else if found {
			if err := m.permanentDelete(ctx, id); err != nil {
				return "", nil, err
			}
		}
	}
	conv.msg.Props = append(conv.msg.Props, extp(SourceKeyProperty, createKey))
	body, err := jsonMarshal(conv.msg)
	if err != nil {
		return "", nil, migrate.SkipItem(migrate.ReasonMalformedMessage, err)
	}
	id, err := m.createResolved(ctx, folderID, body, createKey)
	if err != nil {
		return "", nil, err
	}
	if !needsMore {
		return id, conv, nil
	}
	if err := m.complete(ctx, id, key, pl); err != nil {
		// The item is incomplete: remove it now, so that nothing is left
		// behind if the source message is gone before the retry.
		m.discardPending(ctx, id)
		return "", nil, err
	}
	return id, conv, nil
}

// complete adds the attachments that did not fit the create and then gives
// the pending item its real source key.
func (m *Mailbox) complete(ctx context.Context, id, key string, pl *plan) error {
	for i, a := range pl.post {
		if err := m.postAttachment(ctx, id, a, pl.post[:i]); err != nil {
			return err
		}
	}
	for _, a := range pl.session {
		if err := m.uploadAttachment(ctx, id, a); err != nil {
			return err
		}
	}
	resp, rq, err := m.jsonReq(ctx, http.MethodPatch, m.path("/messages/"+url.PathEscape(id)),
		map[string]any{"singleValueExtendedProperties": []extProp{extp(SourceKeyProperty, key)}}, true)
	if err != nil {
		return err
	}
	if resp.status != http.StatusOK {
		return classify(m.t.graphError(rq, resp))
	}
	return nil
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

// permanentDelete removes an item of the tool's own making for good
// (Recoverable Items/Purges, invisible to the user): never a soft DELETE,
// which would put an incomplete copy in the user's Deleted Items (DESIGN §4).
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

var _ migrate.PendingSweeper = (*Mailbox)(nil)

// SweepPending implements migrate.PendingSweeper: it permanently deletes
// the folder's incomplete items (created under a "pending:" key by a large
// create that never finished, e.g. killed mid-upload) and returns how many.
// Call it only while no create into the folder is in flight.
func (m *Mailbox) SweepPending(ctx context.Context, folderID string) (int, error) {
	var ids []string
	if err := m.scanKeys(ctx, folderID, func(key, id string) error {
		if strings.HasPrefix(key, pendingPrefix) {
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

// createResolved posts a create; when its outcome is unknown it looks the
// key up before any retry, so a create is never duplicated.
func (m *Mailbox) createResolved(ctx context.Context, folderID string, body []byte, key string) (string, error) {
	rq := request{method: http.MethodPost, url: m.path("/mailFolders/" + url.PathEscape(folderID) + "/messages"), body: body}
	for attempt := 0; ; attempt++ {
		resp, err := m.t.do(ctx, m.g, rq)
		var ae *ambiguousError
		if errors.As(err, &ae) {
			m.g.ambiguous.Add(1)
			id, found, lerr := m.LookupKey(ctx, folderID, key)
			if lerr != nil {
				return "", lerr
			}
			if found {
				m.t.log.Debug("ambiguous create resolved by lookup", "mailbox", m.id, "found", true)
				return id, nil
			}
			if attempt+1 >= m.t.budget.MaxAttempts {
				return "", migrate.Retryable(ae)
			}
			m.g.retried.Add(1)
			if err := m.t.backoff(ctx, attempt); err != nil {
				return "", err
			}
			continue
		}
		if err != nil {
			return "", err
		}
		if resp.status != http.StatusCreated && resp.status != http.StatusOK {
			ge := m.t.graphError(rq, resp)
			if resp.status == http.StatusRequestEntityTooLarge {
				return "", migrate.SkipItem(migrate.ReasonMessageTooLarge, ge)
			}
			if resp.status == http.StatusNotFound {
				return "", migrate.Retryable(fmt.Errorf("%w: %w", migrate.ErrFolderGone, ge))
			}
			return "", classify(ge)
		}
		var v struct{ ID string }
		if err := jsonUnmarshal(resp.body, &v); err != nil || v.ID == "" {
			return "", migrate.Retryable(errors.New("graphdst: create: response without id"))
		}
		return v.ID, nil
	}
}

type attachmentInfo struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
}

func (m *Mailbox) attachments(ctx context.Context, itemID string) ([]attachmentInfo, error) {
	resp, err := m.get(ctx, m.path("/messages/"+url.PathEscape(itemID)+"/attachments?$select=name,size"))
	if err != nil {
		return nil, err
	}
	if resp.status != http.StatusOK {
		return nil, classify(m.t.graphError(request{method: "GET", url: "attachments"}, resp))
	}
	var l struct{ Value []attachmentInfo }
	if err := jsonUnmarshal(resp.body, &l); err != nil {
		return nil, migrate.Retryable(err)
	}
	return l.Value, nil
}

// postAttachment adds one small attachment. After an unknown outcome it
// counts the item's attachments of that name and size before retrying.
func (m *Mailbox) postAttachment(ctx context.Context, itemID string, a part, before []part) error {
	b, err := jsonMarshal(toFileAttachment(a))
	if err != nil {
		return migrate.SkipItem(migrate.ReasonMalformedMessage, err)
	}
	rq := request{method: http.MethodPost, url: m.path("/messages/" + url.PathEscape(itemID) + "/attachments"), body: b}
	for attempt := 0; ; attempt++ {
		resp, err := m.t.do(ctx, m.g, rq)
		var ae *ambiguousError
		if errors.As(err, &ae) {
			have, lerr := m.attachments(ctx, itemID)
			if lerr != nil {
				return lerr
			}
			want := 0
			for _, p := range before {
				if p.name == a.name && len(p.data) == len(a.data) {
					want++
				}
			}
			got := 0
			for _, h := range have {
				if h.Name == a.name && h.Size == int64(len(a.data)) {
					got++
				}
			}
			if got > want {
				return nil
			}
			if attempt+1 >= m.t.budget.MaxAttempts {
				return migrate.Retryable(ae)
			}
			continue
		}
		if err != nil {
			return err
		}
		if resp.status != http.StatusCreated && resp.status != http.StatusOK {
			return classify(m.t.graphError(rq, resp))
		}
		return nil
	}
}

// uploadAttachment sends one large attachment through an upload session:
// PUTs of at most 4 MB with Content-Range and no Authorization header. After
// an unknown outcome it asks the session where to resume.
func (m *Mailbox) uploadAttachment(ctx context.Context, itemID string, a part) error {
	item := map[string]any{"AttachmentItem": map[string]any{
		"attachmentType": "file", "name": a.name, "size": len(a.data),
		"contentType": a.contentType, "isInline": a.inline, "contentId": a.contentID,
	}}
	resp, rq, err := m.jsonReq(ctx, http.MethodPost, m.path("/messages/"+url.PathEscape(itemID)+"/attachments/createUploadSession"), item, true)
	if err != nil {
		return err
	}
	if resp.status != http.StatusCreated && resp.status != http.StatusOK {
		return classify(m.t.graphError(rq, resp))
	}
	var sess struct {
		UploadURL string `json:"uploadUrl"`
	}
	if err := jsonUnmarshal(resp.body, &sess); err != nil || sess.UploadURL == "" {
		return migrate.Retryable(errors.New("graphdst: upload session without uploadUrl"))
	}
	total := len(a.data)
	off := 0
	failures := 0
	for off < total {
		end := min(off+uploadChunk, total)
		prq := request{
			method: http.MethodPut, url: sess.UploadURL, body: a.data[off:end], noAuth: true,
			contentType: "application/octet-stream",
			header:      map[string]string{"Content-Range": fmt.Sprintf("bytes %d-%d/%d", off, end-1, total)},
		}
		resp, err := m.t.do(ctx, m.g, prq)
		var ae *ambiguousError
		if errors.As(err, &ae) || (err == nil && resp.status == http.StatusRequestedRangeNotSatisfiable) {
			failures++
			if failures > m.t.budget.MaxAttempts {
				return migrate.Retryable(fmt.Errorf("graphdst: upload of %q keeps failing: %w", a.name, err))
			}
			next, done, serr := m.sessionOffset(ctx, sess.UploadURL)
			if serr != nil {
				return serr
			}
			if done {
				return nil
			}
			off = next
			continue
		}
		if err != nil {
			return err
		}
		switch resp.status {
		case http.StatusOK, http.StatusAccepted:
			off = end
		case http.StatusCreated:
			return nil
		default:
			return classify(m.t.graphError(prq, resp))
		}
	}
	return nil
}

func (m *Mailbox) sessionOffset(ctx context.Context, uploadURL string) (next int, done bool, err error) {
	resp, err := m.t.do(ctx, m.g, request{method: http.MethodGet, url: uploadURL, noAuth: true, idempotent: true})
	if err != nil {
		return 0, false, err
	}
	if resp.status == http.StatusNotFound {
		// The session is gone: the last PUT completed it.
		return 0, true, nil
	}
	var s struct {
		NextExpectedRanges []string `json:"nextExpectedRanges"`
	}
	if jsonUnmarshal(resp.body, &s) != nil || len(s.NextExpectedRanges) == 0 {
		return 0, false, migrate.Retryable(errors.New("graphdst: upload session status unreadable"))
	}
	a, _, _ := strings.Cut(s.NextExpectedRanges[0], "-")
	n, perr := strconv.Atoi(a)
	if perr != nil {
		return 0, false, migrate.Retryable(errors.New("graphdst: upload session status unreadable"))
	}
	return n, false, nil
}

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
	resp, rq, err := m.jsonReq(ctx, http.MethodPost, m.path("/messages/"+url.PathEscape(itemID)+"/move"), map[string]string{"destinationId": destFolderID}, true)
	if err != nil {
		return "", err
	}
	if resp.status != http.StatusCreated && resp.status != http.StatusOK {
		return "", classify(m.t.graphError(rq, resp))
	}
	var v struct{ ID string }
	if err := jsonUnmarshal(resp.body, &v); err != nil || v.ID == "" {
		return "", migrate.Retryable(errors.New("graphdst: move: response without id"))
	}
	return v.ID, nil
}

// Delete implements migrate.Mailbox.
func (m *Mailbox) Delete(ctx context.Context, itemID string) error {
	rq := request{method: http.MethodDelete, url: m.path("/messages/" + url.PathEscape(itemID)), idempotent: true}
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

type keyedPage struct {
	Value []struct {
		ID    string    `json:"id"`
		Props []extProp `json:"singleValueExtendedProperties"`
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
		if err := jsonUnmarshal(resp.body, &pg); err != nil {
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
	if err := jsonUnmarshal(resp.body, &pg); err != nil {
		return "", false, migrate.Retryable(fmt.Errorf("graphdst: lookup: %w", err))
	}
	if len(pg.Value) == 0 {
		return "", false, nil
	}
	return pg.Value[0].ID, true, nil
}

// PacingUntil implements migrate.Pacer: until when this mailbox's requests
// wait for Graph's budget (the governor's windows or a 429's Retry-After);
// a time in the past when none waits.
func (m *Mailbox) PacingUntil() time.Time { return m.g.pacingUntil() }
