package graphdst_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imapmig/imapmig/graphdst"
	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/targettest"
	"github.com/imapmig/imapmig/testenv/graphemu"
)

const (
	tenant   = "0f0e0d0c-0b0a-0908-0706-050403020100"
	clientID = "imapmig-test-app"
	secret   = "Sup3r-S3cret-Value~do-not-log"
	user     = "alice@contoso.test"
	sender   = "reports@contoso.test"
	missing  = "nobody@contoso.test"
)

type fixture struct {
	emu    *graphemu.Server
	target *graphdst.Target
	logs   *bytes.Buffer
}

func start(t testing.TB, eo graphemu.Options, b *graphdst.Budget, mutate ...func(*graphdst.Config)) *fixture {
	t.Helper()
	eo.Tenant = tenant
	if eo.Clients == nil {
		eo.Clients = map[string]string{clientID: secret}
	}
	eo.Mailboxes = append(eo.Mailboxes, user, sender)
	emu, err := graphemu.New(eo)
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	logs := &bytes.Buffer{}
	cfg := graphdst.Config{
		TenantID: tenant, ClientID: clientID, ClientSecret: secret,
		AuthorityHost: emu.AuthorityHost(), GraphURL: emu.GraphURL(),
		HTTPClient: emu.Client(), Budget: b,
		Logger: slog.New(slog.NewTextHandler(&lockedWriter{w: logs}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, m := range mutate {
		m(&cfg)
	}
	tg, err := graphdst.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{emu: emu, target: tg, logs: logs}
}

// inbox resolves the test user's mailbox and its inbox.
func (f *fixture) inbox(t testing.TB) (migrate.Mailbox, string) {
	t.Helper()
	ctx := context.Background()
	mb, err := f.target.Mailbox(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	folder, err := mb.EnsureFolder(ctx, migrate.FolderPath{WellKnown: migrate.WellKnownInbox})
	if err != nil {
		t.Fatal(err)
	}
	return mb, folder
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// inspect maps the emulator's dump of an item to the suite's Item.
func (f *fixture) inspect(t *testing.T, mailbox, itemID string) (targettest.Item, bool) {
	d, ok := f.emu.Dump(mailbox)
	if !ok {
		return targettest.Item{}, false
	}
	for _, m := range d.Messages {
		if m.ID != itemID {
			continue
		}
		it := targettest.Item{
			FolderID: m.FolderID, IsDraft: m.IsDraft, IsRead: m.IsRead, Flagged: m.FlagStatus == "flagged",
			Categories: m.Categories, Received: m.ReceivedDateTime, Subject: m.Subject,
			Attachments: map[string]string{},
		}
		it.SourceKey, _ = m.Ext(graphdst.SourceKeyProperty)
		it.Headers, _ = m.Ext("String 0x007D")
		it.MessageClass, _ = m.Ext("String 0x001A")
		it.InternetMsgID, _ = m.Ext("String 0x1035")
		var body struct{ ContentType string }
		m.Field("body", &body)
		it.BodyType = body.ContentType
		for _, a := range m.Attachments {
			it.Attachments[a.Name] = a.SHA256
			if a.IsInline {
				it.InlineCount++
			}
		}
		return it, true
	}
	return targettest.Item{}, false
}

func TestConformance_Emulator(t *testing.T) {
	f := start(t, graphemu.Options{TimeScale: 60}, ptr(graphdst.DefaultBudget().Scaled(60)))
	targettest.Run(t, targettest.Options{
		Target: f.target, Mailbox: user, MissingMailbox: missing, Sender: sender,
		Inspect: f.inspect,
		RemoveFolder: func(t *testing.T, mailbox, folderID string) {
			if !f.emu.RemoveFolder(mailbox, folderID) {
				t.Fatalf("no folder %s in %s", folderID, mailbox)
			}
		},
		Sent: func(t *testing.T) []string {
			var out []string
			for _, s := range f.emu.Sent() {
				var m struct{ Subject string }
				_ = json.Unmarshal(s.Message, &m)
				out = append(out, m.Subject)
			}
			return out
		},
	})
	if strings.Contains(f.logs.String(), secret) {
		t.Fatal("the client secret appears in the logs")
	}
}

func ptr[T any](v T) *T { return &v }

// simpleMessage is the i-th small test message tagged tag, unflagged,
// received now: what most tests create.
func simpleMessage(tag string, i int) migrate.NewMessage {
	return rawMessage(targettest.SimpleMessage(tag, i))
}

// rawMessage is raw as an unflagged message received now.
func rawMessage(raw []byte) migrate.NewMessage {
	return targettest.NewMessage(raw, time.Now(), migrate.Flags{})
}

func TestNew_Credentials(t *testing.T) {
	certPEM := selfSignedPEM(t)
	tests := []struct {
		name    string
		mutate  func(*graphdst.Config)
		wantErr bool
		kind    migrate.Kind
	}{
		{"ClientSecret", func(*graphdst.Config) {}, false, 0},
		{"Certificate", func(c *graphdst.Config) { c.ClientSecret, c.CertificatePEM = "", certPEM }, false, 0},
		{"WrongSecret", func(c *graphdst.Config) { c.ClientSecret = "wrong-" + secret }, true, migrate.KindFailUser},
		{"NoCredential", func(c *graphdst.Config) { c.ClientSecret = "" }, true, migrate.KindFatal},
		{"TwoCredentials", func(c *graphdst.Config) { c.CertificatePEM = certPEM }, true, migrate.KindFatal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f *fixture
			var newErr error
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatal(r)
					}
				}()
				eo := graphemu.Options{}
				eo.Tenant = tenant
				eo.Clients = map[string]string{clientID: secret}
				eo.Mailboxes = []string{user}
				emu, err := graphemu.New(eo)
				if err != nil {
					t.Fatal(err)
				}
				_ = emu.Start()
				t.Cleanup(func() { _ = emu.Close() })
				logs := &bytes.Buffer{}
				cfg := graphdst.Config{
					TenantID: tenant, ClientID: clientID, ClientSecret: secret,
					AuthorityHost: emu.AuthorityHost(), GraphURL: emu.GraphURL(), HTTPClient: emu.Client(),
					Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
				}
				tt.mutate(&cfg)
				if s := fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg); strings.Contains(s, secret) {
					t.Fatal("Config formats its secret")
				}
				tg, err := graphdst.New(context.Background(), cfg)
				if err != nil {
					newErr = err
					return
				}
				f = &fixture{emu: emu, target: tg, logs: logs}
				newErr = tg.Test(context.Background(), user)
			}()
			if (newErr != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", newErr, tt.wantErr)
			}
			if newErr != nil {
				if migrate.KindOf(newErr) != tt.kind {
					t.Fatalf("kind %v, want %v: %v", migrate.KindOf(newErr), tt.kind, newErr)
				}
				if strings.Contains(newErr.Error(), secret) || strings.Contains(newErr.Error(), "emu.") {
					t.Fatalf("error leaks a credential: %v", newErr)
				}
			}
			if f != nil && strings.Contains(f.logs.String(), secret) {
				t.Fatal("secret in logs")
			}
		})
	}
}

func selfSignedPEM(t *testing.T) []byte {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "imapmig app"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalPKCS8PrivateKey(key)
	return append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})...)
}

// TestCreate_FaultsAndAmbiguousCreates: with 5% plain faults and 2%
// ambiguous creates, 2,000 creates make exactly 2,000 messages.
func TestCreate_FaultsAndAmbiguousCreates(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 300
	}
	b := graphdst.DefaultBudget().Scaled(60)
	b.MinBackoff = 20 * time.Millisecond
	f := start(t, graphemu.Options{TimeScale: 60, FaultRate: 0.05, AmbiguousRate: 0.02, Seed: 42}, &b)
	ctx := context.Background()
	mb, err := f.target.Mailbox(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	folder, err := mb.EnsureFolder(ctx, migrate.FolderPath{WellKnown: migrate.WellKnownInbox, Names: []string{"Faults"}})
	if err != nil {
		t.Fatal(err)
	}
	var failed atomic.Int64
	work := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range work {
				nm := simpleMessage("fault", i)
				if _, err := mb.Create(ctx, folder, nm); err != nil {
					failed.Add(1)
					t.Errorf("create %d: %v", i, err)
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	d, _ := f.emu.Dump(user)
	keys := map[string]int{}
	for _, m := range d.Messages {
		if m.FolderID == folder {
			k, _ := m.Ext(graphdst.SourceKeyProperty)
			keys[k]++
		}
	}
	dups := 0
	for _, c := range keys {
		if c > 1 {
			dups += c - 1
		}
	}
	st, gs := f.emu.Stats(), f.target.Stats(mb)
	t.Logf("emulator: %+v", st)
	t.Logf("governor: %+v", gs)
	if len(keys) != n || dups != 0 || failed.Load() != 0 {
		t.Fatalf("%d distinct messages, %d duplicates, %d failed; want %d, 0, 0", len(keys), dups, failed.Load(), n)
	}
	if st.Ambiguous == 0 || st.Faults == 0 {
		t.Fatalf("no faults were injected: %+v", st)
	}
}

// TestThrottle_UploadBudget uploads 300 MB to one mailbox under the
// emulator's throttling at a 60× time scale and logs the achieved rate.
func TestThrottle_UploadBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("300 MB upload")
	}
	const scale = 60
	b := graphdst.DefaultBudget().Scaled(scale)
	f := start(t, graphemu.Options{TimeScale: scale}, &b)
	ctx := context.Background()
	mb, folder := f.inbox(t)
	const msgs, size = 30, 10 << 20
	att := bytes.Repeat([]byte("imapmig-upload-"), size/15)
	rawFor := func(i int) []byte {
		var sb strings.Builder
		fmt.Fprintf(&sb, "From: a@example.test\r\nTo: b@example.test\r\nSubject: big %d\r\nMessage-ID: <big-%d@example.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nbig\r\n--B\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=big.bin\r\n\r\n", i, i)
		sb.Write(att)
		sb.WriteString("\r\n--B--\r\n")
		return []byte(sb.String())
	}
	start := time.Now()
	var wg sync.WaitGroup
	work := make(chan int)
	for range 4 {
		wg.Go(func() {
			for i := range work {
				if _, err := mb.Create(ctx, folder, rawMessage(rawFor(i))); err != nil {
					t.Errorf("create %d: %v", i, err)
				}
			}
		})
	}
	for i := range msgs {
		work <- i
	}
	close(work)
	wg.Wait()
	el := time.Since(start)
	st := f.emu.Stats()
	rate := float64(st.UploadBytes) / el.Seconds()
	budget := float64(150<<20) / (300.0 / scale)
	t.Logf("uploaded %d bytes in %v: %.1f MB/s against an emulator budget of %.1f MB/s (%.0f%%); requests %d, 429s %d (%.2f%%)",
		st.UploadBytes, el.Round(time.Millisecond), rate/(1<<20), budget/(1<<20), 100*rate/budget, st.Requests, st.Throttled, 100*float64(st.Throttled)/float64(st.Requests))
	t.Logf("real-time equivalent: %.2f MB/s against Exchange's 0.5 MB/s per mailbox", rate/scale/(1<<20))
	if float64(st.Throttled) >= 0.01*float64(st.Requests) {
		t.Fatalf("%d of %d requests throttled (≥ 1%%)", st.Throttled, st.Requests)
	}
	if st.UploadBytes < msgs*size {
		t.Fatalf("uploaded %d bytes, want ≥ %d", st.UploadBytes, msgs*size)
	}
}

// TestGovernor_WaitsOutThrottling: a budget above the emulator's limits
// makes 429s happen; the governor fences and nothing fails.
func TestGovernor_WaitsOutThrottling(t *testing.T) {
	b := graphdst.Budget{Concurrency: 4, Requests: 1000, RequestWindow: time.Second, MinBackoff: 10 * time.Millisecond}
	f := start(t, graphemu.Options{Limits: graphemu.Limits{Requests: 40, RequestWindow: 2 * time.Second}}, &b)
	ctx := context.Background()
	mb, folder := f.inbox(t)
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Go(func() {
			if _, err := mb.Create(ctx, folder, simpleMessage("thr", i)); err != nil {
				t.Errorf("create %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	st, gs := f.emu.Stats(), f.target.Stats(mb)
	if st.Throttled == 0 || gs.Throttled == 0 {
		t.Fatalf("expected throttling: emulator %+v governor %+v", st, gs)
	}
	if d, _ := f.emu.Dump(user); len(d.Messages) != 60 {
		t.Fatalf("%d messages, want 60", len(d.Messages))
	}
}

// TestCreate_AttachmentSizes covers the three attachment routes: inline in
// the create, one POST each when the create is full, and upload sessions.
func TestCreate_AttachmentSizes(t *testing.T) {
	f := start(t, graphemu.Options{TimeScale: 60}, ptr(graphdst.DefaultBudget().Scaled(60)))
	ctx := context.Background()
	mb, folder := f.inbox(t)
	tests := []struct {
		name  string
		sizes []int
	}{
		{"OneSmallInline", []int{100_000}},
		{"JustUnderInlineLimit", []int{2_999_000}},
		{"JustOverInlineLimit", []int{3_000_500}},
		{"ManySmallOverflowCreate", []int{2_000_000, 2_000_000, 2_000_000, 2_000_000}},
		{"MixedWithSession", []int{500_000, 9_000_000, 1_500_000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sb strings.Builder
			fmt.Fprintf(&sb, "From: a@example.test\r\nSubject: %s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nx\r\n", tt.name)
			want := map[string]string{}
			for i, n := range tt.sizes {
				data := bytes.Repeat([]byte{byte('a' + i)}, n)
				name := fmt.Sprintf("f%d.bin", i)
				want[name] = fmt.Sprintf("%x", sha256.Sum256(data))
				fmt.Fprintf(&sb, "--B\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=%s\r\n\r\n", name)
				sb.Write(data)
				sb.WriteString("\r\n")
			}
			sb.WriteString("--B--\r\n")
			nm := rawMessage([]byte(sb.String()))
			id, err := mb.Create(ctx, folder, nm)
			if err != nil {
				t.Fatal(err)
			}
			it, ok := f.inspect(t, user, id)
			if !ok || it.SourceKey != nm.Meta.SourceKey {
				t.Fatalf("item %v source key %q, want %q", ok, it.SourceKey, nm.Meta.SourceKey)
			}
			if len(it.Attachments) != len(want) {
				t.Fatalf("%d attachments, want %d", len(it.Attachments), len(want))
			}
			for n, h := range want {
				if it.Attachments[n] != h {
					t.Fatalf("attachment %s hash mismatch", n)
				}
			}
		})
	}
}

// BenchmarkCreate_Small measures small-message creates per second through
// the governor against the emulator without throttling limits in reach.
func BenchmarkCreate_Small(b *testing.B) {
	f := start(b, graphemu.Options{DisableThrottling: true}, nil)
	ctx := context.Background()
	mb, folder := f.inbox(b)
	var n atomic.Int64
	b.SetParallelism(2)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(n.Add(1))
			if _, err := mb.Create(ctx, folder, simpleMessage("bench", i)); err != nil {
				b.Error(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
}
