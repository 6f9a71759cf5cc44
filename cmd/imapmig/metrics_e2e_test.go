package main

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/imapmig/imapmig/testenv/graphemu"
	"github.com/imapmig/imapmig/testenv/httpcall"
	"github.com/imapmig/imapmig/testenv/mailgen"
	"github.com/imapmig/imapmig/testenv/promseries"
)

// getMetrics GETs url with an optional bearer token.
func getMetrics(t *testing.T, url, token string) (int, []byte) {
	t.Helper()
	code, b, _ := httpcall.Do(t, "GET", url, token, nil)
	return code, b
}

// sumSeries adds the values of a family's series whose labels include
// want (counters and gauges).
func sumSeries(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("%s is not exported", name)
	}
	var sum float64
	for _, m := range f.GetMetric() {
		if !promseries.Matches(m, want) {
			continue
		}
		sum += m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
	}
	return sum
}

// The daemon's /metrics during a real migration (Dovecot → the real
// binary → the Graph emulator, throttling on): the API listener wants the
// token, metrics_listen does not; the counters agree with what the
// emulator saw; promtool accepts the exposition.
func TestE2E_MetricsDuringAMigration(t *testing.T) {
	e := newE2E(t, "met", 1, mailgen.Options{Messages: 40}, graphemu.Options{TimeScale: 60,
		Latency: 10 * time.Millisecond, Limits: graphemu.Limits{Concurrency: 2, Requests: 30, UploadBytes: 1 << 20}})
	metricsAddr := freePort(t)
	e.appendConfig("metrics_listen: " + metricsAddr + "\n")
	e.start()
	token := e.apiToken()
	apiURL := "http://" + e.addr + "/metrics"
	if code, _ := getMetrics(t, apiURL, ""); code != http.StatusUnauthorized {
		t.Errorf("/metrics on the API without the token: %d, want 401", code)
	}
	if code, _ := getMetrics(t, apiURL, "not-the-token"); code != http.StatusUnauthorized {
		t.Errorf("/metrics on the API with a wrong token: %d, want 401", code)
	}

	e.newBatch("met", "--autostart")
	if v := e.waitSynced("met", 10*time.Minute); v.Status != "Synced" && v.Status != "SyncedWithErrors" {
		t.Fatalf("batch: %+v", v)
	}
	u := e.user(e.users[0].email)
	st := e.emu.Stats()

	// The pass's histogram is observed as the pass returns, just after the
	// user shows Synced: poll for it.
	var fams map[string]*dto.MetricFamily
	var body []byte
	deadline := time.Now().Add(30 * time.Second)
	for {
		var code int
		code, body = getMetrics(t, "http://"+metricsAddr+"/metrics", "")
		if code != 200 {
			t.Fatalf("/metrics on metrics_listen: %d %s", code, body)
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		var err error
		if fams, err = p.TextToMetricFamilies(bytes.NewReader(body)); err != nil {
			t.Fatal(err)
		}
		if sumSeries(t, fams, "imapmig_pass_duration_seconds", map[string]string{"kind": "initial", "outcome": "ok"}) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no initial pass observed:\n%s", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, withToken := getMetrics(t, apiURL, token); code != 200 || !bytes.Contains(withToken, []byte("imapmig_copied_items_total")) {
		t.Errorf("/metrics on the API with the token: %d", code)
	}

	if got := sumSeries(t, fams, "imapmig_copied_items_total", nil); got != float64(st.Creates) || got != float64(u.SyncedItemCount) {
		t.Errorf("imapmig_copied_items_total %v; the emulator created %d, the user has %d in the target", got, st.Creates, u.SyncedItemCount)
	}
	if got := sumSeries(t, fams, "imapmig_copied_bytes_total", nil); got < float64(u.SyncedBytes) || got == 0 {
		t.Errorf("imapmig_copied_bytes_total %v, the user's SyncedBytes %d", got, u.SyncedBytes)
	}
	if got := sumSeries(t, fams, "imapmig_skipped_items_total", nil); got != float64(u.SkippedItemCount) {
		t.Errorf("imapmig_skipped_items_total %v, the user skipped %d", got, u.SkippedItemCount)
	}
	reqs := sumSeries(t, fams, "imapmig_graph_requests_total", nil)
	if reqs == 0 || sumSeries(t, fams, "imapmig_graph_requests_total", map[string]string{"method": "POST"}) == 0 {
		t.Errorf("Graph requests: %v in all, none POST?", reqs)
	}
	// Every request the emulator counted came through the transport (the
	// emulator counts admitted and throttled Graph requests, no tokens).
	if reqs < float64(st.Requests) {
		t.Errorf("imapmig_graph_requests_total %v < the emulator's %d requests", reqs, st.Requests)
	}
	if st.Throttled == 0 {
		t.Fatalf("the emulator never throttled: the throttling counter is not proven: %+v", st)
	}
	if got := sumSeries(t, fams, "imapmig_graph_throttled_total", nil); got == 0 || got > float64(st.Throttled) {
		t.Errorf("imapmig_graph_throttled_total %v, the emulator answered %d 429s", got, st.Throttled)
	}
	if got := sumSeries(t, fams, "imapmig_graph_governor_wait_seconds_total", nil); got <= 0 {
		t.Errorf("imapmig_graph_governor_wait_seconds_total %v under throttling", got)
	}
	if got := sumSeries(t, fams, "imapmig_users", map[string]string{"batch": "met", "status": "Synced"}); got != 1 {
		t.Errorf("imapmig_users{batch=met,status=Synced} %v", got)
	}
	if got := sumSeries(t, fams, "imapmig_batch_last_successful_sync_timestamp_seconds", map[string]string{"batch": "met"}); got < float64(time.Now().Add(-time.Hour).Unix()) {
		t.Errorf("last successful sync %v", got)
	}
	if _, ok := fams["imapmig_build_info"]; !ok {
		t.Error("no imapmig_build_info")
	}

	if path, err := exec.LookPath("promtool"); err == nil {
		cmd := exec.Command(path, "check", "metrics")
		cmd.Stdin = bytes.NewReader(body)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	} else if os.Getenv("CI") != "" {
		t.Error("promtool is missing (testenv/install.sh installs Debian's prometheus package)")
	} else {
		t.Log("promtool not installed: exposition not checked")
	}
}
