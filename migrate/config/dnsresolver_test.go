package config_test

import (
	"testing"

	"github.com/imapmig/imapmig/migrate/config"
)

// dns_resolver (the cutover checks' resolver) is HOST:PORT or empty.
func TestParse_DNSResolver(t *testing.T) {
	c, err := config.Parse([]byte("dns_resolver: 192.0.2.53:53\n" + good))
	if err != nil || c.DNSResolver != "192.0.2.53:53" {
		t.Fatalf("dns_resolver: %q, %v", c.DNSResolver, err)
	}
	if c, err := config.Parse([]byte(good)); err != nil || c.DNSResolver != "" {
		t.Fatalf("default: %q, %v", c.DNSResolver, err)
	}
	wantParseErr(t, "dns_resolver: 192.0.2.53\n"+good, "dns_resolver (line 1): want host:port")
}
