package mailparse

import (
	"bytes"
	"io"
	"strings"
	"testing"
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
