package convert

import (
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

// Open returns a reader of the whole body, from the start. Its reads fill
// the caller's buffer across pieces: each read is one HTTP/2 DATA frame
// with its own TLS record and system call, so a read per piece, or per
// 4 KB of base64, multiplied those.
func (b *Body) Open() io.Reader {
	return &bodyReader{pieces: b.pieces}
}

// bodyReader reads a Body's pieces one after the other.
type bodyReader struct {
	pieces []piece
	lit    []byte    // what is left of the current literal piece
	att    io.Reader // the current attachment's base64, nil when none is open
}

func (r *bodyReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		switch {
		case len(r.lit) > 0:
			k := copy(p[n:], r.lit)
			r.lit = r.lit[k:]
			n += k
		case r.att != nil:
			k, err := r.att.Read(p[n:])
			n += k
			if err == io.EOF {
				r.att = nil
			} else if err != nil {
				return n, err
			}
		case len(r.pieces) > 0:
			pc := r.pieces[0]
			r.pieces = r.pieces[1:]
			if pc.att != nil {
				r.att = pc.att.base64()
			} else {
				r.lit = pc.lit
			}
		default:
			if n == 0 {
				return 0, io.EOF
			}
			return n, nil
		}
	}
	return n, nil
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
	return createBody(msg.marshal(), inline)
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

// base64 reads the standard base64 of a's bytes: a MIME part's own base64
// text where that is it already, as mailers write it (decoding it and
// encoding it again took 2.8 times as long: BenchmarkBase64Text_* in
// mailparse), else encoded as read.
func (a *Part) base64() io.Reader {
	if a.src != nil {
		if r, ok := a.src.Base64Text(); ok {
			return r
		}
	}
	return &b64Reader{src: a.Open()}
}

// b64Reader is the standard base64 of src, encoded 3 KB at a time,
// straight into the caller's buffer while it has room for whole quanta.
type b64Reader struct {
	src io.Reader
	in  [3 << 10]byte
	buf [4]byte // one quantum, when the caller's buffer has less room
	out []byte  // encoded, not yet returned (in buf)
	eof bool
}

// Read fills p as far as src goes.
func (r *b64Reader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(r.out) > 0 {
			k := copy(p[n:], r.out)
			r.out = r.out[k:]
			n += k
			continue
		}
		if r.eof {
			break
		}
		// Whole 3-byte groups for the room left; a short read of src
		// is its end, so only the last group is ever padded.
		m := min(len(r.in), (len(p)-n)/4*3)
		dst, viaBuf := p[n:], m == 0
		if viaBuf {
			m, dst = 3, r.buf[:]
		}
		k, err := io.ReadFull(r.src, r.in[:m])
		switch err {
		case nil:
		case io.EOF, io.ErrUnexpectedEOF:
			r.eof = true
		default:
			return n, err
		}
		e := base64.StdEncoding.EncodedLen(k)
		base64.StdEncoding.Encode(dst, r.in[:k])
		if viaBuf {
			r.out = r.buf[:e]
		} else {
			n += e
		}
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
}
