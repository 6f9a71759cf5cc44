package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Defaults.
const (
	DefaultListen                        = "127.0.0.1:8470"
	DefaultMaxConcurrentMigrations       = 20
	DefaultMaxConcurrentIncrementalSyncs = 10
	// DefaultMaxConnectionsPerUser: a pass uses one IMAP connection; the
	// second is for `user verify` or `endpoint test` beside it.
	DefaultMaxConnectionsPerUser = 2
	DefaultSyncInterval          = 24 * time.Hour
	DefaultReportInterval        = 24 * time.Hour
	DefaultMaxMessageBytes       = 35 << 20
	DefaultMaxMailboxItems       = 500000
	// DefaultFailedPassLimit: after this many failed passes in a row a user
	// shows Failed.
	DefaultFailedPassLimit = 3
	// DefaultGraphOutageLimit: how long a pass waits through a Graph
	// outage (every request 5xx or unanswered) before it fails.
	DefaultGraphOutageLimit = 30 * time.Minute
)

// Config is the whole file.
type Config struct {
	DataDir         string   `yaml:"data_dir"`
	Listen          string   `yaml:"listen"`
	LogLevel        string   `yaml:"log_level"`
	MaxMessageBytes int64    `yaml:"max_message_bytes"`
	MaxMailboxItems int      `yaml:"max_mailbox_items"`
	ReportInterval  Duration `yaml:"report_interval"`
	ReportSender    string   `yaml:"report_sender"`
	// FailedPassLimit is how many failed passes in a row make a user Failed
	// (with ErrorReason and LastError). A synced user is still retried and a
	// good pass clears it.
	FailedPassLimit int `yaml:"failed_pass_limit"`
	// GraphOutageLimit is how long a pass rides out a Microsoft Graph
	// outage (every request answered 5xx, or not at all) before it fails
	// with GraphUnavailable; while it waits, the user shows WaitingFor.
	GraphOutageLimit Duration `yaml:"graph_outage_limit"`
	// CSVDir is the directory an API request's CsvPath may name a file
	// under (the CLI uploads the content instead). Default: the config
	// file's directory.
	CSVDir string `yaml:"csv_dir"`
	// TLSCertFile and TLSKeyFile (PEM) make the API serve HTTPS. The CLI
	// trusts TLSCAFile, or else the certificate file itself (self-signed).
	TLSCertFile string `yaml:"tls_cert_file"`
	TLSKeyFile  string `yaml:"tls_key_file"`
	TLSCAFile   string `yaml:"tls_ca_file"`
	// MetricsListen (host:port) serves Prometheus metrics at /metrics
	// without authentication, on a listener of its own (as node_exporter
	// does). Empty: /metrics only on the API listener, with the API token.
	MetricsListen string     `yaml:"metrics_listen"`
	Endpoints     []Endpoint `yaml:"endpoints"`
	Tenants       []Tenant   `yaml:"tenants"`
	Batches       []Batch    `yaml:"batches"`

	// DNSResolver is HOST:PORT of the DNS resolver the cutover checks and
	// the MX guard of `batch complete` ask ("" = the system resolver).
	DNSResolver string `yaml:"dns_resolver"`

	// Path is the file the config was read from ("" when parsed from bytes).
	Path string `yaml:"-"`
	// lines maps key paths ("endpoints[0].port") to their line in the file.
	lines map[string]int
}

// APIScheme is "https" when the API serves TLS, else "http".
func (c *Config) APIScheme() string {
	if c.TLSCertFile != "" {
		return "https"
	}
	return "http"
}

// APICAFile is the PEM file the CLI trusts for the API's certificate:
// tls_ca_file, else tls_cert_file itself ("" without TLS).
func (c *Config) APICAFile() string {
	if c.TLSCAFile != "" {
		return c.TLSCAFile
	}
	return c.TLSCertFile
}

// Endpoint is an IMAP source.
type Endpoint struct {
	Name                          string `yaml:"name"`
	Host                          string `yaml:"host"`
	Port                          int    `yaml:"port"`
	Security                      string `yaml:"security"` // ssl | tls | none
	Auth                          string `yaml:"auth"`     // plain | login
	AcceptUntrustedCertificates   bool   `yaml:"accept_untrusted_certificates"`
	MaxConcurrentMigrations       int    `yaml:"max_concurrent_migrations"`
	MaxConcurrentIncrementalSyncs int    `yaml:"max_concurrent_incremental_syncs"`
	// MaxConnectionsPerUser caps the IMAP connections open at once for one
	// user (a pass uses one). A login refused for too many connections is
	// retried with backoff and fewer connections.
	MaxConnectionsPerUser int `yaml:"max_connections_per_user"`
	// MasterUser logs every user in with SASL PLAIN as authzid=UserName,
	// authcid=MasterUser (the CSV's Password is then the master's).
	MasterUser string `yaml:"master_user"`
	// CAFile is a PEM bundle of extra CAs to trust for this server.
	CAFile string `yaml:"ca_file"`
}

// Tenant is a Graph target. Exactly one credential is set.
type Tenant struct {
	Name             string `yaml:"name"`
	TenantID         string `yaml:"tenant_id"`
	ClientID         string `yaml:"client_id"`
	ClientSecretEnv  string `yaml:"client_secret_env"`
	ClientSecretFile string `yaml:"client_secret_file"`
	CertificateFile  string `yaml:"certificate_file"`
	ManagedIdentity  bool   `yaml:"managed_identity"`
	AuthorityHost    string `yaml:"authority_host"`
	GraphURL         string `yaml:"graph_url"`
	// CAFile is an extra PEM bundle to trust for the authority and Graph
	// hosts (a TLS-inspecting proxy, or the emulator in the demo).
	CAFile string `yaml:"ca_file"`
}

// Credential names the tenant's kind of credential.
func (t Tenant) Credential() string {
	switch {
	case t.ClientSecretEnv != "" || t.ClientSecretFile != "":
		return "client_secret"
	case t.CertificateFile != "":
		return "certificate"
	case t.ManagedIdentity:
		return "managed_identity"
	}
	return ""
}

// ClientSecret reads the secret from the named variable or file.
func (t Tenant) ClientSecret() (string, error) {
	switch {
	case t.ClientSecretEnv != "":
		v := os.Getenv(t.ClientSecretEnv)
		if v == "" {
			return "", fmt.Errorf("tenant %s: environment variable %s is empty", t.Name, t.ClientSecretEnv)
		}
		return v, nil
	case t.ClientSecretFile != "":
		b, err := os.ReadFile(t.ClientSecretFile)
		if err != nil {
			return "", fmt.Errorf("tenant %s: client_secret_file: %w", t.Name, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return "", nil
}

// Batch is a batch the daemon creates at start or reload.
type Batch struct {
	Name                string   `yaml:"name"`
	Endpoint            string   `yaml:"endpoint"`
	Tenant              string   `yaml:"tenant"`
	CSV                 string   `yaml:"csv"`
	Autostart           bool     `yaml:"autostart"`
	SkipInvalidRows     bool     `yaml:"skip_invalid_rows"`
	ExcludeFolders      []string `yaml:"exclude_folders"`
	IncludeFolders      []string `yaml:"include_folders"`
	ReceivedAfter       Time     `yaml:"received_after"`
	StartAfter          Time     `yaml:"start_after"`
	CompleteAfter       Time     `yaml:"complete_after"`
	SyncInterval        Duration `yaml:"sync_interval"`
	NotificationEmails  []string `yaml:"notification_emails"`
	MigrateDeletedItems *bool    `yaml:"migrate_deleted_items"`
}

// DeletedItems reports migrate_deleted_items with its default (true).
func (b Batch) DeletedItems() bool { return b.MigrateDeletedItems == nil || *b.MigrateDeletedItems }

// Duration is a time.Duration written as "24h", "90m" or "1d12h" in YAML.
type Duration time.Duration

// UnmarshalYAML parses a Go duration, with "d" for days.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// ParseDuration is time.ParseDuration with a leading whole-days part ("2d",
// "1d12h").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.Atoi(s[:i])
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		days = time.Duration(n) * 24 * time.Hour
		s = s[i+1:]
		if s == "" {
			return days, nil
		}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (use e.g. 24h, 90m, 1d)", s)
	}
	return days + v, nil
}

// Time is a point in time written as RFC 3339 or a plain date (UTC).
type Time struct{ time.Time }

// UnmarshalYAML parses "2024-01-31" or "2024-01-31T08:00:00Z".
func (t *Time) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseTime(n.Value)
	if err != nil {
		return err
	}
	t.Time = v
	return nil
}

// ParseTime parses RFC 3339 or YYYY-MM-DD (midnight UTC); "" is no time.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if v, err := time.Parse(time.RFC3339, s); err == nil {
		return v, nil
	}
	if v, err := time.Parse(time.DateOnly, s); err == nil {
		return v, nil
	}
	return time.Time{}, fmt.Errorf("invalid time %q (use 2024-01-31 or 2024-01-31T08:00:00Z)", s)
}

// FieldError is a problem at one key of the file.
type FieldError struct {
	Path string // e.g. "endpoints[0].security"
	Line int
	Msg  string
}

func (e *FieldError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s (line %d): %s", e.Path, e.Line, e.Msg)
	}
	return e.Path + ": " + e.Msg
}

// Load reads and validates a config file. Relative paths in it are taken
// relative to the file's directory.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c.Path = path
	c.resolvePaths(filepath.Dir(path))
	return c, nil
}

// Parse decodes and validates YAML bytes. It returns every problem found,
// joined (errors.As finds each *FieldError).
func Parse(data []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, syntaxError(data, err)
	}
	c := &Config{lines: map[string]int{}}
	var errs []error
	if len(root.Content) > 0 {
		decode(root.Content[0], reflect.ValueOf(c).Elem(), "", &errs, c.lines)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c.applyDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// secretKeys are keys that people put secrets under; they get a pointed
// message instead of "unknown key".
var secretKeys = map[string]string{
	"client_secret": "secrets never go in the config file: use client_secret_env or client_secret_file",
	"password":      "passwords never go in the config file: they come from the batch CSV",
	"secret":        "secrets never go in the config file: use client_secret_env or client_secret_file",
}

// decode walks a YAML node into v, checking every key against the yaml tags
// of v's type so that errors carry the key's path.
func decode(n *yaml.Node, v reflect.Value, path string, errs *[]error, lines map[string]int) {
	fail := func(p string, line int, format string, a ...any) {
		*errs = append(*errs, &FieldError{Path: p, Line: line, Msg: fmt.Sprintf(format, a...)})
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if _, ok := v.Addr().Interface().(yaml.Unmarshaler); ok {
		if err := n.Decode(v.Addr().Interface()); err != nil {
			fail(path, n.Line, "%v", err)
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			fail(orRoot(path), n.Line, "expected a mapping")
			return
		}
		fields := map[string]int{}
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			if tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]; tag != "" && tag != "-" {
				fields[tag] = i
			}
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			p := join(path, k.Value)
			if seen[k.Value] {
				fail(p, k.Line, "key given twice")
				continue
			}
			seen[k.Value] = true
			lines[p] = k.Line
			idx, ok := fields[k.Value]
			if !ok {
				if msg, secret := secretKeys[k.Value]; secret {
					fail(p, k.Line, "%s", msg)
				} else {
					fail(p, k.Line, "unknown key")
				}
				continue
			}
			decode(val, v.Field(idx), p, errs, lines)
		}
	case reflect.Slice:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return
		}
		if n.Kind != yaml.SequenceNode {
			fail(path, n.Line, "expected a list")
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			ip := fmt.Sprintf("%s[%d]", path, i)
			lines[ip] = item.Line
			decode(item, s.Index(i), ip, errs, lines)
		}
		v.Set(s)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		decode(n, p.Elem(), path, errs, lines)
		v.Set(p)
	default:
		if n.Kind != yaml.ScalarNode {
			fail(path, n.Line, "expected a single value")
			return
		}
		if err := n.Decode(v.Addr().Interface()); err != nil {
			fail(path, n.Line, "invalid %s value %q", v.Kind(), n.Value)
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orRoot(p string) string {
	if p == "" {
		return "(top level)"
	}
	return p
}

func (c *Config) applyDefaults() {
	if c.DataDir == "" {
		c.DataDir = "./imapmig-data"
	}
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if c.MaxMailboxItems == 0 {
		c.MaxMailboxItems = DefaultMaxMailboxItems
	}
	if c.ReportInterval == 0 {
		c.ReportInterval = Duration(DefaultReportInterval)
	}
	if c.FailedPassLimit == 0 {
		c.FailedPassLimit = DefaultFailedPassLimit
	}
	if c.GraphOutageLimit == 0 {
		c.GraphOutageLimit = Duration(DefaultGraphOutageLimit)
	}
	for i := range c.Endpoints {
		e := &c.Endpoints[i]
		e.Security = strings.ToLower(e.Security)
		e.Auth = strings.ToLower(e.Auth)
		if e.Security == "" {
			e.Security = "ssl"
		}
		if e.Auth == "" {
			e.Auth = "plain"
		}
		if e.Port == 0 {
			if e.Security == "ssl" {
				e.Port = 993
			} else {
				e.Port = 143
			}
		}
		if e.MaxConcurrentMigrations == 0 {
			e.MaxConcurrentMigrations = DefaultMaxConcurrentMigrations
		}
		if e.MaxConcurrentIncrementalSyncs == 0 {
			e.MaxConcurrentIncrementalSyncs = min(DefaultMaxConcurrentIncrementalSyncs, e.MaxConcurrentMigrations)
		}
		if e.MaxConnectionsPerUser == 0 {
			e.MaxConnectionsPerUser = DefaultMaxConnectionsPerUser
		}
	}
	for i := range c.Batches {
		if c.Batches[i].SyncInterval == 0 {
			c.Batches[i].SyncInterval = Duration(DefaultSyncInterval)
		}
	}
}

func (c *Config) resolvePaths(dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&c.DataDir)
	if c.CSVDir == "" {
		c.CSVDir = dir
	}
	abs(&c.CSVDir)
	abs(&c.TLSCertFile)
	abs(&c.TLSKeyFile)
	abs(&c.TLSCAFile)
	for i := range c.Endpoints {
		abs(&c.Endpoints[i].CAFile)
	}
	for i := range c.Tenants {
		abs(&c.Tenants[i].ClientSecretFile)
		abs(&c.Tenants[i].CertificateFile)
		abs(&c.Tenants[i].CAFile)
	}
	for i := range c.Batches {
		abs(&c.Batches[i].CSV)
	}
}

// Endpoint returns the endpoint with that name.
func (c *Config) Endpoint(name string) (Endpoint, bool) {
	for _, e := range c.Endpoints {
		if e.Name == name {
			return e, true
		}
	}
	return Endpoint{}, false
}

// Tenant returns the tenant with that name.
func (c *Config) Tenant(name string) (Tenant, bool) {
	for _, t := range c.Tenants {
		if t.Name == name {
			return t, true
		}
	}
	return Tenant{}, false
}
