package metrics_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/imapmig/imapmig/imapsrc"
	"github.com/imapmig/imapmig/metrics"
	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/memtarget"
	"github.com/imapmig/imapmig/migrate/sourcetest"
	"github.com/imapmig/imapmig/state"
	"github.com/imapmig/imapmig/state/statetest"
	"github.com/imapmig/imapmig/testenv/httpcall"
	"github.com/imapmig/imapmig/testenv/memimap"
	"github.com/imapmig/imapmig/testenv/promseries"
)

// world is an engine over the in-memory IMAP server (through imapsrc, the
// real IMAP client) and memtarget, with the metrics hooked in as the
// daemon hooks them.
type world struct {
	eng *migrate.Engine
	m   *metrics.Metrics
	srv *memimap.Server
	tgt *memtarget.Target
}

func newWorld(t *testing.T, maxMessageBytes int64, addrs ...string) *world {
	t.Helper()
	srv := memimap.Start(t, memimap.Options{UserPrefix: "met"})
	conn, err := imapsrc.New(imapsrc.Config{Host: srv.Host, Port: srv.Port, Security: imapsrc.SecurityNone, SpoolDir: t.TempDir(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	st := statetest.MustOpen(t)
	statetest.PutEndpoint(t, st, srv.Host, 4)
	w := &world{srv: srv, tgt: memtarget.New(addrs...)}
	var eng *migrate.Engine
	w.m = metrics.New(figures{&eng}, "v-test")
	eng = migrate.New(migrate.Options{
		Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Observer: w.m, MaxMessageBytes: maxMessageBytes,
		Sources:      func(context.Context, state.Endpoint) (migrate.SourceConnector, error) { return w.m.Source(conn), nil },
		Targets:      func(context.Context, state.Tenant) (migrate.Target, error) { return w.tgt, nil },
		RetryBackoff: time.Millisecond, UserRetryBackoff: 10 * time.Millisecond, UserRetries: 1,
		ScanInterval: 20 * time.Millisecond, MinScanGap: time.Millisecond,
	})
	w.eng = eng
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return w
}

// figures lets the collector read an engine built after the metrics.
type noFigures struct{}

func (noFigures) Batches() ([]migrate.BatchView, error)    { return nil, nil }
func (noFigures) Users(string) ([]migrate.UserView, error) { return nil, nil }

type figures struct{ e **migrate.Engine }

func (f figures) Batches() ([]migrate.BatchView, error)          { return (*f.e).Batches() }
func (f figures) Users(batch string) ([]migrate.UserView, error) { return (*f.e).Users(batch) }

// value is one series' value in a gathering (counter, gauge or a
// histogram's count); ok is false when the series is absent.
func value(t *testing.T, m *metrics.Metrics, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.GetMetric() {
			if !promseries.Matches(s, labels) {
				continue
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				return s.GetCounter().GetValue(), true
			case dto.MetricType_GAUGE:
				return s.GetGauge().GetValue(), true
			case dto.MetricType_HISTOGRAM:
				return float64(s.GetHistogram().GetSampleCount()), true
			}
		}
	}
	return 0, false
}

// waitValue polls until the series has want (a generous deadline: the
// machine may be loaded).
func waitValue(t *testing.T, m *metrics.Metrics, name string, labels map[string]string, want float64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		v, _ := value(t, m, name, labels)
		if v == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s%v = %v, want %v", name, labels, v, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestMetrics_CountersMoveDuringAMigration: a real migration moves every
// hook-fed counter by exactly what happened, and the scrape-time gauges
// show the engine's figures.
func TestMetrics_CountersMoveDuringAMigration(t *testing.T) {
	const ann, bob = "ann@contoso.example", "bob@contoso.example"
	w := newWorld(t, 4000, ann, bob)
	login := w.srv.NewUser(t)
	sd := sourcetest.IMAPBackend(w.srv).Seeder(t, login)
	day := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	var wantBytes int64
	for i := range 6 {
		raw := sourcetest.Message(fmt.Sprintf("m %d", i), strings.Repeat("x", 100*i))
		wantBytes += int64(len(raw))
		sd.Append(t, "INBOX", raw, nil, day.Add(time.Duration(i)*time.Hour))
	}
	sd.Append(t, "INBOX", sourcetest.Message("too big", strings.Repeat("y", 5000)), nil, day)
	sd.Close()

	for _, name := range []string{"imapmig_copied_items_total", "imapmig_copied_bytes_total"} {
		if v, ok := value(t, w.m, name, nil); !ok || v != 0 {
			t.Fatalf("%s before any pass: %v %v", name, v, ok)
		}
	}
	// bob's password is wrong: an IMAP authentication error and a Failed user.
	csv := fmt.Sprintf("EmailAddress,UserName,Password\n%s,%s,%s\n%s,%s,wrong\n", ann, login.UserName, login.Password, bob, login.UserName)
	if _, err := w.eng.CreateBatch(context.Background(), migrate.BatchSpec{Name: "wave1", Endpoint: "ep", Tenant: "tn", Autostart: true,
		CSV: []byte(csv), Options: state.BatchOptions{MigrateDeletedItems: true, SyncInterval: time.Hour}}); err != nil {
		t.Fatal(err)
	}
	waitValue(t, w.m, "imapmig_users", map[string]string{"batch": "wave1", "status": "Synced"}, 1)
	waitValue(t, w.m, "imapmig_users", map[string]string{"batch": "wave1", "status": "Failed"}, 1)
	waitValue(t, w.m, "imapmig_pass_duration_seconds", map[string]string{"kind": "initial", "outcome": "ok"}, 1)

	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"imapmig_copied_items_total", nil, 6},
		{"imapmig_copied_bytes_total", nil, float64(wantBytes)},
		{"imapmig_skipped_items_total", map[string]string{"reason": migrate.ReasonMessageTooLarge}, 1},
		{"imapmig_skipped_items_total", map[string]string{"reason": migrate.ReasonMalformedMessage}, 0},
		{"imapmig_users", map[string]string{"batch": "wave1", "status": "Queued"}, 0},
		{"imapmig_queued_users", nil, 0},
		{"imapmig_batch_synced_items", map[string]string{"batch": "wave1"}, 6},
		{"imapmig_batch_status", map[string]string{"batch": "wave1", "status": "SyncedWithErrors"}, 1},
	} {
		if v, ok := value(t, w.m, c.name, c.labels); !ok || v != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, v, ok, c.want)
		}
	}
	if v, _ := value(t, w.m, "imapmig_imap_errors_total", map[string]string{"kind": "auth"}); v < 1 {
		t.Errorf("IMAP auth errors: %v, want at least 1", v)
	}
	if v, _ := value(t, w.m, "imapmig_imap_errors_total", map[string]string{"kind": "other"}); v != 0 {
		t.Errorf("unclassified IMAP errors: %v", v)
	}
	ts, ok := value(t, w.m, "imapmig_batch_last_successful_sync_timestamp_seconds", map[string]string{"batch": "wave1"})
	if b, _ := w.eng.Batch("wave1"); !ok || b.LastSyncedDateTime == nil || int64(ts) != b.LastSyncedDateTime.Unix() {
		t.Errorf("last sync timestamp %v (present %v), batch says %v", ts, ok, b.LastSyncedDateTime)
	}

	// An incremental pass with new mail: the counters move on by exactly it.
	sd = sourcetest.IMAPBackend(w.srv).Seeder(t, login)
	raw := sourcetest.Message("new", "hello")
	sd.Append(t, "INBOX", raw, nil, day)
	sd.Close()
	if err := w.eng.SyncNowUser(context.Background(), ann); err != nil {
		t.Fatal(err)
	}
	waitValue(t, w.m, "imapmig_pass_duration_seconds", map[string]string{"kind": "incremental", "outcome": "ok"}, 1)
	waitValue(t, w.m, "imapmig_copied_items_total", nil, 7)
	waitValue(t, w.m, "imapmig_copied_bytes_total", nil, float64(wantBytes+int64(len(raw))))

	// The exposition passes promtool's checks.
	promtoolCheck(t, scrape(t, w.m.Handler(), ""))
}

func scrape(t *testing.T, h http.Handler, token string) []byte {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	code, b, _ := httpcall.Do(t, "GET", srv.URL+"/metrics", token, nil)
	if code != 200 {
		t.Fatalf("GET /metrics: %d %s", code, b)
	}
	return b
}

// promtoolCheck runs `promtool check metrics` (Debian's prometheus
// package) on an exposition. Without promtool the test is skipped, except
// in CI (CI set), where testenv/install.sh must have installed it.
func promtoolCheck(t *testing.T, exposition []byte) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool is missing (testenv/install.sh installs Debian's prometheus package)")
		}
		t.Skip("promtool not installed (Debian package prometheus; testenv/install.sh installs it): exposition not checked")
	}
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = bytes.NewReader(exposition)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) || err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestPromtool_RejectsABadExposition proves the promtool check can fail.
func TestPromtool_RejectsABadExposition(t *testing.T) {
	if _, err := exec.LookPath("promtool"); err != nil {
		t.Skip("promtool not installed")
	}
	cmd := exec.Command("promtool", "check", "metrics")
	cmd.Stdin = strings.NewReader("# HELP imapmig_copied_items copied\n# TYPE imapmig_copied_items counter\nimapmig_copied_items 1\n")
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("promtool accepted a counter without _total:\n%s", out)
	}
}

// TestRequireToken: /metrics on the API listener answers only with the
// API token.
func TestRequireToken(t *testing.T) {
	h := metrics.RequireToken("s3cret", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
	for _, c := range []struct {
		auth string
		want int
	}{{"", 401}, {"Bearer wrong", 401}, {"s3cret", 401}, {"Bearer s3cret", 200}} {
		r := httptest.NewRequest("GET", "/metrics", nil)
		if c.auth != "" {
			r.Header.Set("Authorization", c.auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != c.want {
			t.Errorf("Authorization %q: %d, want %d", c.auth, rec.Code, c.want)
		}
	}
}
