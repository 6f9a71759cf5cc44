package logbuf

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestBuffer_ConcurrentWritesAllArrive: lines written from many goroutines
// while another reads all end up in the buffer, none torn.
func TestBuffer_ConcurrentWritesAllArrive(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	written, read := make(chan struct{}), make(chan struct{})
	go func() { // a reader while the writers write
		defer close(read)
		for {
			select {
			case <-written:
				return
			default:
				_ = b.String()
			}
		}
	}()
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				fmt.Fprintf(&b, "w%d line %d\n", w, i)
			}
		}()
	}
	wg.Wait()
	close(written)
	<-read
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 8*50 {
		t.Fatalf("%d lines, want %d", len(lines), 8*50)
	}
	for _, l := range lines {
		var w, i int
		if _, err := fmt.Sscanf(l, "w%d line %d", &w, &i); err != nil {
			t.Fatalf("torn line %q: %v", l, err)
		}
	}
}
