package imapsrc

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestSpoolBody_BytesOnlyWhileInMemory: a body in memory offers its bytes
// (the same ones Open reads), a body in a file and a closed body offer
// none.
func TestSpoolBody_BytesOnlyWhileInMemory(t *testing.T) {
	msg := []byte("Subject: x\r\n\r\nbody\r\n")
	mem := &spoolBody{mem: msg, size: int64(len(msg))}
	rc, err := mem.Open()
	if err != nil {
		t.Fatal(err)
	}
	read, _ := io.ReadAll(rc)
	if got := mem.Bytes(); !bytes.Equal(got, read) || &got[0] != &msg[0] {
		t.Fatalf("Bytes %q, Open read %q: not the body itself", got, read)
	}
	if err := mem.Close(); err != nil {
		t.Fatal(err)
	}
	if got := mem.Bytes(); got != nil {
		t.Errorf("a closed body offers %q", got)
	}
	path := filepath.Join(t.TempDir(), "imapsrc-1.eml")
	if err := os.WriteFile(path, msg, 0o600); err != nil {
		t.Fatal(err)
	}
	file := &spoolBody{path: path, size: int64(len(msg))}
	if got := file.Bytes(); got != nil {
		t.Errorf("a body in a file offers %q", got)
	}
}
