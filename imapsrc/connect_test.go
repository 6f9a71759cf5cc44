package imapsrc_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imapmig/imapmig/imapsrc"
	"github.com/imapmig/imapmig/migrate"
)

func TestConnect_Forms(t *testing.T) {
	srv, u := dovecotUser(t)
	master := u.Name + "*" + srv.MasterUser
	tests := []struct {
		name       string
		sec        imapsrc.Security
		auth       string
		masterUser string
		login      migrate.Login
	}{
		{"SSL_Plain", imapsrc.SecuritySSL, "plain", "", migrate.Login{UserName: u.Name, Password: u.Password}},
		{"SSL_Login", imapsrc.SecuritySSL, "login", "", migrate.Login{UserName: u.Name, Password: u.Password}},
		{"STARTTLS_Plain", imapsrc.SecurityTLS, "plain", "", migrate.Login{UserName: u.Name, Password: u.Password}},
		{"None_Login", imapsrc.SecurityNone, "login", "", migrate.Login{UserName: u.Name, Password: u.Password}},
		{"MasterStar_Login", imapsrc.SecuritySSL, "login", "", migrate.Login{UserName: master, Password: srv.MasterPassword}},
		{"MasterStar_Plain", imapsrc.SecurityTLS, "plain", "", migrate.Login{UserName: master, Password: srv.MasterPassword}},
		{"MasterAuthzid", imapsrc.SecuritySSL, "plain", srv.MasterUser, migrate.Login{UserName: u.Name, Password: srv.MasterPassword}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := dovecotConfig(srv, tt.sec)
			cfg.Auth, cfg.MasterUser = tt.auth, tt.masterUser
			c := newConnector(t, cfg)
			if err := c.Test(context.Background(), tt.login); err != nil {
				t.Fatalf("Test: %v", err)
			}
			s := connect(t, c, tt.login)
			fs, err := s.Folders(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(fs) == 0 || fs[0].Path[0] != "INBOX" && len(fs) < 2 {
				t.Errorf("Folders = %+v", fs)
			}
		})
	}
}

func TestConnect_UntrustedCertificate(t *testing.T) {
	srv, u := dovecotUser(t)
	login := migrate.Login{UserName: u.Name, Password: u.Password}
	for _, sec := range []imapsrc.Security{imapsrc.SecuritySSL, imapsrc.SecurityTLS} {
		t.Run(string(sec), func(t *testing.T) {
			cfg := dovecotConfig(srv, sec)
			cfg.RootCAs = nil
			err := newConnector(t, cfg).Test(context.Background(), login)
			if err == nil {
				t.Fatal("self-signed certificate accepted without accept_untrusted_certificates")
			}
			var te *imapsrc.TLSError
			if !errors.As(err, &te) || migrate.KindOf(err) != migrate.KindFailUser || migrate.ReasonOf(err) != migrate.ReasonImapTLSFailed {
				t.Errorf("err = %v (kind %v, reason %q), want FailUser/%s with *TLSError", err, migrate.KindOf(err), migrate.ReasonOf(err), migrate.ReasonImapTLSFailed)
			}
			if msg := err.Error(); !strings.Contains(msg, "localhost") || !strings.Contains(msg, "accept_untrusted_certificates") {
				t.Errorf("message %q must name the host and accept_untrusted_certificates", msg)
			}
			cfg.AcceptUntrustedCertificates = true
			if err := newConnector(t, cfg).Test(context.Background(), login); err != nil {
				t.Errorf("with AcceptUntrustedCertificates: %v", err)
			}
		})
	}
}

func TestConnect_AuthFailed(t *testing.T) {
	srv, u := dovecotUser(t)
	const badPassword = "Wr0ng-Secret-Passw0rd"
	tests := []struct {
		name, auth, ip string
	}{
		{"Plain", "plain", "127.0.0.2"},
		{"Login", "login", "127.0.0.3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			cfg := dovecotConfig(srv, imapsrc.SecuritySSL)
			cfg.Auth, cfg.Dialer = tt.auth, localDialer(tt.ip)
			cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			c := newConnector(t, cfg)
			_, err := c.Connect(context.Background(), migrate.Login{UserName: u.Name, Password: badPassword})
			if err == nil {
				t.Fatal("login with a wrong password succeeded")
			}
			if !errors.Is(err, migrate.ErrAuthFailed) || migrate.KindOf(err) != migrate.KindFailUser ||
				migrate.ReasonOf(err) != migrate.ReasonImapAuthenticationFailed {
				t.Errorf("err = %v (kind %v, reason %q), want FailUser/ImapAuthenticationFailed wrapping ErrAuthFailed", err, migrate.KindOf(err), migrate.ReasonOf(err))
			}
			var ae *imapsrc.AuthError
			if !errors.As(err, &ae) || ae.Text == "" || ae.User != u.Name {
				t.Errorf("want *AuthError with the server's text, got %#v", ae)
			}
			for what, s := range map[string]string{"error": err.Error(), "log": logs.String()} {
				if strings.Contains(s, badPassword) {
					t.Errorf("password leaked into %s: %q", what, s)
				}
			}
		})
	}
}

func TestConnect_Refused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	c := newConnector(t, imapsrc.Config{Host: "127.0.0.1", Port: port, Security: imapsrc.SecurityNone})
	err = c.Test(context.Background(), migrate.Login{UserName: "x", Password: "y"})
	if err == nil || migrate.KindOf(err) != migrate.KindRetryable || migrate.ReasonOf(err) != migrate.ReasonImapConnectionFailed {
		t.Errorf("err = %v (kind %v, reason %q), want retryable %s", err, migrate.KindOf(err), migrate.ReasonOf(err), migrate.ReasonImapConnectionFailed)
	}
	if !strings.Contains(err.Error(), "127.0.0.1:"+strconv.Itoa(port)) {
		t.Errorf("message %q should name the address", err)
	}
}

func TestConnect_Timeout(t *testing.T) {
	// A listener that never greets: the dial timeout must fire, retryable.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	c := newConnector(t, imapsrc.Config{Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port,
		Security: imapsrc.SecurityNone, DialTimeout: 300 * time.Millisecond})
	err = c.Test(context.Background(), migrate.Login{UserName: "x", Password: "y"})
	if err == nil || migrate.KindOf(err) != migrate.KindRetryable {
		t.Errorf("err = %v (kind %v), want retryable", err, migrate.KindOf(err))
	}
}

func TestNew_InvalidConfig(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  imapsrc.Config
	}{
		{"NoHost", imapsrc.Config{}},
		{"BadSecurity", imapsrc.Config{Host: "h", Security: "starttls"}},
		{"BadAuth", imapsrc.Config{Host: "h", Auth: "cram-md5"}},
		{"MasterWithLogin", imapsrc.Config{Host: "h", Auth: "login", MasterUser: "admin"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := imapsrc.New(tt.cfg); err == nil || migrate.KindOf(err) != migrate.KindFatal {
				t.Errorf("New(%+v) = %v, want fatal error", tt.cfg, err)
			}
		})
	}
}
