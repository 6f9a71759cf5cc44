//go:build unix

package graphdst

import (
	"math"
	"os"
	"syscall"
)

// mapFile maps f privately (copy-on-write, so a stray write can never
// reach the file or fault); false when it cannot be mapped (empty, too
// large, or mmap refused), and the caller reads it instead.
func mapFile(f *os.File) ([]byte, func(), bool) {
	st, err := f.Stat()
	if err != nil || st.Size() <= 0 || st.Size() > math.MaxInt32 {
		return nil, nil, false
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE)
	if err != nil {
		return nil, nil, false
	}
	return b, func() { _ = syscall.Munmap(b) }, true
}
