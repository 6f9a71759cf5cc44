package graphdst_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imapmig/imapmig/graphdst"
	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/targettest"
	"github.com/imapmig/imapmig/testenv/graphemu"
)

// refusingTransport answers 400 to the requests refuse matches and records
// every request line.
type refusingTransport struct {
	base   http.RoundTripper
	mu     sync.Mutex
	refuse func(*http.Request) bool
	seen   []string
}

func (rt *refusingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	rt.seen = append(rt.seen, r.Method+" "+r.URL.Path)
	refuse := rt.refuse != nil && rt.refuse(r)
	rt.mu.Unlock()
	if refuse {
		return &http.Response{StatusCode: 400, Header: http.Header{"Content-Type": {"application/json"}}, Request: r,
			Body: io.NopCloser(strings.NewReader(`{"error":{"code":"ErrorInvalidRequest","message":"refused by the test"}}`))}, nil
	}
	return rt.base.RoundTrip(r)
}

func (rt *refusingTransport) set(refuse func(*http.Request) bool) {
	rt.mu.Lock()
	rt.refuse = refuse
	rt.mu.Unlock()
}

func (rt *refusingTransport) count(method, suffix string) int {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	n := 0
	for _, s := range rt.seen {
		if strings.HasPrefix(s, method+" ") && strings.HasSuffix(s, suffix) {
			n++
		}
	}
	return n
}

func startRefusing(t *testing.T) (*fixture, *refusingTransport) {
	rt := &refusingTransport{}
	f := start(t, graphemu.Options{}, nil, func(c *graphdst.Config) {
		rt.base = c.HTTPClient.Transport
		c.HTTPClient = &http.Client{Transport: rt}
	})
	return f, rt
}

// bigMessage has an attachment that needs an upload session, so it is
// built in the staging folder.
func bigMessage(t *testing.T) migrate.NewMessage {
	return sizedMessage(t, 3_500_000)
}

// sizedMessage has one random attachment of size bytes.
func sizedMessage(t *testing.T, size int) migrate.NewMessage {
	data := make([]byte, size)
	_, _ = rand.Read(data)
	raw := "From: a@example.org\r\nSubject: big\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n--B\r\n" +
		"Content-Type: application/octet-stream; name=big.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		base64.StdEncoding.EncodeToString(data) + "\r\n--B--\r\n"
	hh := migrate.HeaderHash(migrate.HeaderBlock([]byte(raw)))
	return migrate.NewMessage{Meta: migrate.MessageMeta{SourceKey: hh, HeaderHash: hh, InternalDate: time.Now()}, Body: targettest.MemBody(raw)}
}

func isUpload(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/createUploadSession") }

func inboxCount(t *testing.T, f *fixture) (int, int) {
	d, _ := f.emu.Dump(user)
	n := 0
	for _, m := range d.Messages {
		if m.FolderWellKnown == "inbox" {
			n++
		}
	}
	return n, d.Purged
}

// \Answered can be set and cleared, one by one and in $batch.
func TestSetFlags_AnsweredSetAndCleared(t *testing.T) {
	f := start(t, graphemu.Options{}, nil)
	mb, folder := f.inbox(t)
	ctx := context.Background()
	nm := bigMessage(t)
	nm.Body = targettest.MemBody("From: b@example.org\r\nSubject: replied\r\n\r\nbody\r\n")
	nm.Flags = migrate.Flags{Seen: true, Answered: true}
	id, err := mb.Create(ctx, folder, nm)
	if err != nil {
		t.Fatal(err)
	}
	answered := func() bool {
		d, _ := f.emu.Dump(user)
		for _, m := range d.Messages {
			if m.ID == id {
				return m.Answered
			}
		}
		t.Fatal("item gone")
		return false
	}
	if !answered() {
		t.Fatal("created \\Answered but not answered")
	}
	if err := mb.SetFlags(ctx, id, migrate.Flags{Seen: true}); err != nil {
		t.Fatal(err)
	}
	if answered() {
		t.Fatal("\\Answered removed on the source but still answered in the target")
	}
	batcher := mb.(migrate.FlagBatcher)
	for _, want := range []bool{true, false} {
		errs := batcher.SetFlagsBatch(ctx, []migrate.FlagUpdate{{ItemID: id, Flags: migrate.Flags{Seen: true, Answered: want}}})
		if errs[0] != nil {
			t.Fatal(errs[0])
		}
		if answered() != want {
			t.Fatalf("after a batch update to answered=%v the item says %v", want, !want)
		}
	}
}

// visible splits the mailbox's items into those a client shows (any
// folder, Deleted Items included) and those in hidden folders.
func visible(t *testing.T, f *fixture) (shown, hidden []graphemu.MessageDump, d graphemu.MailboxDump) {
	t.Helper()
	d, _ = f.emu.Dump(user)
	for _, m := range d.Messages {
		if m.Hidden {
			hidden = append(hidden, m)
		} else {
			shown = append(shown, m)
		}
	}
	return shown, hidden, d
}

// A create whose upload is refused removes its incomplete item at once,
// with permanentDelete (never a soft DELETE into Deleted Items), and the
// item was never visible.
func TestCreate_FailedUploadLeavesNoIncompleteItem(t *testing.T) {
	f, rt := startRefusing(t)
	mb, folder := f.inbox(t)
	rt.set(isUpload)
	if _, err := mb.Create(context.Background(), folder, bigMessage(t)); err == nil {
		t.Fatal("create succeeded although its upload was refused")
	}
	shown, hidden, d := visible(t, f)
	if len(shown)+len(hidden) != 0 || d.Purged != 1 {
		t.Fatalf("%d items shown, %d hidden, %d purged; want 0, 0, 1", len(shown), len(hidden), d.Purged)
	}
	if rt.count("POST", "/permanentDelete") != 1 || rt.count("DELETE", "") != 0 {
		t.Fatalf("requests: %v", rt.seen)
	}
}

// crashTransport passes requests until the upload PUT number crashAfter+1,
// from which on every request fails: the process is gone and nothing more
// reaches Graph, not even the removal of the incomplete item.
type crashTransport struct {
	base       http.RoundTripper
	mu         sync.Mutex
	crashAfter int // upload PUTs that get through; <0: never crash
	puts       int
	crashed    bool
	deletes    int // soft DELETEs seen
}

func (c *crashTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	if r.Method == http.MethodDelete {
		c.deletes++
	}
	if r.Method == http.MethodPut && r.Header.Get("Content-Range") != "" && c.crashAfter >= 0 {
		if c.puts == c.crashAfter {
			c.crashed = true
		}
		c.puts++
	}
	crashed := c.crashed
	c.mu.Unlock()
	if crashed {
		return nil, errors.New("process killed")
	}
	return c.base.RoundTrip(r)
}

func (c *crashTransport) heal() {
	c.mu.Lock()
	c.crashAfter, c.crashed = -1, false
	c.mu.Unlock()
}

// A large create interrupted after upload chunk k of n (a kill: no cleanup
// request gets out) leaves nothing a client shows, in any folder and in
// Deleted Items; the next pass purges the staging folder with
// permanentDelete and leaves exactly one complete copy in the inbox,
// whether it starts with SweepPending (a folder whose state is not trusted)
// or goes straight to the create.
func TestCreate_InterruptedUploadLeavesNothingVisible(t *testing.T) {
	const size = 9_000_000 // three upload chunks
	for _, sweep := range []bool{true, false} {
		for k := 0; k < 3; k++ {
			t.Run(fmt.Sprintf("chunk%d_of_3/sweep=%v", k, sweep), func(t *testing.T) {
				ct := &crashTransport{crashAfter: k}
				b := graphdst.Budget{MinBackoff: time.Millisecond, MaxAttempts: 2}
				f := start(t, graphemu.Options{}, &b, func(c *graphdst.Config) {
					ct.base = c.HTTPClient.Transport
					c.HTTPClient = &http.Client{Transport: ct}
					// A killed process, not an outage to ride out.
					c.OutageLimit = time.Nanosecond
				})
				ctx := context.Background()
				nm := sizedMessage(t, size)
				mb, folder := f.inbox(t)
				if _, err := mb.Create(ctx, folder, nm); err == nil {
					t.Fatal("create succeeded through a crash")
				}
				shown, hidden, d := visible(t, f)
				if len(shown) != 0 || len(hidden) != 1 || d.Deletions != 0 {
					t.Fatalf("after the crash: %d items shown, %d hidden, %d soft-deleted; want 0, 1, 0", len(shown), len(hidden), d.Deletions)
				}
				if n := len(hidden[0].Attachments); n != 0 {
					t.Fatalf("the staged item has %d attachments, want 0 (incomplete)", n)
				}

				ct.heal()
				mb, folder = f.inbox(t) // the next pass
				if sweep {
					if n, err := mb.(migrate.PendingSweeper).SweepPending(ctx, folder); err != nil || n != 1 {
						t.Fatalf("SweepPending = %d, %v; want 1", n, err)
					}
				}
				id, err := mb.Create(ctx, folder, nm)
				if err != nil {
					t.Fatal(err)
				}
				shown, hidden, d = visible(t, f)
				if len(shown) != 1 || len(hidden) != 0 || d.Purged != 1 || d.Deletions != 0 {
					t.Fatalf("after the next pass: %d shown, %d hidden, %d purged, %d soft-deleted; want 1, 0, 1, 0",
						len(shown), len(hidden), d.Purged, d.Deletions)
				}
				got := shown[0]
				if got.ID != id || got.FolderWellKnown != "inbox" || len(got.Attachments) != 1 || got.Attachments[0].Size != size {
					t.Fatalf("the copy: id %s (want %s), folder %q, attachments %+v", got.ID, id, got.FolderWellKnown, got.Attachments)
				}
				if ct.deletes != 0 {
					t.Fatalf("%d soft DELETEs sent", ct.deletes)
				}
			})
		}
	}
}

// An incomplete item of an earlier version (built in its destination
// folder under a "pending:" key) is never reported by Keys, and
// SweepPending removes it with permanentDelete.
func TestSweepPending_RemovesLegacyPendingItems(t *testing.T) {
	f, rt := startRefusing(t)
	mb, folder := f.inbox(t)
	ctx := context.Background()
	for _, key := range []string{"pending:old-key", "small-key"} {
		nm := bigMessage(t)
		nm.Body = targettest.MemBody("From: b@example.org\r\nSubject: " + key + "\r\n\r\nsmall\r\n")
		nm.Meta.SourceKey = key
		if _, err := mb.Create(ctx, folder, nm); err != nil {
			t.Fatal(err)
		}
	}
	var keys []string
	if err := mb.Keys(ctx, folder, func(k migrate.KeyedItem) error { keys = append(keys, k.SourceKey); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0] != "small-key" {
		t.Fatalf("Keys reported %v", keys)
	}
	n, err := mb.(migrate.PendingSweeper).SweepPending(ctx, folder)
	if err != nil || n != 1 {
		t.Fatalf("SweepPending = %d, %v", n, err)
	}
	if n, purged := inboxCount(t, f); n != 1 || purged != 1 {
		t.Fatalf("inbox holds %d items, %d purged; want 1 and 1", n, purged)
	}
	if rt.count("DELETE", "") != 0 {
		t.Fatal("an incomplete item was soft-deleted (it would land in Deleted Items)")
	}
}
