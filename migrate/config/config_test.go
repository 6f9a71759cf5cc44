package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/imapmig/imapmig/migrate/config"
)

const good = `
data_dir: data
endpoints:
  - name: oldmail
    host: imap.example.org
    security: ssl
tenants:
  - name: contoso
    tenant_id: 11111111-2222-3333-4444-555555555555
    client_id: aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee
    client_secret_env: IMAPMIG_CLIENT_SECRET
    authority_host: https://login.microsoftonline.us
    graph_url: https://graph.microsoft.us/v1.0
batches:
  - name: wave1
    endpoint: oldmail
    tenant: contoso
    csv: users.csv
    autostart: true
    exclude_folders: [Spam, "Old/Stuff"]
    received_after: 2020-01-01
    sync_interval: 12h
    notification_emails: [admin@contoso.com]
    migrate_deleted_items: false
`

func TestParse_DefaultsAndValues(t *testing.T) {
	c, err := config.Parse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:8470" {
		t.Errorf("listen = %q", c.Listen)
	}
	e := c.Endpoints[0]
	if e.Port != 993 || e.Auth != "plain" || e.MaxConcurrentMigrations != 20 || e.MaxConcurrentIncrementalSyncs != 10 || e.AcceptUntrustedCertificates ||
		e.MaxConnectionsPerUser != config.DefaultMaxConnectionsPerUser {
		t.Errorf("endpoint defaults: %+v", e)
	}
	b := c.Batches[0]
	if time.Duration(b.SyncInterval) != 12*time.Hour || b.DeletedItems() || !b.Autostart {
		t.Errorf("batch: %+v", b)
	}
	if !b.ReceivedAfter.Equal(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("received_after = %v", b.ReceivedAfter)
	}
	if len(b.ExcludeFolders) != 2 || b.ExcludeFolders[1] != "Old/Stuff" {
		t.Errorf("exclude_folders = %q", b.ExcludeFolders)
	}
	if c.Tenants[0].Credential() != "client_secret" {
		t.Errorf("credential = %q", c.Tenants[0].Credential())
	}
	if c.MaxMessageBytes != 35<<20 || c.MaxMailboxItems != 500000 {
		t.Errorf("limits: %d %d", c.MaxMessageBytes, c.MaxMailboxItems)
	}
}

func TestParse_DefaultDeletedItemsTrueAndSyncInterval(t *testing.T) {
	c, err := config.Parse([]byte(strings.Replace(strings.Replace(good, "    migrate_deleted_items: false\n", "", 1), "    sync_interval: 12h\n", "", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Batches[0].DeletedItems() || time.Duration(c.Batches[0].SyncInterval) != 24*time.Hour {
		t.Fatalf("defaults: deleted=%v interval=%v", c.Batches[0].DeletedItems(), c.Batches[0].SyncInterval)
	}
}

func TestParse_Rejects(t *testing.T) {
	cases := []struct {
		name, from, to, wantPath, wantMsg string
	}{
		{"UnknownKey", "    security: ssl\n", "    security: ssl\n    colour: blue\n", "endpoints[0].colour", "unknown key"},
		{"UnknownTopKey", "data_dir: data\n", "data_dir: data\nverbose: true\n", "verbose", "unknown key"},
		{"BadSecurity", "security: ssl", "security: starttls", "endpoints[0].security", "want ssl, tls or none"},
		{"BadPortType", "    security: ssl\n", "    security: ssl\n    port: abc\n", "endpoints[0].port", "invalid int"},
		{"SecretInYAML", "    client_secret_env: IMAPMIG_CLIENT_SECRET\n", "    client_secret: hunter2\n", "tenants[0].client_secret", "never go in the config"},
		{"NoCredential", "    client_secret_env: IMAPMIG_CLIENT_SECRET\n", "", "tenants[0]", "exactly one of"},
		{"TwoCredentials", "    client_secret_env: IMAPMIG_CLIENT_SECRET\n", "    client_secret_env: X\n    managed_identity: true\n", "tenants[0]", "exactly one of"},
		{"UnknownEndpointRef", "    endpoint: oldmail", "    endpoint: nope", "batches[0].endpoint", `no endpoint named "nope"`},
		{"IncrementalOverInitial", "    security: ssl\n", "    security: ssl\n    max_concurrent_migrations: 5\n    max_concurrent_incremental_syncs: 6\n", "endpoints[0].max_concurrent_incremental_syncs", "must not exceed"},
		{"NoConnections", "    security: ssl\n", "    security: ssl\n    max_connections_per_user: -1\n", "endpoints[0].max_connections_per_user", "at least 1"},
		{"BadDuration", "sync_interval: 12h", "sync_interval: often", "batches[0].sync_interval", "invalid duration"},
		{"BadDate", "received_after: 2020-01-01", "received_after: yesterday", "batches[0].received_after", "invalid time"},
		{"BadNotification", "[admin@contoso.com]", "[not-an-address]", "batches[0].notification_emails[0]", "not an email address"},
		{"HTTPGraphURL", "https://graph.microsoft.us/v1.0", "http://graph.microsoft.us/v1.0", "tenants[0].graph_url", "https URL"},
		{"BadBatchName", "  - name: wave1", "  - name: wave 1/x", "batches[0].name", "want 1-64 letters"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(good, tc.from, tc.to, 1)
			if src == good {
				t.Fatalf("test case does not change the config")
			}
			_, err := config.Parse([]byte(src))
			if err == nil {
				t.Fatal("accepted")
			}
			var fe *config.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("no FieldError in %v", err)
			}
			if !strings.Contains(err.Error(), tc.wantPath+" ") && !strings.Contains(err.Error(), tc.wantPath+":") {
				t.Errorf("error %q does not name %s", err, tc.wantPath)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q does not say %q", err, tc.wantMsg)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error echoes a secret: %q", err)
			}
		})
	}
}

// loadFile writes src as dir/imapmig.yaml and loads it.
func loadFile(t *testing.T, dir, src string) *config.Config {
	t.Helper()
	path := filepath.Join(dir, "imapmig.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wantParseErr wants Parse of src to fail with an error containing want.
func wantParseErr(t *testing.T, src, want string) {
	t.Helper()
	if _, err := config.Parse([]byte(src)); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("%q: err %v, want one containing %q", strings.SplitN(src, "\n", 2)[0], err, want)
	}
}

func TestLoad_ResolvesRelativePaths(t *testing.T) {
	dir := t.TempDir()
	c := loadFile(t, dir, good)
	if c.DataDir != filepath.Join(dir, "data") || c.Batches[0].CSV != filepath.Join(dir, "users.csv") {
		t.Fatalf("paths: %q %q", c.DataDir, c.Batches[0].CSV)
	}
}

// csv_dir defaults to the config file's directory; a relative one is
// taken from there too.
func TestLoad_CSVDirDefaultsToConfigDir(t *testing.T) {
	dir := t.TempDir()
	if c := loadFile(t, dir, good); c.CSVDir != dir {
		t.Errorf("default csv_dir %q, want %q", c.CSVDir, dir)
	}
	if c := loadFile(t, dir, "csv_dir: lists\n"+good); c.CSVDir != filepath.Join(dir, "lists") {
		t.Errorf("relative csv_dir %q, want %q", c.CSVDir, filepath.Join(dir, "lists"))
	}
}

func TestTenant_ClientSecretFromEnvAndFile(t *testing.T) {
	t.Setenv("X_SECRET", "s3cr3t")
	if s, err := (config.Tenant{ClientSecretEnv: "X_SECRET"}).ClientSecret(); err != nil || s != "s3cr3t" {
		t.Fatalf("env: %q %v", s, err)
	}
	f := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(f, []byte("filesecret\n"), 0o600)
	if s, err := (config.Tenant{ClientSecretFile: f}).ClientSecret(); err != nil || s != "filesecret" {
		t.Fatalf("file: %q %v", s, err)
	}
	if _, err := (config.Tenant{Name: "t", ClientSecretEnv: "UNSET_VAR_X"}).ClientSecret(); err == nil {
		t.Fatal("empty env accepted")
	}
}

func TestParseDuration_Days(t *testing.T) {
	for in, want := range map[string]time.Duration{"1d": 24 * time.Hour, "1d12h": 36 * time.Hour, "90m": 90 * time.Minute} {
		if got, err := config.ParseDuration(in); err != nil || got != want {
			t.Errorf("%s = %v, %v", in, got, err)
		}
	}
}

// The configs the project ships must stay valid: the README's reference
// config and the docker-compose one.
func TestLoad_ShippedConfigs(t *testing.T) {
	if _, err := config.Load("../../testenv/compose/imapmig.yaml"); err != nil {
		t.Errorf("testenv/compose/imapmig.yaml: %v", err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "```yaml\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("README.md has no ```yaml block")
	}
	if _, err := config.Parse([]byte(block)); err != nil {
		t.Errorf("README.md config: %v", err)
	}
}

// docker-compose.yml is not run here (no Docker engine), but it must at
// least be valid YAML with the services the README names, each running
// imapmig from source.
func TestDockerCompose_IsValidAndNamesTheServices(t *testing.T) {
	data, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var dc struct {
		Services map[string]struct {
			Image    string   `yaml:"image"`
			Command  string   `yaml:"command"`
			Profiles []string `yaml:"profiles"`
			Volumes  []string `yaml:"volumes"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &dc); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"demo", "graph-emulator", "imapmig"} {
		s, ok := dc.Services[name]
		if !ok {
			t.Errorf("service %s missing", name)
			continue
		}
		if !strings.HasPrefix(s.Image, "golang:") || !strings.Contains(s.Command, "./cmd/imapmig") || len(s.Volumes) == 0 {
			t.Errorf("service %s: %+v", name, s)
		}
	}
}

func TestWarnings_WeakSettings(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("s"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := config.Parse([]byte("listen: 0.0.0.0:8470\nendpoints: [{name: e, host: h, security: none}]\n" +
		"tenants: [{name: t, tenant_id: t, client_id: c, client_secret_file: " + secret + "}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	ws := strings.Join(c.Warnings(), "\n")
	for _, want := range []string{"endpoints[0].security (line 2): none", "listen (line 1): 0.0.0.0:8470 is not a loopback", "tenants[0].client_secret_file (line 3): " + secret + " is readable by other users"} {
		if !strings.Contains(ws, want) {
			t.Errorf("warnings lack %q:\n%s", want, ws)
		}
	}
	os.Chmod(secret, 0o600)
	c, _ = config.Parse([]byte("listen: 127.0.0.1:8470\nendpoints: [{name: e, host: h}]\ntenants: [{name: t, tenant_id: t, client_id: c, client_secret_file: " + secret + "}]\n"))
	if ws := c.Warnings(); len(ws) != 0 {
		t.Errorf("warnings for good settings: %v", ws)
	}
}

// tls_cert_file and tls_key_file come together; the CLI's URL scheme and CA
// follow them.
func TestValidate_APITLSKeysComeTogether(t *testing.T) {
	for _, tc := range []struct{ yaml, wantErr string }{
		{"tls_cert_file: a.crt\n", "tls_key_file"},
		{"tls_key_file: a.key\n", "tls_cert_file"},
	} {
		wantParseErr(t, tc.yaml+good, tc.wantErr)
	}
	c, err := config.Parse([]byte("tls_cert_file: /x/a.crt\ntls_key_file: /x/a.key\n" + good))
	if err != nil {
		t.Fatal(err)
	}
	if c.APIScheme() != "https" || c.APICAFile() != "/x/a.crt" {
		t.Errorf("scheme %q CA %q", c.APIScheme(), c.APICAFile())
	}
	if c, err = config.Parse([]byte("tls_cert_file: /x/a.crt\ntls_key_file: /x/a.key\ntls_ca_file: /x/ca.pem\n" + good)); err != nil || c.APICAFile() != "/x/ca.pem" {
		t.Errorf("tls_ca_file: %v %+v", err, c)
	}
	if c, _ = config.Parse([]byte(good)); c.APIScheme() != "http" {
		t.Errorf("no TLS: scheme %q", c.APIScheme())
	}
	for _, tlsKeys := range []string{"", "tls_cert_file: /x/a.crt\ntls_key_file: /x/a.key\n"} {
		c, err := config.Parse([]byte("listen: 0.0.0.0:8470\n" + tlsKeys + good))
		if err != nil {
			t.Fatal(err)
		}
		warned := strings.Contains(strings.Join(c.Warnings(), "\n"), "not a loopback")
		if warned != (tlsKeys == "") {
			t.Errorf("TLS %v: non-loopback warning %v: %q", tlsKeys != "", warned, c.Warnings())
		}
	}
}
