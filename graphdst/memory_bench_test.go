package graphdst_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/imapmig/imapmig/graphdst"
	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/testenv/graphemu"
)

// emuChildEnv makes the test binary serve the emulator (TestMain), so that
// a benchmark measures graphdst's memory without the emulator's.
const emuChildEnv = "GRAPHDST_BENCH_EMULATOR"

func TestMain(m *testing.M) {
	if os.Getenv(emuChildEnv) != "" {
		serveEmulator()
		return
	}
	os.Exit(m.Run())
}

// serveEmulator runs an emulator without throttling, prints its URL and
// certificate, and stops when stdin closes (the parent is gone).
func serveEmulator() {
	emu, err := graphemu.New(graphemu.Options{Tenant: tenant, Clients: map[string]string{clientID: secret},
		Mailboxes: []string{user}, DisableThrottling: true})
	if err == nil {
		err = emu.Start()
	}
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	fmt.Printf("URL %s\nCERT %s\n", emu.URL(), base64.StdEncoding.EncodeToString(emu.CertPEM()))
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = emu.Close()
}

// childEmulator starts the emulator in a child process.
func childEmulator(b *testing.B) (graphURL, authority string, hc *http.Client) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), emuChildEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = stdin.Close(); _ = cmd.Wait() })
	sc := bufio.NewScanner(out)
	var base string
	pool := x509.NewCertPool()
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), " ")
		switch k {
		case "URL":
			base = v
		case "CERT":
			pem, _ := base64.StdEncoding.DecodeString(v)
			pool.AppendCertsFromPEM(pem)
		case "ERR":
			b.Fatal(v)
		}
		if base != "" && k == "CERT" {
			break
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	return base + "/v1.0", base + "/", &http.Client{Transport: tr}
}

// fileBody is a spooled message in a file, as imapsrc spools large ones.
type fileBody struct{ path string }

func (f fileBody) Open() (io.ReadCloser, error) { return os.Open(f.path) }
func (f fileBody) Size() int64 {
	st, _ := os.Stat(f.path)
	return st.Size()
}
func (f fileBody) Close() error { return nil }

// writeMessage spools a message with one random attachment of size bytes
// to a file, streaming, and returns its source key.
func writeMessage(b *testing.B, path string, size int) string {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	hdr := fmt.Sprintf("From: a@example.org\r\nSubject: %d bytes\r\nMessage-ID: <%d@bench>\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n", size, size)
	fmt.Fprintf(w, "%s--B\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n--B\r\n"+
		"Content-Type: application/octet-stream; name=big.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n", hdr)
	line := make([]byte, 57)
	enc := make([]byte, 76)
	for left := size; left > 0; left -= len(line) {
		n := min(left, len(line))
		_, _ = rand.Read(line[:n])
		base64.StdEncoding.Encode(enc, line[:n])
		_, _ = w.Write(enc[:base64.StdEncoding.EncodedLen(n)])
		_, _ = w.WriteString("\r\n")
	}
	_, _ = w.WriteString("--B--\r\n")
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	return migrate.HeaderHash([]byte(hdr))
}

// peaks samples the live heap and the anonymous RSS (memory the kernel
// cannot take back, unlike the spool file's mapped pages) until stop is
// closed.
func peaks(stop <-chan struct{}, heap, anon *atomic.Uint64) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for {
		metrics.Read(s)
		if v := s[0].Value.Uint64(); v > heap.Load() {
			heap.Store(v)
		}
		if v := rssAnon(); v > anon.Load() {
			anon.Store(v)
		}
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// statusBuf is reused by statusKB, so that sampling allocates nothing
// (the sampler must not count in alloc-MB/op). Only the sampler goroutine
// and the benchmark, not at the same time, call statusKB.
var statusBuf [8192]byte

// statusKB reads a "Name: N kB" line of /proc/self/status.
func statusKB(name string) float64 {
	fd, err := syscall.Open("/proc/self/status", syscall.O_RDONLY, 0)
	if err != nil {
		return 0
	}
	n, _ := syscall.Read(fd, statusBuf[:])
	_ = syscall.Close(fd)
	b := statusBuf[:max(n, 0)]
	i := bytes.Index(b, []byte("\n"+name+":"))
	if i < 0 {
		return 0
	}
	kb := 0.0
	for _, c := range b[i+len(name)+2:] {
		switch {
		case c >= '0' && c <= '9':
			kb = kb*10 + float64(c-'0')
		case c == ' ' || c == '\t':
		default:
			return kb
		}
	}
	return kb
}

// peakRSS resets the kernel's peak RSS mark (reset=true) or reads it (MB).
func peakRSS(reset bool) float64 {
	if reset {
		_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
		return 0
	}
	return statusKB("VmHWM") / 1024
}

// BenchmarkCreate_Memory creates one large message (a random attachment of
// 4, 16 or 64 MB, spooled to a file as imapsrc does) per op against the
// emulator in a child process, and reports what graphdst allocates per op
// and per MB of message, its peak live heap, its peak RSS (the kernel's
// mark, which counts the spool file's mapped pages) and its peak anonymous
// RSS (sampled each millisecond) while it runs.
// Memory flat in message size means alloc-MB/op and peak-heap-MB do not
// grow with the size.
func BenchmarkCreate_Memory(b *testing.B) {
	graphURL, authority, hc := childEmulator(b)
	// No pacing: the budget's upload window would make the op time Graph's
	// 0.5 MB/s, which is not what is measured here.
	unpaced := graphdst.Budget{Requests: 1 << 30, UploadBytes: 1 << 40}
	tg, err := graphdst.New(context.Background(), graphdst.Config{TenantID: tenant, ClientID: clientID, ClientSecret: secret,
		AuthorityHost: authority, GraphURL: graphURL, HTTPClient: hc, Budget: &unpaced})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	mb, err := tg.Mailbox(ctx, user)
	if err != nil {
		b.Fatal(err)
	}
	folder, err := mb.EnsureFolder(ctx, migrate.FolderPath{WellKnown: migrate.WellKnownInbox})
	if err != nil {
		b.Fatal(err)
	}
	for _, mbytes := range []int{4, 16, 64} {
		b.Run(fmt.Sprintf("%dMB", mbytes), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "msg.eml")
			key := writeMessage(b, path, mbytes<<20)
			body := fileBody{path}
			var peak, anon atomic.Uint64
			stop := make(chan struct{})
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			peakRSS(true)
			go peaks(stop, &peak, &anon)
			b.ResetTimer()
			for i := range b.N {
				nm := migrate.NewMessage{Meta: migrate.MessageMeta{SourceKey: fmt.Sprintf("%s-%d-%d", key, b.N, i), InternalDate: time.Now()}, Body: body}
				if _, err := mb.Create(ctx, folder, nm); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			close(stop)
			runtime.ReadMemStats(&after)
			alloc := float64(after.TotalAlloc-before.TotalAlloc) / float64(b.N)
			b.ReportMetric(alloc/(1<<20), "alloc-MB/op")
			b.ReportMetric(alloc/float64(mbytes<<20), "alloc-B/msg-B")
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
			b.ReportMetric(peakRSS(false), "peak-RSS-MB")
			b.ReportMetric(float64(anon.Load())/(1<<20), "peak-anon-RSS-MB")
		})
	}
}

func rssAnon() uint64 { return uint64(statusKB("RssAnon") * 1024) }
