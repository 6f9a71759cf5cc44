package graphdst

import (
	"io"
	"os"

	"github.com/imapmig/imapmig/migrate"
)

// loadSpool returns a message's bytes and a function that releases them.
// A body spooled to a file is mapped (spool_unix.go), not read: the bytes
// stay in the page cache, outside the Go heap, and the attachments are
// decoded from the mapping as they are sent, so a create's heap does not
// grow with the message. Other bodies (small ones, kept in memory by the
// source) are read.
func loadSpool(b migrate.Body) ([]byte, func(), error) {
	rc, err := b.Open()
	if err != nil {
		return nil, nil, err
	}
	if f, ok := rc.(*os.File); ok {
		if raw, release, ok := mapFile(f); ok {
			_ = f.Close() // the mapping stays valid
			return raw, release, nil
		}
	}
	defer rc.Close()
	raw, err := io.ReadAll(rc)
	if err != nil {
		return nil, nil, err
	}
	return raw, func() {}, nil
}
