package config

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/imapmig/imapmig/migrate"
)

// Validate checks values and references; every problem is reported.
func (c *Config) Validate() error {
	v := &validator{c: c}
	v.top()
	endpoints := section(v, "endpoints", "endpoint", c.Endpoints, func(e Endpoint) string { return e.Name }, v.endpoint)
	tenants := section(v, "tenants", "tenant", c.Tenants, func(t Tenant) string { return t.Name }, v.tenant)
	v.batches(endpoints, tenants)
	return errors.Join(v.errs...)
}

// A validator collects the problems of one config, each with its key and
// line.
type validator struct {
	c    *Config
	errs []error
}

func (v *validator) bad(path, format string, a ...any) {
	v.errs = append(v.errs, &FieldError{Path: path, Line: v.c.lineOf(path), Msg: fmt.Sprintf(format, a...)})
}

// top checks the keys at the top level.
func (v *validator) top() {
	c, bad := v.c, v.bad
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen", "want host:port, got %q", c.Listen)
	}
	if c.DNSResolver != "" {
		if h, p, err := net.SplitHostPort(c.DNSResolver); err != nil || h == "" || p == "" {
			bad("dns_resolver", "want host:port (for example 192.0.2.53:53), got %q", c.DNSResolver)
		}
	}
	if c.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			bad("metrics_listen", "want host:port, got %q", c.MetricsListen)
		} else if c.MetricsListen == c.Listen {
			bad("metrics_listen", "is the API's listen address: leave it empty to serve /metrics on the API listener (with the token)")
		}
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		if c.TLSCertFile == "" {
			bad("tls_cert_file", "tls_key_file is set: set tls_cert_file too (or neither)")
		} else {
			bad("tls_key_file", "tls_cert_file is set: set tls_key_file too (or neither)")
		}
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		bad("log_level", "want debug, info, warn or error, got %q", c.LogLevel)
	}
	if c.MaxMessageBytes < 0 {
		bad("max_message_bytes", "must be positive")
	}
	if c.MaxMailboxItems < 0 {
		bad("max_mailbox_items", "must be positive")
	}
	if c.FailedPassLimit < 0 {
		bad("failed_pass_limit", "must be positive")
	}
	if c.GraphOutageLimit < 0 {
		bad("graph_outage_limit", "must be positive")
	}
	if c.ReportSender != "" && !isAddress(c.ReportSender) {
		bad("report_sender", "not an email address: %q", c.ReportSender)
	}
}

// uniqueName checks that a section's entry has a name not seen before, and
// adds it to seen.
func (v *validator) uniqueName(p, kind, name string, seen map[string]bool) {
	if name == "" {
		v.bad(p+".name", "required")
	} else if seen[name] {
		v.bad(p+".name", "%s %q declared twice", kind, name)
	}
	seen[name] = true
}

// section checks each entry of a named section (endpoints, tenants) with
// check, under its path key[i], and that its name is unique; it returns
// the names.
func section[T any](v *validator, key, kind string, entries []T, name func(T) string, check func(p string, e T)) map[string]bool {
	names := map[string]bool{}
	for i, e := range entries {
		p := fmt.Sprintf("%s[%d]", key, i)
		v.uniqueName(p, kind, name(e), names)
		check(p, e)
	}
	return names
}

// endpoint checks one endpoint, at path p.
func (v *validator) endpoint(p string, e Endpoint) {
	bad := v.bad
	if e.Host == "" {
		bad(p+".host", "required")
	}
	if e.Port < 1 || e.Port > 65535 {
		bad(p+".port", "must be 1-65535, got %d", e.Port)
	}
	if e.Security != "ssl" && e.Security != "tls" && e.Security != "none" {
		bad(p+".security", "want ssl, tls or none, got %q", e.Security)
	}
	if e.Auth != "plain" && e.Auth != "login" {
		bad(p+".auth", "want plain or login, got %q", e.Auth)
	}
	if e.MasterUser != "" && e.Auth != "plain" {
		bad(p+".master_user", "needs auth: plain (SASL PLAIN carries the authorization identity)")
	}
	if e.MaxConcurrentMigrations < 1 {
		bad(p+".max_concurrent_migrations", "must be at least 1")
	}
	if e.MaxConnectionsPerUser < 1 {
		bad(p+".max_connections_per_user", "must be at least 1")
	}
	if e.MaxConcurrentIncrementalSyncs < 1 {
		bad(p+".max_concurrent_incremental_syncs", "must be at least 1")
	} else if e.MaxConcurrentIncrementalSyncs > e.MaxConcurrentMigrations {
		bad(p+".max_concurrent_incremental_syncs", "must not exceed max_concurrent_migrations (%d)", e.MaxConcurrentMigrations)
	}
}

// tenant checks one tenant, at path p.
func (v *validator) tenant(p string, t Tenant) {
	bad := v.bad
	if t.TenantID == "" {
		bad(p+".tenant_id", "required")
	}
	if t.ClientID == "" && !t.ManagedIdentity {
		bad(p+".client_id", "required")
	}
	n := 0
	for _, set := range []bool{t.ClientSecretEnv != "", t.ClientSecretFile != "", t.CertificateFile != "", t.ManagedIdentity} {
		if set {
			n++
		}
	}
	if n != 1 {
		bad(p, "set exactly one of client_secret_env, client_secret_file, certificate_file, managed_identity")
	}
	for key, u := range map[string]string{"authority_host": t.AuthorityHost, "graph_url": t.GraphURL} {
		if u == "" {
			continue
		}
		if pu, err := url.Parse(u); err != nil || pu.Scheme != "https" || pu.Host == "" {
			bad(p+"."+key, "want an https URL, got %q", u)
		}
	}
}

// batches checks the config's batches and their references.
func (v *validator) batches(endpoints, tenants map[string]bool) {
	c, bad := v.c, v.bad
	batches := map[string]bool{}
	for i, b := range c.Batches {
		p := fmt.Sprintf("batches[%d]", i)
		if !migrate.ValidName(b.Name) {
			bad(p+".name", "want 1-64 letters, digits, '-', '_' or '.', got %q", b.Name)
		} else if batches[b.Name] {
			bad(p+".name", "batch %q declared twice", b.Name)
		}
		batches[b.Name] = true
		if !endpoints[b.Endpoint] {
			bad(p+".endpoint", "no endpoint named %q", b.Endpoint)
		}
		if !tenants[b.Tenant] {
			bad(p+".tenant", "no tenant named %q", b.Tenant)
		}
		if b.CSV == "" {
			bad(p+".csv", "required")
		}
		if b.SyncInterval < Duration(time.Minute) {
			bad(p+".sync_interval", "must be at least 1m")
		}
		for j, a := range b.NotificationEmails {
			if !isAddress(a) {
				bad(fmt.Sprintf("%s.notification_emails[%d]", p, j), "not an email address: %q", a)
			}
		}
		if !b.StartAfter.IsZero() && !b.CompleteAfter.IsZero() && b.CompleteAfter.Before(b.StartAfter.Time) {
			bad(p+".complete_after", "is before start_after")
		}
	}
}

func isAddress(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s
}
