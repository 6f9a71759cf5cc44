package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"net/http"

	"github.com/imapmig/imapmig/graphdst"
	"github.com/imapmig/imapmig/imapsrc"
	"github.com/imapmig/imapmig/metrics"
	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/config"
	"github.com/imapmig/imapmig/migrate/model"
)

// productionWiring builds the real adapters from the config: imapsrc for
// endpoints, graphdst for tenants.
// The tenant is looked up in the running config (cur) each time, so a
// tenant added by a reload is found.
func productionWiring(cur func() *config.Config, dataDir string, log *slog.Logger, m *metrics.Metrics) *wiring {
	spool := spoolDir(dataDir)
	return &wiring{
		sources: func(ctx context.Context, ep model.Endpoint) (migrate.SourceConnector, error) {
			return newSource(ep, spool, nil, log)
		},
		targets: func(ctx context.Context, t model.Tenant) (migrate.Target, error) {
			ct, ok := cur().Tenant(t.Name)
			if !ok {
				return nil, migrate.FailUser("TenantNotFound", fmt.Errorf("tenant %q is not in the config", t.Name))
			}
			return newTarget(ctx, ct, nil, log, m, time.Duration(cur().GraphOutageLimit))
		},
	}
}

// spoolDir is where imapsrc spools large bodies: <data_dir>/spool, 0700.
// The daemon sweeps it at start and at shutdown (imapsrc.PrepareSpoolDir,
// imapsrc.DiscardSpool).
func spoolDir(dataDir string) string { return filepath.Join(dataDir, "spool") }

// newSource builds an imapsrc connector for an endpoint; extra is trusted
// in addition to the endpoint's CA file (the demo's own certificate).
func newSource(ep model.Endpoint, spoolDir string, extra *x509.CertPool, log *slog.Logger) (migrate.SourceConnector, error) {
	roots := extra
	if ep.CAFile != "" {
		pem, err := os.ReadFile(ep.CAFile)
		if err != nil {
			return nil, migrate.Fatal(fmt.Errorf("endpoint %s: ca_file: %w", ep.Name, err))
		}
		if roots == nil {
			if roots, err = x509.SystemCertPool(); err != nil {
				roots = x509.NewCertPool()
			}
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, migrate.Fatal(fmt.Errorf("endpoint %s: ca_file %s holds no PEM certificate", ep.Name, ep.CAFile))
		}
	}
	return imapsrc.New(imapsrc.Config{
		Host: ep.Host, Port: ep.Port, Security: imapsrc.Security(ep.Security), Auth: ep.Auth,
		AcceptUntrustedCertificates: ep.AcceptUntrustedCertificates, RootCAs: roots, MasterUser: ep.MasterUser,
		SpoolDir: spoolDir, Logger: log.With("endpoint", ep.Name), MaxConnectionsPerUser: ep.MaxConnectionsPerUser,
	})
}

// newTarget builds the Graph target of a tenant (graphdst). extra is
// trusted in addition to the tenant's CA file (the demo's emulator). A bad
// credential fails the users of the tenant, not the daemon. m (nil: none)
// counts the Graph requests and the governors' throttling and waits.
// outage is how long a request rides out a Graph outage (0: graphdst's
// default; config graph_outage_limit).
func newTarget(ctx context.Context, t config.Tenant, extra *x509.CertPool, log *slog.Logger, m *metrics.Metrics, outage time.Duration) (migrate.Target, error) {
	cfg := graphdst.Config{TenantID: t.TenantID, ClientID: t.ClientID, ManagedIdentity: t.ManagedIdentity,
		AuthorityHost: t.AuthorityHost, GraphURL: t.GraphURL, Logger: log.With("tenant", t.Name), OutageLimit: outage}
	switch {
	case t.ClientSecretEnv != "" || t.ClientSecretFile != "":
		secret, err := t.ClientSecret()
		if err != nil {
			return nil, migrate.FailUser("TenantCredentialError", err)
		}
		cfg.ClientSecret = secret
	case t.CertificateFile != "":
		pem, err := os.ReadFile(t.CertificateFile)
		if err != nil {
			return nil, migrate.FailUser("TenantCredentialError", fmt.Errorf("tenant %s: certificate_file: %w", t.Name, err))
		}
		cfg.CertificatePEM = pem
	}
	roots := extra
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, migrate.FailUser("TenantCredentialError", fmt.Errorf("tenant %s: ca_file: %w", t.Name, err))
		}
		if roots == nil {
			if roots, err = x509.SystemCertPool(); err != nil {
				roots = x509.NewCertPool()
			}
		}
		roots.AppendCertsFromPEM(pem)
	}
	var base http.RoundTripper = http.DefaultTransport
	if roots != nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
		base = tr
	}
	if m != nil {
		base = m.GraphTransport(base, cmp.Or(t.GraphURL, graphdst.DefaultGraphURL))
		cfg.Observer = m
	}
	cfg.HTTPClient = &http.Client{Transport: base}
	tgt, err := graphdst.New(ctx, cfg)
	if err != nil {
		return nil, migrate.FailUser("TenantConfigurationError", err)
	}
	return tgt, nil
}
