package webui_test

import (
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkConsole_UsersPage50k is one request for a page of the users
// table of a batch of 50,000 users (the CSV limit), as a signed-in browser
// makes it: the users filtered, sorted and paged on the server, rendered to
// HTML. "cold" reads the batch and its users from the engine (the real
// store) in every request; "cached" is the next page, sort or filter
// within the console's cache interval (five times the read's duration).
// Run:
//
//	go test ./webui -run '^$' -bench UsersPage50k -benchtime 10x
func BenchmarkConsole_UsersPage50k(b *testing.B) {
	w := newWorld(b, 50000, false)
	hc := w.browser()
	w.signIn(hc)
	pages := []struct{ name, path string }{
		{"first-page", "/ui/batches/wave1"},
		{"by-size-desc-page-250", "/ui/batches/wave1?sort=bytes&dir=desc&page=250&size=100"},
		{"text-filter", "/ui/batches/wave1?q=user4999"},
		{"live-json", "/ui/live/batches/wave1?sort=bytes&dir=desc&page=3"},
	}
	for _, cold := range []bool{true, false} {
		mode := "cached"
		if cold {
			mode = "cold"
		}
		for _, p := range pages {
			b.Run(mode+"/"+p.name, func(b *testing.B) {
				get := func() int {
					if cold {
						w.console.DropCache()
					}
					a := w.do(hc, http.MethodGet, p.path, nil)
					if a.status != 200 || !strings.Contains(a.body, "user") {
						b.Fatalf("%s: %d", p.path, a.status)
					}
					return len(a.body)
				}
				size := get() // warm the cache (cached) or the store's pages
				cpu0, n := cpuTime(), 0
				for b.Loop() {
					size = get()
					n++
				}
				// CPU time (client and server, this process) per request:
				// unlike ns/op it does not grow with other work on the
				// machine.
				b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(n), "cpu-ms/op")
				b.ReportMetric(float64(size), "bytes/page")
			})
		}
	}
}
