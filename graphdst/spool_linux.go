//go:build linux

package graphdst

import (
	"math"
	"os"
	"syscall"
	"unsafe"
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
		dropped: func(s []byte) { dropPages(b, s) },
	}, true
}

var pageSize = uintptr(os.Getpagesize())

// dropPages lets the kernel take the pages of the mapping m that lie wholly
// inside s (a slice of m) out of this process's memory; they come back
// from the page cache when read again. A partial page at either end
// stays: a neighbouring stretch may be in use.
func dropPages(m, s []byte) {
	if len(s) == 0 || len(m) == 0 {
		return
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(m)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	if p < base || p-base+uintptr(len(s)) > uintptr(len(m)) {
		return // not of this mapping
	}
	from := (p - base + pageSize - 1) &^ (pageSize - 1)
	to := (p - base + uintptr(len(s))) &^ (pageSize - 1)
	if to > from {
		_ = syscall.Madvise(m[from:to], syscall.MADV_DONTNEED)
	}
}
