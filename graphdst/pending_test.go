package graphdst_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
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
// created under a pending key first.
func bigMessage(t *testing.T) migrate.NewMessage {
	data := make([]byte, 3_500_000)
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

// A create that fails after its pending item exists removes that item at
// once, with permanentDelete (never a soft DELETE into Deleted Items).
func TestCreate_FailedUploadLeavesNoIncompleteItem(t *testing.T) {
	f, rt := startRefusing(t)
	mb, folder := f.inbox(t)
	rt.set(isUpload)
	if _, err := mb.Create(context.Background(), folder, bigMessage(t)); err == nil {
		t.Fatal("create succeeded although its upload was refused")
	}
	if n, purged := inboxCount(t, f); n != 0 || purged != 1 {
		t.Fatalf("inbox holds %d items, %d purged; want 0 and 1", n, purged)
	}
	if rt.count("POST", "/permanentDelete") != 1 || rt.count("DELETE", "") != 0 {
		t.Fatalf("requests: %v", rt.seen)
	}
}

// An incomplete item that could not be removed at once (say the process
// was killed) is never reported by Keys, and SweepPending removes it even
// though its source message is gone and never created again.
func TestSweepPending_RemovesIncompleteItems(t *testing.T) {
	f, rt := startRefusing(t)
	mb, folder := f.inbox(t)
	ctx := context.Background()
	rt.set(func(r *http.Request) bool { return isUpload(r) || strings.HasSuffix(r.URL.Path, "/permanentDelete") })
	if _, err := mb.Create(ctx, folder, bigMessage(t)); err == nil {
		t.Fatal("create succeeded although its upload was refused")
	}
	rt.set(nil)
	complete := bigMessage(t)
	complete.Body = targettest.MemBody("From: b@example.org\r\nSubject: small\r\n\r\nsmall\r\n")
	complete.Meta.SourceKey = "small-key"
	if _, err := mb.Create(ctx, folder, complete); err != nil {
		t.Fatal(err)
	}
	if n, _ := inboxCount(t, f); n != 2 {
		t.Fatalf("inbox holds %d items, want the incomplete one and the small one", n)
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
