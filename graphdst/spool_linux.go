//go:build linux

package graphdst

import (
	"math"
	"os"
	"syscall"
)

// mapFile maps f privately (copy-on-write, so a stray write can never
// reach the file or fault); false when it cannot be mapped (empty, too
// large, or mmap refused), and the caller reads it instead.
func mapFile(f *os.File) (*spool, bool) {
	st, err := f.Stat()
	if err != nil || st.Size() <= 0 || st.Size() > math.MaxInt32 {
		return nil, false
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE)
	if err != nil {
		return nil, false
	}
	return &spool{
		raw:     b,
		release: func() { _ = syscall.Munmap(b) },
		drop:    func() { _ = syscall.Madvise(b, syscall.MADV_DONTNEED) },
	}, true
}
