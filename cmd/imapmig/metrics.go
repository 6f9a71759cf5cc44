package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/imapmig/imapmig/metrics"
	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/model"
)

// engineFigures lets the metrics read the daemon's engine at scrape time
// (the engine is built after the metrics it reports to).
type engineFigures struct{ d *daemon }

func (f engineFigures) Batches() ([]migrate.BatchView, error) { return f.d.engine.Batches() }
func (f engineFigures) Users(batch string) ([]migrate.UserView, error) {
	return f.d.engine.Users(batch)
}

// observed feeds the metrics from the adapters: every source connector's
// errors by kind. (Graph requests are counted by newTarget's transport.)
func observed(w *wiring, m *metrics.Metrics) *wiring {
	src := w.sources
	return &wiring{
		targets: w.targets,
		sources: func(ctx context.Context, ep model.Endpoint) (migrate.SourceConnector, error) {
			c, err := src(ctx, ep)
			if err != nil {
				return nil, err
			}
			return m.Source(c), nil
		},
	}
}

// serveMetrics serves /metrics without a token on metrics_listen.
func (d *daemon) serveMetrics(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", d.metrics.Handler())
	d.metricsHTTP = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	d.metricsAddr = ln.Addr().String()
	go func() {
		if err := d.metricsHTTP.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.errc <- err
		}
	}()
	return nil
}
