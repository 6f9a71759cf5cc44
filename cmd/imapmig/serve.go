package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/imapmig/imapmig/imapsrc"
	"github.com/imapmig/imapmig/metrics"
	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/config"
	"github.com/imapmig/imapmig/migrate/httpapi"
	"github.com/imapmig/imapmig/migrate/model"
	"github.com/imapmig/imapmig/state"
	"github.com/imapmig/imapmig/webui"
)

func serveCmd() *cobra.Command {
	var cfgPath, logFormat string
	c := &cobra.Command{
		Use:   "serve --config FILE",
		Short: "run the daemon: API, scheduler and migrations; SIGHUP reloads the config",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cfgPath = cmp.Or(cfgPath, os.Getenv("IMAPMIG_CONFIG"))
			if cfgPath == "" {
				return errors.New("serve: --config FILE is required")
			}
			if logFormat != "text" && logFormat != "json" {
				return fmt.Errorf("serve: --log-format wants text or json, got %q", logFormat)
			}
			return serve(cfgPath, logFormat, c.ErrOrStderr())
		},
	}
	c.Flags().StringVar(&cfgPath, "config", "", "config file (YAML) (default $IMAPMIG_CONFIG)")
	c.Flags().StringVar(&logFormat, "log-format", "text", "log format: text or json")
	return c
}

func serve(cfgPath, logFormat string, stderr io.Writer) error {
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return err
	}
	if err := cfg.Preflight(); err != nil {
		return fmt.Errorf("%s: %w", cfgPath, err)
	}
	log, level := newLogger(stderr, logFormat, cfg.LogLevel)
	for _, w := range cfg.Warnings() {
		log.Warn("weak setting: " + w)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d, err := startDaemon(ctx, cfg, log, nil)
	if err != nil {
		return err
	}
	d.level = level
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			log.Info("shutting down")
			return d.Close()
		case <-hup:
			next, err := config.Load(cfgPath)
			if err == nil {
				err = next.Preflight()
			}
			if err != nil {
				log.Error("reload refused: config is invalid; keeping the running one", "err", err)
				continue
			}
			d.reload(ctx, next)
		case err := <-d.errc:
			_ = d.Close()
			return err
		}
	}
}

// newLogger returns the daemon's logger and its level, which a reload
// changes.
func newLogger(w io.Writer, format, level string) (*slog.Logger, *slog.LevelVar) {
	lv := new(slog.LevelVar)
	setLevel(lv, level)
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), lv
	}
	return slog.New(slog.NewTextHandler(w, opts)), lv
}

func setLevel(lv *slog.LevelVar, level string) {
	var l slog.Level
	_ = l.UnmarshalText([]byte(strings.ToUpper(level)))
	lv.Set(l)
}

// daemon is a running `imapmig serve`: the store, the engine and the API.
type daemon struct {
	cfg    atomic.Pointer[config.Config] // the running config; a reload swaps it
	level  *slog.LevelVar                // nil in the demo
	log    *slog.Logger
	store  *state.Store
	engine *migrate.Engine
	http   *http.Server
	api    *httpapi.Server
	ui     *webui.Console
	addr   string
	token  string
	errc   chan error
	cancel context.CancelFunc
	done   chan struct{}

	// metrics is /metrics (on the API listener with the token, and
	// without it on metrics_listen when set: metricsHTTP, metricsAddr).
	metrics     *metrics.Metrics
	metricsHTTP *http.Server
	metricsAddr string
}

// csvDir is the directory API requests may name CSV files under: csv_dir,
// by default the config file's directory (the working directory for a
// config that was not read from a file).
func csvDir(cfg *config.Config) string {
	switch {
	case cfg.CSVDir != "":
		return cfg.CSVDir
	case cfg.Path != "":
		return filepath.Dir(cfg.Path)
	}
	return "."
}

// wiring lets the demo and tests replace the adapters' construction.
type wiring struct {
	sources migrate.SourceFactory
	targets migrate.TargetFactory
}

func startDaemon(ctx context.Context, cfg *config.Config, log *slog.Logger, w *wiring) (*daemon, error) {
	key, err := state.LoadKey(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	st, err := state.Open(cfg.DataDir, key, nil)
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	token, err := httpapi.LoadToken(cfg.DataDir)
	if err != nil {
		st.Close()
		return nil, err
	}
	// Bodies a killed daemon left in the spool are plain customer mail.
	if n, err := imapsrc.PrepareSpoolDir(spoolDir(cfg.DataDir)); err != nil {
		st.Close()
		return nil, err
	} else if n > 0 {
		log.Info("removed spool files left by an earlier run", "files", n)
	}
	d := &daemon{log: log, store: st, token: token, errc: make(chan error, 2), done: make(chan struct{})}
	d.cfg.Store(cfg)
	d.metrics = metrics.New(engineFigures{d}, buildVersion())
	if w == nil {
		w = productionWiring(d.cfg.Load, cfg.DataDir, log, d.metrics)
	}
	w = observed(w, d.metrics)
	eng := migrate.New(migrate.Options{
		Store: st, Logger: log, Sources: w.sources, Targets: w.targets, Observer: d.metrics,
		MaxMessageBytes: cfg.MaxMessageBytes, MaxMailboxItems: cfg.MaxMailboxItems,
		ReportSender: cfg.ReportSender, ReportInterval: time.Duration(cfg.ReportInterval), UserRetries: cfg.FailedPassLimit,
	})
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d.engine, d.cancel = eng, cancel
	d.api = httpapi.NewServer(eng, token, log)
	d.api.SetCSVDir(csvDir(cfg))
	d.api.SetCutover(cutoverService{d})                                                        // cutover_daemon.go
	d.ui = webui.New(guardedEngine{eng, cutoverService{d}}, token, webui.Options{Logger: log}) // complete checks MX (cutover_daemon.go)
	d.http = &http.Server{Handler: d.handler(), ReadHeaderTimeout: 10 * time.Second}
	// A batch the config declares and that cannot be created (its CSV is
	// missing or invalid) stops the start, like any other config error.
	if err := d.reconcile(ctx, cfg); err != nil {
		cancel()
		st.Close()
		return nil, err
	}
	var tlsCfg *tls.Config
	if cfg.TLSCertFile != "" {
		if tlsCfg, err = httpapi.ServerTLS(cfg.TLSCertFile, cfg.TLSKeyFile); err != nil {
			cancel()
			st.Close()
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		cancel()
		st.Close()
		return nil, fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	d.addr = ln.Addr().String()
	if cfg.MetricsListen != "" {
		if err := d.serveMetrics(cfg.MetricsListen); err != nil {
			ln.Close()
			cancel()
			st.Close()
			return nil, fmt.Errorf("metrics_listen %s: %w", cfg.MetricsListen, err)
		}
	}
	go func() {
		if err := d.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.errc <- err
		}
	}()
	go d.ui.Run(runCtx)
	go func() {
		defer close(d.done)
		if err := eng.Run(runCtx); err != nil && !errors.Is(err, context.Canceled) {
			d.errc <- err
		}
	}()
	log.Info("imapmig daemon started", "listen", d.addr, "api", cfg.APIScheme()+"://"+d.addr, "data_dir", cfg.DataDir)
	return d, nil
}

// handler is the API listener's: the web console under /ui/ (sessions),
// "/" sends a browser there, everything else is the JSON API (bearer
// token).
func (d *daemon) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(webui.Prefix, d.ui)
	mux.Handle("GET /{$}", http.RedirectHandler(webui.Prefix, http.StatusSeeOther))
	mux.Handle("GET /metrics", metrics.RequireToken(d.token, d.metrics.Handler()))
	mux.Handle("/", d.api)
	return mux
}

// reconcile stores the config's endpoints and tenants and creates the
// batches it declares that do not exist yet. It returns what it could not
// apply, each with the config key and line.
func (d *daemon) reconcile(ctx context.Context, cfg *config.Config) error {
	var errs []error
	d.cfg.Store(cfg)
	for _, e := range cfg.Endpoints {
		if err := d.store.PutEndpoint(model.Endpoint{
			Name: e.Name, Host: e.Host, Port: e.Port, Security: e.Security, Auth: e.Auth,
			AcceptUntrustedCertificates: e.AcceptUntrustedCertificates,
			MaxConcurrentMigrations:     e.MaxConcurrentMigrations, MaxConcurrentIncrementalSyncs: e.MaxConcurrentIncrementalSyncs,
			MaxConnectionsPerUser: e.MaxConnectionsPerUser,
			MasterUser:            e.MasterUser, CAFile: e.CAFile,
		}); err != nil {
			d.log.Error("store endpoint", "endpoint", e.Name, "err", err)
		}
	}
	for _, t := range cfg.Tenants {
		if err := d.store.PutTenant(model.Tenant{
			Name: t.Name, TenantID: t.TenantID, ClientID: t.ClientID, Credential: t.Credential(),
			AuthorityHost: t.AuthorityHost, GraphURL: t.GraphURL,
		}); err != nil {
			d.log.Error("store tenant", "tenant", t.Name, "err", err)
		}
	}
	for i, b := range cfg.Batches {
		existing, err := d.store.Batch(b.Name)
		if err == nil {
			if b.Autostart && existing.Status == model.BatchCreated {
				if err := d.engine.StartBatch(ctx, b.Name); err != nil {
					d.log.Error("autostart batch", "batch", b.Name, "err", err)
				}
			}
			continue
		}
		res, err := d.engine.CreateBatch(ctx, migrate.BatchSpec{
			Name: b.Name, Endpoint: b.Endpoint, Tenant: b.Tenant, CSVPath: b.CSV,
			Autostart: b.Autostart, SkipInvalidRows: b.SkipInvalidRows, FromConfig: true,
			Options: model.BatchOptions{
				ExcludeFolders: b.ExcludeFolders, IncludeFolders: b.IncludeFolders,
				ReceivedAfter: b.ReceivedAfter.Time, StartAfter: b.StartAfter.Time, CompleteAfter: b.CompleteAfter.Time,
				SyncInterval: time.Duration(b.SyncInterval), NotificationEmails: b.NotificationEmails,
				MigrateDeletedItems: b.DeletedItems(),
			},
		})
		if err != nil {
			d.log.Error("batch from config not created", "batch", b.Name, "csv", b.CSV, "err", err)
			key := fmt.Sprintf("batches[%d]", i)
			var pe *fs.PathError
			if errors.As(err, &pe) || strings.Contains(strings.ToLower(err.Error()), "csv") {
				key += ".csv"
			}
			errs = append(errs, &config.FieldError{Path: key, Line: cfg.LineOf(key), Msg: fmt.Sprintf("batch %s not created: %v", b.Name, err)})
			continue
		}
		d.log.Info("batch created from config", "batch", b.Name, "users", res.Users, "status", res.Batch.Status)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s: %w", cfg.Path, errors.Join(errs...))
	}
	return nil
}

// Close stops the engine at the next message boundary, the API, and closes
// the store.
func (d *daemon) Close() error {
	d.cancel()
	// The engine cuts creates still on the wire after its shutdown grace
	// (2 s); open API requests (a following watch) get 3 s, then are
	// closed. A stop takes a few seconds, never a large upload's minutes.
	shutCtx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := d.http.Shutdown(shutCtx); err != nil {
		_ = d.http.Close()
	}
	if d.metricsHTTP != nil {
		if err := d.metricsHTTP.Shutdown(shutCtx); err != nil {
			_ = d.metricsHTTP.Close()
		}
	}
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		d.log.Warn("engine did not stop in time")
	}
	if _, err := imapsrc.DiscardSpool(spoolDir(d.cfg.Load().DataDir)); err != nil {
		d.log.Error("spool files not removed", "err", err)
	}
	return d.store.Close()
}
