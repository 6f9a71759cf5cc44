package graphdst

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/imapmig/imapmig/graphdst/internal/convert"
	"github.com/imapmig/imapmig/migrate"
)

// Create implements migrate.Mailbox. Messages are created as JSON with the
// extended properties of docs/HOW-MAIL-IS-COPIED.md, "Writing to Exchange
// Online". A message whose attachments do not fit the create request is built in the hidden staging folder and moved into
// place when complete (staging.go), so no one ever sees a partial item.
func (m *Mailbox) Create(ctx context.Context, folderID string, nm migrate.NewMessage) (string, error) {
	id, _, err := m.CreateNoted(ctx, folderID, nm)
	return id, err
}

var _ migrate.NotingCreator = (*Mailbox)(nil)

// CreateNoted implements migrate.NotingCreator: Create, and how the message
// was stored when it was not a plain copy (S/MIME, unparseable, huge body).
func (m *Mailbox) CreateNoted(ctx context.Context, folderID string, nm migrate.NewMessage) (string, []string, error) {
	return m.create(ctx, folderID, nm)
}

// create is CreateNoted. Once the message is packed, only the plan, the
// raw message (attachments are read from it) and the notes are kept: the
// converted message, its decoded body text above all, is garbage while
// the create is in flight.
func (m *Mailbox) create(ctx context.Context, folderID string, nm migrate.NewMessage) (string, []string, error) {
	if nm.Body == nil {
		return "", nil, migrate.SkipItem(migrate.ReasonMalformedMessage, errors.New("no body"))
	}
	sp, err := loadSpool(nm.Body)
	if err != nil {
		return "", nil, migrate.Retryable(fmt.Errorf("graphdst: read spool: %w", err))
	}
	// The attachments are read from sp.raw until the create is done.
	defer sp.release()
	raw := sp.raw
	key := nm.Meta.SourceKey
	if key == "" {
		key = migrate.HeaderHash(migrate.HeaderBlock(raw))
	}
	conv, err := convert.ConvertReleasing(raw, nm, sp.dropped)
	if err != nil {
		return "", nil, err
	}
	conv.Msg.Props = append(conv.Msg.Props, convert.Ext(SourceKeyProperty, key))
	pl, err := convert.Pack(conv)
	if err != nil {
		return "", nil, err
	}
	notes := conv.Notes // conv is not used below: the GC may take it
	body, err := pl.CreateBody()
	if err != nil {
		return "", nil, migrate.SkipItem(migrate.ReasonMalformedMessage, err)
	}
	var id string
	if pl.More() {
		sp.drop() // parsed: the upload reads the pages it needs again
		id, err = m.createStaged(ctx, folderID, key, body, pl)
	} else {
		id, err = m.createResolved(ctx, folderID, body, key)
	}
	if err != nil {
		return "", nil, err
	}
	return id, notes, nil
}

// complete adds the attachments that did not fit the create.
func (m *Mailbox) complete(ctx context.Context, id string, pl *convert.Plan) error {
	for i, a := range pl.Post {
		if err := m.postAttachment(ctx, id, a, pl.Post[:i]); err != nil {
			return err
		}
	}
	for _, a := range pl.Session {
		if err := m.uploadAttachment(ctx, id, a); err != nil {
			return err
		}
	}
	return nil
}

func (m *Mailbox) createResolved(ctx context.Context, folderID string, body streamBody, key string) (string, error) {
	var found, id string
	rq := request{method: http.MethodPost, url: m.path("/mailFolders/" + url.PathEscape(folderID) + "/messages"), stream: body,
		resolve: func(ctx context.Context) (bool, error) {
			fid, ok, err := m.LookupKey(ctx, folderID, key)
			found = fid
			return ok, err
		},
		scan: func(answer []byte) { id = createdID(answer) }}
	m.filling(folderID)
	resp, err := m.t.do(ctx, m.g, rq)
	if err != nil {
		return "", err
	}
	if resp.resolved {
		return found, nil
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
	if id == "" {
		return "", migrate.Retryable(errors.New("graphdst: create: response without id"))
	}
	return id, nil
}

// createdID is the top-level "id" of a create's answer. Graph answers with
// the whole message (its body included), so the answer is scanned, not
// decoded: strings are skipped with bytes.IndexByte, and only the id (and a
// key written with escapes) is unquoted. Empty when the answer is not an
// object with a string id before anything malformed.
func createdID(body []byte) string {
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return ""
	}
	for i, first := i+1, true; ; first = false {
		i = skipSpace(body, i)
		if !first {
			if i >= len(body) || body[i] != ',' {
				return "" // the end, '}', or not JSON
			}
			i = skipSpace(body, i+1)
		}
		if i >= len(body) || body[i] != '"' {
			return "" // the end, '}', or not JSON
		}
		end, esc := skipString(body, i)
		if end < 0 {
			return ""
		}
		key := body[i:end]
		i = skipSpace(body, end)
		if i >= len(body) || body[i] != ':' {
			return ""
		}
		i = skipSpace(body, i+1)
		if isIDKey(key, esc) {
			if i >= len(body) || body[i] != '"' {
				return ""
			}
			end, esc := skipString(body, i)
			if end < 0 {
				return ""
			}
			if v := body[i+1 : end-1]; !esc && utf8.Valid(v) {
				return string(v)
			}
			var id string
			if json.Unmarshal(body[i:end], &id) != nil {
				return ""
			}
			return id
		}
		if i = skipValue(body, i); i < 0 {
			return ""
		}
	}
}

func isIDKey(quoted []byte, esc bool) bool {
	if !esc {
		return string(quoted) == `"id"`
	}
	var k string
	return json.Unmarshal(quoted, &k) == nil && k == "id"
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// skipString is the index after the JSON string that starts at b[i] (a
// quote) and whether it holds escapes; -1 when it does not end.
func skipString(b []byte, i int) (int, bool) {
	esc := false
	for j := i + 1; ; {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return -1, esc
		}
		q := j + k
		bs := 0 // backslashes right before the quote
		for bs < q-j && b[q-1-bs] == '\\' {
			bs++
		}
		esc = esc || bytes.IndexByte(b[j:q], '\\') >= 0
		if bs%2 == 0 {
			return q + 1, esc
		}
		j = q + 1
	}
}

// skipValue is the index after the JSON value that starts at b[i]; -1
// when it is cut short. Objects and arrays are skipped by depth, their
// strings by skipString; literals and numbers up to the next delimiter.
func skipValue(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch c := b[i]; c {
		case '"':
			end, _ := skipString(b, i)
			if end < 0 {
				return -1
			}
			i = end
		case '{', '[':
			depth++
			i++
		case '}', ']':
			if depth == 0 {
				return i // the end of the enclosing object
			}
			depth--
			i++
		case ',':
			if depth == 0 {
				return i
			}
			i++
		default:
			i++
		}
		if depth == 0 && i < len(b) && (b[i] == ',' || b[i] == '}' || b[i] == ']' || b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
			return i
		}
	}
	if depth == 0 {
		return i
	}
	return -1
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
	if err := json.Unmarshal(resp.body, &l); err != nil {
		return nil, migrate.Retryable(err)
	}
	return l.Value, nil
}

// postAttachment adds one small attachment. After an unknown outcome it
// counts the item's attachments of that name and size: one more than the
// attachments before it of the same name and size means it took effect.
func (m *Mailbox) postAttachment(ctx context.Context, itemID string, a convert.Part, before []convert.Part) error {
	b, err := convert.AttachmentBody(a)
	if err != nil {
		return migrate.SkipItem(migrate.ReasonMalformedMessage, err)
	}
	rq := request{method: http.MethodPost, url: m.path("/messages/" + url.PathEscape(itemID) + "/attachments"), stream: b,
		resolve: func(ctx context.Context) (bool, error) {
			have, err := m.attachments(ctx, itemID)
			if err != nil {
				return false, err
			}
			want, got := 0, 0
			for _, p := range before {
				if p.Name == a.Name && p.Size == a.Size {
					want++
				}
			}
			for _, h := range have {
				if h.Name == a.Name && h.Size == a.Size {
					got++
				}
			}
			return got > want, nil
		}}
	resp, err := m.t.do(ctx, m.g, rq)
	if err != nil {
		return err
	}
	if !resp.resolved && resp.status != http.StatusCreated && resp.status != http.StatusOK {
		return classify(m.t.graphError(rq, resp))
	}
	return nil
}

// uploadAttachment sends one large attachment through an upload session:
// PUTs of at most 4 MB with Content-Range and no Authorization header. After
// an unknown outcome it asks the session where to resume.
func (m *Mailbox) uploadAttachment(ctx context.Context, itemID string, a convert.Part) error {
	item := map[string]any{"AttachmentItem": map[string]any{
		"attachmentType": "file", "name": a.Name, "size": a.Size,
		"contentType": a.ContentType, "isInline": a.Inline, "contentId": a.ContentID,
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
	if err := json.Unmarshal(resp.body, &sess); err != nil || sess.UploadURL == "" {
		return migrate.Retryable(errors.New("graphdst: upload session without uploadUrl"))
	}
	total := a.Size
	src := &chunkReader{part: a}
	var off int64
	failures := 0
	for off < total {
		end := min(off+uploadChunk, total)
		next, done := end, false
		prq := request{
			method: http.MethodPut, url: sess.UploadURL, stream: src.chunk(off, end), noAuth: true,
			contentType: "application/octet-stream",
			header:      map[string]string{"Content-Range": fmt.Sprintf("bytes %d-%d/%d", off, end-1, total)},
			// After an unknown outcome the session says where to resume.
			resolve: func(ctx context.Context) (bool, error) {
				var err error
				next, done, err = m.sessionOffset(ctx, sess.UploadURL)
				return err == nil, err
			},
		}
		resp, err := m.t.do(ctx, m.g, prq)
		if err != nil {
			return err
		}
		switch {
		case resp.resolved || resp.status == http.StatusRequestedRangeNotSatisfiable:
			if failures++; failures > m.t.budget.MaxAttempts {
				return migrate.Retryable(fmt.Errorf("graphdst: upload of %q keeps failing", a.Name))
			}
			if !resp.resolved {
				if next, done, err = m.sessionOffset(ctx, sess.UploadURL); err != nil {
					return err
				}
			}
		case resp.status == http.StatusCreated:
			return nil
		case resp.status != http.StatusOK && resp.status != http.StatusAccepted:
			return classify(m.t.graphError(prq, resp))
		}
		if done {
			return nil
		}
		off = next
	}
	return nil
}

// chunkReader streams an attachment's upload chunks from one reader of its
// bytes, in order, holding none of them: a chunk's body (chunkBody) reads
// on from where the chunk before it ended. A chunk sent again (a retry, a
// resumed session) reads its part again from the start up to the chunk,
// which costs CPU but no memory.
type chunkReader struct {
	part convert.Part
	mu   sync.Mutex
	r    io.Reader
	pos  int64  // bytes read from r
	gen  uint64 // the current body's; an older body's reads fail
}

// errStaleChunk is a read of a chunk body opened again since.
var errStaleChunk = errors.New("graphdst: upload chunk reopened")

// chunk is the body of the bytes [off, end) of the part.
func (c *chunkReader) chunk(off, end int64) *chunkBody {
	return &chunkBody{c: c, off: off, n: end - off}
}

// chunkBody is one chunk as a request body (streamBody).
type chunkBody struct {
	c      *chunkReader
	off, n int64
}

func (b *chunkBody) Size() int64 { return b.n }

// Open positions the part's reader at the chunk's start; the reader it
// returns ends the use of any opened before it.
func (b *chunkBody) Open() io.Reader {
	c := b.c
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	r := &chunkStream{c: c, gen: c.gen, left: b.n}
	if c.r == nil || b.off < c.pos {
		c.r, c.pos = c.part.Open(), 0
	}
	if b.off > c.pos {
		n, err := io.CopyN(io.Discard, c.r, b.off-c.pos)
		c.pos += n
		if err != nil {
			r.err = err
		}
	}
	return r
}

// chunkStream reads one opened chunk.
type chunkStream struct {
	c    *chunkReader
	gen  uint64
	left int64
	err  error
}

func (s *chunkStream) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.left <= 0 {
		return 0, io.EOF
	}
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.gen != c.gen {
		s.err = errStaleChunk
		return 0, s.err
	}
	if int64(len(p)) > s.left {
		p = p[:s.left]
	}
	n, err := c.r.Read(p)
	c.pos += int64(n)
	s.left -= int64(n)
	if err == io.EOF && s.left > 0 {
		err = io.ErrUnexpectedEOF // the part is shorter than its size
	}
	if err == io.EOF {
		err = nil
	}
	if err != nil {
		s.err = err
	}
	return n, err
}

func (m *Mailbox) sessionOffset(ctx context.Context, uploadURL string) (next int64, done bool, err error) {
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
	if json.Unmarshal(resp.body, &s) != nil || len(s.NextExpectedRanges) == 0 {
		return 0, false, migrate.Retryable(errors.New("graphdst: upload session status unreadable"))
	}
	a, _, _ := strings.Cut(s.NextExpectedRanges[0], "-")
	n, perr := strconv.ParseInt(a, 10, 64)
	if perr != nil {
		return 0, false, migrate.Retryable(errors.New("graphdst: upload session status unreadable"))
	}
	return n, false, nil
}
