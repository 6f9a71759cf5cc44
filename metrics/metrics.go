package metrics

import (
	"net/http"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/imapmig/imapmig/migrate"
)

// Label values known in advance: their series exist (at 0) from the start,
// so rate() and dashboards work before the first event.
var (
	passKinds    = []string{"initial", "incremental", "final"}
	passOutcomes = []string{"ok", "stopped", "failed"}
	skipReasons  = []string{migrate.ReasonMessageTooLarge, migrate.ReasonMailboxItemLimit, migrate.ReasonMalformedMessage}
)

// passBuckets spans a no-change delta (seconds) to an initial sync of a
// large mailbox (a day).
var passBuckets = []float64{1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400}

// Metrics is the daemon's registry and the hooks that feed it. It
// implements migrate.Observer and graphdst's governor observer.
type Metrics struct {
	reg *prometheus.Registry

	copiedItems  prometheus.Counter
	copiedBytes  prometheus.Counter
	skipped      *prometheus.CounterVec
	passDuration *prometheus.HistogramVec
	imapErrors   *prometheus.CounterVec
	graphReqs    *prometheus.CounterVec
	throttled    prometheus.Counter
	govWait      prometheus.Counter

	own []prometheus.Collector // the imapmig_ metrics (tests list their names)
}

var _ migrate.Observer = (*Metrics)(nil)

// New builds the registry: the engine's figures (read at scrape time from
// fig), the hooks' counters, build info, and the Go runtime and process
// collectors.
func New(fig Figures, version string) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.copiedItems = prometheus.NewCounter(prometheus.CounterOpts{Name: "imapmig_copied_items_total",
		Help: "Messages created in the target."})
	m.copiedBytes = prometheus.NewCounter(prometheus.CounterOpts{Name: "imapmig_copied_bytes_total",
		Help: "Bytes (source message size) of the messages created in the target."})
	m.skipped = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "imapmig_skipped_items_total",
		Help: "Messages recorded as skipped, by reason (each message once)."}, []string{"reason"})
	m.passDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "imapmig_pass_duration_seconds",
		Help:    "Duration of a user's pass, by kind (initial, incremental, final) and outcome (ok, stopped, failed).",
		Buckets: passBuckets}, []string{"kind", "outcome"})
	m.imapErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "imapmig_imap_errors_total",
		Help: "Errors from the IMAP source, by kind."}, []string{"kind"})
	m.graphReqs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "imapmig_graph_requests_total",
		Help: "HTTP requests to Microsoft Graph, by method and status code (a $batch is one request)."}, []string{"method", "code"})
	m.throttled = prometheus.NewCounter(prometheus.CounterOpts{Name: "imapmig_graph_throttled_total",
		Help: "Graph 429 answers (requests and requests inside $batch) that fenced a mailbox until Retry-After."})
	m.govWait = prometheus.NewCounter(prometheus.CounterOpts{Name: "imapmig_graph_governor_wait_seconds_total",
		Help: "Time Graph requests waited for a mailbox's budget (concurrency, request and upload windows, 429 fence)."})
	build := prometheus.NewGauge(prometheus.GaugeOpts{Name: "imapmig_build_info",
		Help:        "Always 1; the labels are the daemon's version and Go version.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()}})
	build.Set(1)
	for _, k := range passKinds {
		for _, o := range passOutcomes {
			m.passDuration.WithLabelValues(k, o)
		}
	}
	for _, r := range skipReasons {
		m.skipped.WithLabelValues(r)
	}
	for _, k := range imapErrorKinds {
		m.imapErrors.WithLabelValues(k)
	}
	m.own = []prometheus.Collector{m.copiedItems, m.copiedBytes, m.skipped, m.passDuration, m.imapErrors,
		m.graphReqs, m.throttled, m.govWait, build, newCollector(fig)}
	m.reg.MustRegister(m.own...)
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is the registry behind Handler (tests gather from it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// ItemCopied implements migrate.Observer.
func (m *Metrics) ItemCopied(bytes int64) {
	m.copiedItems.Inc()
	m.copiedBytes.Add(float64(bytes))
}

// ItemSkipped implements migrate.Observer.
func (m *Metrics) ItemSkipped(reason string) { m.skipped.WithLabelValues(reason).Inc() }

// PassFinished implements migrate.Observer.
func (m *Metrics) PassFinished(kind, outcome string, d time.Duration) {
	m.passDuration.WithLabelValues(kind, outcome).Observe(d.Seconds())
}

// Throttled is graphdst's governor observer: a 429 fenced a mailbox.
func (m *Metrics) Throttled() { m.throttled.Inc() }

// Waited is graphdst's governor observer: a request waited d for budget.
func (m *Metrics) Waited(d time.Duration) { m.govWait.Add(d.Seconds()) }
