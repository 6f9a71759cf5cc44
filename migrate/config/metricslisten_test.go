package config_test

import (
	"testing"

	"github.com/imapmig/imapmig/migrate/config"
)

// metrics_listen is optional, a host:port, and not the API's own address.
func TestValidate_MetricsListen(t *testing.T) {
	c, err := config.Parse([]byte("metrics_listen: 127.0.0.1:9470\n" + good))
	if err != nil || c.MetricsListen != "127.0.0.1:9470" {
		t.Fatalf("metrics_listen: %v %+v", err, c)
	}
	if c, err := config.Parse([]byte(good)); err != nil || c.MetricsListen != "" {
		t.Fatalf("without metrics_listen: %v %q", err, c.MetricsListen)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"metrics_listen: 9470\n", "metrics_listen (line 1): want host:port"},
		{"listen: 127.0.0.1:8470\nmetrics_listen: 127.0.0.1:8470\n", "metrics_listen (line 2): is the API's listen address"},
	} {
		wantParseErr(t, tc.yaml+good, tc.want)
	}
}
