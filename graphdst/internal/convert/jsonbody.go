package convert

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
)

// Body is a JSON request body assembled from literal pieces and the
// base64 of attachments, streamed: it holds no attachment bytes, can be
// opened again for a retry, and its size is known before it is sent.
type Body struct {
	pieces []piece
	size   int64
}

type piece struct {
	lit []byte
	att *Part // base64 of this part's bytes when set
}

// Size is the body's length in bytes.
func (b *Body) Size() int64 { return b.size }

// Open returns a reader of the whole body, from the start.
func (b *Body) Open() io.Reader {
	rs := make([]io.Reader, len(b.pieces))
	for i, p := range b.pieces {
		if p.att != nil {
			rs[i] = &b64Reader{src: p.att.Open()}
		} else {
			rs[i] = bytes.NewReader(p.lit)
		}
	}
	return io.MultiReader(rs...)
}

// Bytes reads the whole body into memory (for tests).
func (b *Body) Bytes() []byte {
	out, _ := io.ReadAll(b.Open())
	return out
}

func (b *Body) add(lit []byte) {
	b.pieces = append(b.pieces, piece{lit: lit})
	b.size += int64(len(lit))
}

// addAttachment appends a's fileAttachment JSON with its bytes in base64.
func (b *Body) addAttachment(a *Part) error {
	meta, err := json.Marshal(FileAttachment{ODataType: "#microsoft.graph.fileAttachment", Name: a.Name,
		ContentType: a.ContentType, IsInline: a.Inline, ContentID: a.ContentID})
	if err != nil {
		return err
	}
	b.add(append(meta[:len(meta)-1], `,"contentBytes":"`...))
	b.pieces = append(b.pieces, piece{att: a})
	b.size += (a.Size + 2) / 3 * 4
	b.add([]byte(`"}`))
	return nil
}

// CreateBody is the body of a message create: msg and its inline
// attachments.
func CreateBody(msg Message, inline []Part) (*Body, error) {
	head, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	return createBody(head, inline)
}

// CreateBody is the body of the planned create: the message JSON Pack
// measured and the inline attachments.
func (p *Plan) CreateBody() (*Body, error) {
	if len(p.Head) == 0 {
		return nil, errors.New("convert: plan without a message")
	}
	return createBody(p.Head, p.Inline)
}

func createBody(head []byte, inline []Part) (*Body, error) {
	b := &Body{}
	if len(inline) == 0 {
		b.add(head)
		return b, nil
	}
	b.add(append(head[:len(head)-1], `,"attachments":[`...))
	for i := range inline {
		if i > 0 {
			b.add([]byte(","))
		}
		if err := b.addAttachment(&inline[i]); err != nil {
			return nil, err
		}
	}
	b.add([]byte("]}"))
	return b, nil
}

// AttachmentBody is the body of a POST of one fileAttachment.
func AttachmentBody(a Part) (*Body, error) {
	b := &Body{}
	if err := b.addAttachment(&a); err != nil {
		return nil, err
	}
	return b, nil
}

// b64Reader is the standard base64 of src, encoded 3 KB at a time.
type b64Reader struct {
	src io.Reader
	in  [3 << 10]byte
	buf [4 << 10]byte
	out []byte
	eof bool
}

func (r *b64Reader) Read(p []byte) (int, error) {
	for len(r.out) == 0 {
		if r.eof {
			return 0, io.EOF
		}
		n, err := io.ReadFull(r.src, r.in[:])
		switch err {
		case nil:
		case io.EOF, io.ErrUnexpectedEOF:
			r.eof = true
		default:
			return 0, err
		}
		base64.StdEncoding.Encode(r.buf[:], r.in[:n])
		r.out = r.buf[:base64.StdEncoding.EncodedLen(n)]
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}
