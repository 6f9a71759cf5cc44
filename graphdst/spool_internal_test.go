package graphdst

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/imapmig/imapmig/graphdst/internal/convert"
	"github.com/imapmig/imapmig/migrate"
)

// pathBody is a message spooled to a file, as imapsrc spools large ones.
type pathBody string

func (p pathBody) Open() (io.ReadCloser, error) { return os.Open(string(p)) }
func (p pathBody) Size() int64 {
	st, err := os.Stat(string(p))
	if err != nil {
		return 0
	}
	return st.Size()
}
func (p pathBody) Close() error { return nil }

// attachmentMessage spools a message with one base64 attachment of n random
// bytes to a file and returns its path and the attachment's bytes.
func attachmentMessage(t *testing.T, n int) (string, []byte) {
	t.Helper()
	bin := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{byte(n), 7}).Read(bin)
	var b bytes.Buffer
	b.WriteString("From: a@example.org\r\nSubject: big\r\nMessage-ID: <big@test>\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n")
	b.WriteString("--B\r\nContent-Type: text/plain\r\n\r\nsee the attachment\r\n")
	b.WriteString("--B\r\nContent-Type: application/octet-stream; name=big.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString(bin)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--B--\r\n")
	path := filepath.Join(t.TempDir(), "msg.eml")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, bin
}

// rssFileKB is this process's file-backed resident memory.
func rssFileKB(t *testing.T) int {
	t.Helper()
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(l, "RssFile:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	t.Skip("no RssFile in /proc/self/status")
	return 0
}

// TestSpool_ConvertingAndReadingDropsTheMappedPages: a spooled message is
// mapped; converting it and reading its attachment to the end leave only a
// few megabytes of the mapping resident (the parser and the readers drop
// what they read through), and the bytes read are the attachment's.
func TestSpool_ConvertingAndReadingDropsTheMappedPages(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the spool is mapped on Linux only")
	}
	const size = 24 << 20
	path, bin := attachmentMessage(t, size)
	base := rssFileKB(t)
	sp, err := loadSpool(pathBody(path))
	if err != nil {
		t.Fatal(err)
	}
	defer sp.release()
	if sp.dropped == nil {
		t.Fatal("the spool file was read, not mapped")
	}
	// Touching the mapping makes it resident: the measure works.
	sum := 0
	for i := 0; i < len(sp.raw); i += 4096 {
		sum += int(sp.raw[i])
	}
	if grown := rssFileKB(t) - base; grown < size/1024 {
		t.Fatalf("reading the %d MB mapping grew RssFile by %d KB only: cannot measure (sum %d)", size>>20, grown, sum)
	}
	sp.drop()
	base = rssFileKB(t)
	peak := 0
	conv, err := convert.ConvertReleasing(sp.raw, migrate.NewMessage{}, func(b []byte) {
		sp.dropped(b)
		peak = max(peak, rssFileKB(t)-base)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(conv.Attachments) != 1 || conv.Attachments[0].Size != size {
		t.Fatalf("attachments %+v, want one of %d bytes", conv.Attachments, size)
	}
	if grown := rssFileKB(t) - base; grown > 4<<10 {
		t.Errorf("converting left %d KB of the mapping resident, want ≤ 4 MB", grown)
	}
	var got bytes.Buffer
	r := conv.Attachments[0].Open()
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		got.Write(buf[:n])
		peak = max(peak, rssFileKB(t)-base)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got.Bytes(), bin) {
		t.Fatal("the attachment read from the dropping mapping differs")
	}
	// About a ReleaseStep of the mapping, and the binary's pages that the
	// first conversion faults in; without the drops it is the file, 32 MB.
	if peak > 8<<10 {
		t.Errorf("%d KB of the mapping resident at the peak while converting and reading, want ≤ 8 MB", peak)
	}
}

// TestDropPages_KeepsPartialPagesAndIgnoresOtherMemory: only pages wholly
// inside the stretch are dropped, the bytes stay readable and unchanged,
// and a slice of other memory is left alone.
func TestDropPages_KeepsPartialPagesAndIgnoresOtherMemory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the spool is mapped on Linux only")
	}
	path, _ := attachmentMessage(t, 1<<20)
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := loadSpool(pathBody(path))
	if err != nil {
		t.Fatal(err)
	}
	defer sp.release()
	for _, s := range [][2]int{{0, 1}, {1, 4095}, {100, 5000}, {4096, 8192}, {3, len(want) - 3}, {0, len(want)}} {
		sp.dropped(sp.raw[s[0]:s[1]])
		if !bytes.Equal(sp.raw, want) {
			t.Fatalf("after dropping [%d, %d) the mapping reads differently", s[0], s[1])
		}
	}
	other := bytes.Clone(want)
	sp.dropped(other[4096:]) // not of the mapping: must not be touched
	if !bytes.Equal(other, want) {
		t.Fatal("dropping a slice of the heap changed it")
	}
}

// TestChunkReader_StreamsChunksInOrderAndAgain: chunk bodies give the
// attachment's bytes, each as often as it is opened (a retry), also out of
// order (a resumed session); a body opened again ends the earlier reader.
func TestChunkReader_StreamsChunksInOrderAndAgain(t *testing.T) {
	path, bin := attachmentMessage(t, 3*uploadChunk+777)
	sp, err := loadSpool(pathBody(path))
	if err != nil {
		t.Fatal(err)
	}
	defer sp.release()
	conv, err := convert.ConvertReleasing(sp.raw, migrate.NewMessage{}, sp.dropped)
	if err != nil {
		t.Fatal(err)
	}
	c := &chunkReader{part: conv.Attachments[0]}
	read := func(off, end int64) {
		t.Helper()
		b := c.chunk(off, end)
		if b.Size() != end-off {
			t.Fatalf("chunk [%d, %d) sized %d", off, end, b.Size())
		}
		got, err := io.ReadAll(b.Open())
		if err != nil || !bytes.Equal(got, bin[off:end]) {
			t.Fatalf("chunk [%d, %d): %d bytes (%v), not the attachment's", off, end, len(got), err)
		}
	}
	total := int64(len(bin))
	for off := int64(0); off < total; off += uploadChunk {
		read(off, min(off+uploadChunk, total))
	}
	read(uploadChunk, 2*uploadChunk)     // sent again
	read(uploadChunk+5, 2*uploadChunk+9) // resumed mid-chunk
	read(2*uploadChunk+9, total)

	first := c.chunk(0, 10).Open()
	second := c.chunk(0, 10).Open()
	if _, err := first.Read(make([]byte, 4)); !errors.Is(err, errStaleChunk) {
		t.Errorf("a reader opened before the last one read on: %v", err)
	}
	if got, err := io.ReadAll(second); err != nil || !bytes.Equal(got, bin[:10]) {
		t.Errorf("the last opened reader: %q %v", got, err)
	}
	if _, err := io.ReadAll(c.chunk(total-5, total+5).Open()); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("a chunk past the attachment's end: %v, want io.ErrUnexpectedEOF", err)
	}
}

// inMemory is a body held in memory that offers its bytes, as imapsrc's
// small bodies do; bytes nil says it does not hold them.
type inMemory struct{ raw, bytes []byte }

func (m inMemory) Open() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(m.raw)), nil }
func (m inMemory) Size() int64                  { return int64(len(m.raw)) }
func (m inMemory) Close() error                 { return nil }
func (m inMemory) Bytes() []byte                { return m.bytes }

// TestLoadSpool_UsesBytesInMemoryWithoutCopy: a body that offers its bytes
// is converted from them, not copied; one that offers none is read.
func TestLoadSpool_UsesBytesInMemoryWithoutCopy(t *testing.T) {
	msg := []byte("Subject: x\r\n\r\nbody\r\n")
	sp, err := loadSpool(inMemory{raw: msg, bytes: msg})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sp.raw, msg) || &sp.raw[0] != &msg[0] || sp.dropped != nil {
		t.Fatalf("spool %q: not the body's own bytes", sp.raw)
	}
	sp, err = loadSpool(inMemory{raw: msg})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sp.raw, msg) || &sp.raw[0] == &msg[0] {
		t.Fatalf("spool %q of a body offering no bytes: not a copy read from it", sp.raw)
	}
}
