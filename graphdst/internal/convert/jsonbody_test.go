package convert

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/imapmig/imapmig/mailparse"
)

// bodyParts are attachments of every length modulo 3 around the reader's
// 3 KB input block, one decoded from a base64 MIME part as mail has it.
func bodyParts(t *testing.T) []Part {
	t.Helper()
	r := rand.New(rand.NewPCG(7, 8))
	data := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	var ps []Part
	for i, n := range []int{0, 1, 2, 3, 3071, 3072, 3073, 100_000} {
		ps = append(ps, bytesPart("a"+strings.Repeat("x", i)+".bin", "application/octet-stream", data(n)))
	}
	enc := base64.StdEncoding.EncodeToString(data(50_001))
	var mime strings.Builder
	mime.WriteString("Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	for len(enc) > 76 {
		mime.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	mime.WriteString(enc + "\r\n")
	mp, _ := mimePart(mailparse.Parse([]byte(mime.String())))
	mp.Name = "img.png"
	return append(ps, mp)
}

// TestBody_ReadsFillAndMatch: whatever the caller's buffer, the body
// streams the same bytes, Size long, valid JSON whose contentBytes decode
// to each attachment; and every read but the last fills the buffer (one
// HTTP/2 frame each).
func TestBody_ReadsFillAndMatch(t *testing.T) {
	parts := bodyParts(t)
	b, err := CreateBody(Message{Subject: "s", Body: ItemBody{ContentType: "text", Content: "hi"}}, parts)
	if err != nil {
		t.Fatal(err)
	}
	var want []byte
	for _, bufLen := range []int{1, 2, 3, 4, 5, 7, 8, 4095, 4096, 4097, 16 << 10, 512 << 10} {
		r := b.Open()
		buf := make([]byte, bufLen)
		var got []byte
		short := 0
		for {
			n, err := r.Read(buf)
			got = append(got, buf[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if n < bufLen {
				short++
			}
		}
		if short > 1 {
			t.Errorf("buffer %d: %d reads did not fill it", bufLen, short)
		}
		if int64(len(got)) != b.Size() {
			t.Fatalf("buffer %d: %d bytes, Size %d", bufLen, len(got), b.Size())
		}
		if want == nil {
			want = got
			continue
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("buffer %d: bytes differ from buffer 1's", bufLen)
		}
	}
	var msg struct {
		Subject     string
		Attachments []struct {
			Name         string
			ContentBytes []byte
		}
	}
	if err := json.Unmarshal(want, &msg); err != nil {
		t.Fatal(err)
	}
	if msg.Subject != "s" || len(msg.Attachments) != len(parts) {
		t.Fatalf("subject %q, %d attachments", msg.Subject, len(msg.Attachments))
	}
	for i, a := range msg.Attachments {
		if a.Name != parts[i].Name || !bytes.Equal(a.ContentBytes, parts[i].Bytes()) || int64(len(a.ContentBytes)) != parts[i].Size {
			t.Errorf("attachment %d (%s): %d bytes, want %d", i, a.Name, len(a.ContentBytes), parts[i].Size)
		}
	}
}
