package serverproc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestListeners_Listen(t *testing.T) {
	dir := t.TempDir()
	l := Listeners{Host: "127.0.0.1"}
	if err := l.Listen(dir, "x"); err != nil {
		t.Fatal(err)
	}
	if l.Port == 0 || l.TLSPort == 0 || l.Port == l.TLSPort {
		t.Errorf("ports %d and %d, want two different free ports", l.Port, l.TLSPort)
	}
	for _, f := range []string{"cert.pem", "key.pem"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	if cfg := l.TLSConfig(); cfg.RootCAs != l.CertPool || cfg.ServerName != "localhost" || len(l.CAPEM) == 0 {
		t.Errorf("TLSConfig %+v does not trust the written certificate", cfg)
	}
	if !strings.HasPrefix(l.Addr(), "127.0.0.1:") || l.Addr() == l.TLSAddr() {
		t.Errorf("Addr %q, TLSAddr %q", l.Addr(), l.TLSAddr())
	}
}

func TestNewLogin(t *testing.T) {
	if pw, err := NewLogin("srv", "anna", "", ":", ":\n"); err != nil || !strings.HasPrefix(pw, "pw-") {
		t.Errorf("an empty password: %q, %v; want a random pw-…", pw, err)
	}
	if pw, err := NewLogin("srv", "anna", "geheim", ":", ":\n"); err != nil || pw != "geheim" {
		t.Errorf("a given password: %q, %v", pw, err)
	}
	for _, c := range []struct{ name, pw string }{{"", "x"}, {"an:na", "x"}, {"anna", "a:b"}, {"anna", "a\nb"}} {
		if _, err := NewLogin("srv", c.name, c.pw, ":", ":\n"); err == nil || !strings.HasPrefix(err.Error(), "srv: ") {
			t.Errorf("NewLogin(%q, %q) = %v, want an error starting srv:", c.name, c.pw, err)
		}
	}
}
