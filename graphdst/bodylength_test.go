package graphdst_test

import (
	"context"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/imapmig/imapmig/graphdst"
	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/testenv/graphemu"
)

// measuredBodies wraps a transport and records, for every request with a
// body, the length it declared and the bytes net/http read from it.
type measuredBodies struct {
	base   http.RoundTripper
	closed sync.WaitGroup

	mu   sync.Mutex
	seen []measured
}

type measured struct {
	method, path   string
	declared, read int64
}

func (m *measuredBodies) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		m.mu.Lock()
		m.seen = append(m.seen, measured{method: r.Method, path: r.URL.Path, declared: r.ContentLength})
		i := len(m.seen) - 1
		m.mu.Unlock()
		m.closed.Add(1)
		r.Body = &countedBody{ReadCloser: r.Body, done: func(n int64) {
			m.mu.Lock()
			m.seen[i].read = n
			m.mu.Unlock()
			m.closed.Done()
		}}
	}
	return m.base.RoundTrip(r)
}

type countedBody struct {
	io.ReadCloser
	n    int64
	once sync.Once
	done func(int64)
}

func (b *countedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}

func (b *countedBody) Close() error {
	b.once.Do(func() { b.done(b.n) })
	return b.ReadCloser.Close()
}

// Every request graphdst sends with a body declares its length: JSON
// built in memory (folders, flags, moves) as well as streamed creates.
// net/http's HTTP/2 client otherwise writes a body from a scratch buffer
// of up to 512 KB, whatever its size, and HTTP/1.1 would send it chunked.
func TestRequests_DeclareBodyLength(t *testing.T) {
	m := &measuredBodies{}
	f := start(t, graphemu.Options{}, nil, func(c *graphdst.Config) {
		m.base = c.HTTPClient.Transport
		c.HTTPClient = &http.Client{Transport: m}
	})
	ctx := context.Background()
	mb, inbox := f.inbox(t)
	folder, err := mb.EnsureFolder(ctx, migrate.FolderPath{WellKnown: migrate.WellKnownInbox, Names: []string{"Lengths"}})
	if err != nil {
		t.Fatal(err)
	}
	id, err := mb.Create(ctx, inbox, simpleMessage("length", 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := mb.SetFlags(ctx, id, migrate.Flags{Seen: true, Flagged: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Move(ctx, id, folder); err != nil {
		t.Fatal(err)
	}
	m.closed.Wait() // net/http closes every request body
	m.mu.Lock()
	defer m.mu.Unlock()
	methods := map[string]bool{}
	for _, s := range m.seen {
		methods[s.method] = true
		if s.declared <= 0 || s.declared != s.read {
			t.Errorf("%s %s: declared %d bytes, sent %d", s.method, s.path, s.declared, s.read)
		}
	}
	if !methods[http.MethodPost] || !methods[http.MethodPatch] {
		t.Fatalf("requests with a body seen: %v; want POSTs and a PATCH", m.seen)
	}
}
