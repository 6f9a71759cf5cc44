package mailparse

import (
	"bytes"
	"encoding/base64"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// FuzzDecodedReader: the stream is byte for byte what Decoded returns, with
// the same repair flag, for base64, quoted-printable and unencoded bodies.
func FuzzDecodedReader(f *testing.F) {
	for _, s := range []string{
		"aGVsbG8=", "aGVs bG8=\r\nd29y bGQ=", "aGVsbG8=d29ybGQ=", "aGVsbG8", "a", "!!aGk=", "====",
		strings.Repeat("QUJD", 3000) + "=\r\n" + strings.Repeat("REVG", 10),
		"caf=C3=A9=\r\nsoft\r\nhard =XY line\nlast", "=", "a=\r\n", "\r\n\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, enc := range []string{"base64", "quoted-printable", "7bit"} {
			p := &Part{Header: Header{Fields: []Field{{Name: "Content-Transfer-Encoding", Value: enc}}}, Body: []byte(body)}
			want, wantRep := p.Decoded()
			got, err := io.ReadAll(p.DecodedReader())
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%s: stream %q, Decoded %q (%v)", enc, got, want, err)
			}
			n, rep := p.DecodedSize()
			if n != int64(len(want)) || rep != wantRep {
				t.Fatalf("%s: DecodedSize %d %v, want %d %v", enc, n, rep, len(want), wantRep)
			}
		}
	})
}

func TestDecodedReader_Decodes(t *testing.T) {
	for enc, want := range map[string]string{"base64": "hello", "quoted-printable": "aGVsbG8", "7bit": "aGVsbG8="} {
		p := &Part{Header: Header{Fields: []Field{{Name: "Content-Transfer-Encoding", Value: enc}}}, Body: []byte("aGVsbG8=")}
		if got, _ := io.ReadAll(p.DecodedReader()); string(got) != want {
			t.Errorf("%s: %q, want %q", enc, got, want)
		}
	}
}

// FuzzBase64Text: where Base64Text takes a body as it is, what it reads is
// exactly the standard padded base64 of what Decoded returns, without a
// repair; whatever it turns down is left to decoding.
func FuzzBase64Text(f *testing.F) {
	for _, s := range []string{
		"aGVsbG8=", "aGVs bG8=\r\nd29y bGQ=", "aGVsbG8=d29ybGQ=", "aGVsbG8", "a", "!!aGk=", "====", "aGVsbG9=", "aGVsbG8==",
		strings.Repeat("QUJD", 3000) + "=\r\n" + strings.Repeat("REVG", 10), "aGk", "aGl", "=", "a=\r\n", "\r\n\r\n", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		p := &Part{Header: Header{Fields: []Field{{Name: "Content-Transfer-Encoding", Value: "base64"}}}, Body: []byte(body)}
		r, ok := p.Base64Text()
		if !ok {
			return
		}
		got, err := io.ReadAll(r)
		dec, rep := p.Decoded()
		want := base64.StdEncoding.EncodeToString(dec)
		if err != nil || string(got) != want || rep {
			t.Fatalf("%q: read %q (%v), want %q (the decoding repaired: %v)", body, got, err, want, rep)
		}
		// A byte at a time: every read ends in the middle of a line.
		r, _ = p.Base64Text()
		if got, err := io.ReadAll(iotest.OneByteReader(r)); err != nil || string(got) != want {
			t.Fatalf("%q: read a byte at a time %q (%v), want %q", body, got, err, want)
		}
	})
}

// Base64 as mailers write it (lines of 76, CRLF, LF, a missing padding) is
// taken as it is; a body decoding would repair, or whose text is not the
// standard encoding of its bytes, is not.
func TestBase64Text_TakesMailersBase64(t *testing.T) {
	data := make([]byte, 10_001)
	for i := range data {
		data[i] = byte(i * 7)
	}
	enc := base64.StdEncoding.EncodeToString(data)
	var crlf, lf strings.Builder
	for i := 0; i < len(enc); i += 76 {
		crlf.WriteString(enc[i:min(i+76, len(enc))] + "\r\n")
		lf.WriteString(enc[i:min(i+76, len(enc))] + "\n")
	}
	for body, want := range map[string]bool{
		crlf.String(): true, lf.String(): true, strings.TrimRight(enc, "="): true, " " + enc + " \r\n\r\n": true,
		"aGVsbG8=d29ybGQ=": false, // padding inside
		"aGVsbG9=":         false, // unused bits set
		"aGVsbG8==":        false, // more padding than the quantum has
		"!!aGk=":           false, // a stray character
		"aGVsbG8gd":        false, // a lone last character
	} {
		p := &Part{Header: Header{Fields: []Field{{Name: "Content-Transfer-Encoding", Value: "base64"}}}, Body: []byte(body)}
		r, ok := p.Base64Text()
		if ok != want {
			t.Errorf("%.40q: taken as it is: %v, want %v", body, ok, want)
			continue
		}
		if ok {
			dec, _ := p.Decoded()
			if got, _ := io.ReadAll(r); string(got) != base64.StdEncoding.EncodeToString(dec) {
				t.Errorf("%.40q: read %.40q", body, got)
			}
		}
	}
	p := &Part{Header: Header{Fields: []Field{{Name: "Content-Transfer-Encoding", Value: "quoted-printable"}}}, Body: []byte("aGk=")}
	if _, ok := p.Base64Text(); ok {
		t.Error("a quoted-printable part taken as base64")
	}
}
