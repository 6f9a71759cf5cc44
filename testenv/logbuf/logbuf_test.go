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

// Changed is closed by the first Write after it was asked for, and not
// before.
func TestBuffer_ChangedClosedByNextWrite(t *testing.T) {
	var l Buffer
	ch := l.Changed()
	select {
	case <-ch:
		t.Fatal("Changed is closed before any write")
	default:
	}
	if ch2 := l.Changed(); ch2 != ch {
		t.Fatal("a second Changed before a write is another channel")
	}
	l.Write([]byte("x"))
	select {
	case <-ch:
	default:
		t.Fatal("Changed is still open after a write")
	}
	next := l.Changed()
	select {
	case <-next:
		t.Fatal("the next Changed is closed by the earlier write")
	default:
	}
}
