package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// lineOf is the line of a key path, or of its nearest parent that is in
// the file (a missing required key points at its mapping); 0 if unknown.
func (c *Config) lineOf(path string) int {
	for path != "" {
		if n, ok := c.lines[path]; ok {
			return n
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// syntaxError reports a YAML syntax error at the line where the file stops
// being valid YAML: the parser's own message often names the line where
// the broken construct began instead (a bad line 7 reads "line 6"). It is
// the line after the longest prefix of the file that still parses.
func syntaxError(data []byte, err error) error {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		msg = m[1]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	lines := strings.SplitAfter(string(data), "\n")
	if len(lines) > 5000 {
		return fmt.Errorf("YAML syntax error: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	good := 0
	var prefix strings.Builder
	var n yaml.Node
	for i, l := range lines {
		prefix.WriteString(l)
		if yaml.Unmarshal([]byte(prefix.String()), &n) == nil {
			good = i + 1
		}
	}
	return &FieldError{Path: "YAML syntax", Line: min(good+1, len(lines)), Msg: msg}
}

var yamlLineRE = regexp.MustCompile(`^yaml: line \d+: (.*)$`)

// LineOf is the line in the file of a key path such as "batches[0].csv"
// (or of its nearest parent there); 0 if unknown.
func (c *Config) LineOf(path string) int { return c.lineOf(path) }

// Preflight checks what the daemon needs from its environment before it
// starts: every tenant's secret variable is set and every file the config
// names can be read. Parse does not, so that the CLI can read a config
// whose secrets live only in the daemon's environment. Each problem carries
// its key path and line.
func (c *Config) Preflight() error {
	var errs []error
	bad := func(path, format string, a ...any) {
		errs = append(errs, &FieldError{Path: path, Line: c.lineOf(path), Msg: fmt.Sprintf(format, a...)})
	}
	readable := func(path, file string) {
		if file == "" {
			return
		}
		f, err := os.Open(file)
		if err != nil {
			bad(path, "cannot read %s: %v", file, errors.Unwrap(err))
			return
		}
		f.Close()
	}
	readable("tls_cert_file", c.TLSCertFile)
	readable("tls_key_file", c.TLSKeyFile)
	for i, e := range c.Endpoints {
		readable(fmt.Sprintf("endpoints[%d].ca_file", i), e.CAFile)
	}
	for i, t := range c.Tenants {
		p := fmt.Sprintf("tenants[%d]", i)
		if t.ClientSecretEnv != "" && os.Getenv(t.ClientSecretEnv) == "" {
			bad(p+".client_secret_env", "environment variable %s is not set (or empty) in the daemon's environment", t.ClientSecretEnv)
		}
		readable(p+".client_secret_file", t.ClientSecretFile)
		readable(p+".certificate_file", t.CertificateFile)
		readable(p+".ca_file", t.CAFile)
	}
	return errors.Join(errs...)
}

// Warnings lists settings that work but are weak, for the daemon to log at
// start: IMAP without TLS, the API on a non-loopback address without TLS,
// and secret files (the API's TLS key too) that others can read.
func (c *Config) Warnings() []string {
	var ws []string
	for i, e := range c.Endpoints {
		if e.Security == "none" {
			ws = append(ws, fmt.Sprintf("endpoints[%d].security (line %d): none: IMAP passwords travel in clear text; use ssl or tls", i, c.lineOf(fmt.Sprintf("endpoints[%d].security", i))))
		}
	}
	if host, _, err := net.SplitHostPort(c.Listen); err == nil {
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) && c.TLSCertFile == "" {
			ws = append(ws, fmt.Sprintf("listen (line %d): %s is not a loopback address and the API has no TLS: its bearer token and uploaded CSVs (with passwords) travel in clear text; keep it on 127.0.0.1 or set tls_cert_file and tls_key_file", c.lineOf("listen"), c.Listen))
		}
	}
	if fi, err := os.Stat(c.TLSKeyFile); c.TLSKeyFile != "" && err == nil && fi.Mode().Perm()&0o077 != 0 {
		ws = append(ws, fmt.Sprintf("tls_key_file (line %d): %s is readable by other users (mode %#o); chmod 600 it", c.lineOf("tls_key_file"), c.TLSKeyFile, fi.Mode().Perm()))
	}
	for i, t := range c.Tenants {
		for key, f := range map[string]string{"client_secret_file": t.ClientSecretFile, "certificate_file": t.CertificateFile} {
			if f == "" {
				continue
			}
			if fi, err := os.Stat(f); err == nil && fi.Mode().Perm()&0o077 != 0 {
				path := fmt.Sprintf("tenants[%d].%s", i, key)
				ws = append(ws, fmt.Sprintf("%s (line %d): %s is readable by other users (mode %#o); chmod 600 it", path, c.lineOf(path), f, fi.Mode().Perm()))
			}
		}
	}
	return ws
}
