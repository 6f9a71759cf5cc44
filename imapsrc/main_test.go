package imapsrc_test

import (
	"context"
	"net"
	"os"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/imapmig/imapmig/imapsrc"
	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/sourcetest"
	"github.com/imapmig/imapmig/testenv/dovecot"
)

var (
	dc dovecot.Shared
	// dcOld is Dovecot as an old hoster runs it: a bare capability line,
	// "INBOX." and ".", no special-use, at most 3 connections per user+IP.
	dcOld = dovecot.Shared{Options: dovecot.Options{Profile: dovecot.ProfileOldHoster}}
)

func TestMain(m *testing.M) {
	code := m.Run()
	dc.Close()
	dcOld.Close()
	os.Exit(code)
}

// dovecotConfig is an endpoint config for the shared Dovecot.
func dovecotConfig(srv *dovecot.Server, sec imapsrc.Security) imapsrc.Config {
	port := srv.TLSPort
	if sec != imapsrc.SecuritySSL {
		port = srv.Port
	}
	return imapsrc.Config{Host: "localhost", Port: port, Security: sec, RootCAs: srv.CertPool,
		CommandTimeout: 30 * time.Second, DialTimeout: 10 * time.Second}
}

func newConnector(t testing.TB, cfg imapsrc.Config) *imapsrc.Connector {
	t.Helper()
	c, err := imapsrc.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newUser(t testing.TB, srv *dovecot.Server, layout dovecot.Layout) *dovecot.User {
	t.Helper()
	u, err := srv.NewUser("u", layout)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func connect(t testing.TB, c *imapsrc.Connector, login migrate.Login) migrate.Source {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := c.Connect(ctx, login)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// dovecotServer adapts the harness to sourcetest.Server.
type dovecotServer struct{ srv *dovecot.Server }

func (d dovecotServer) NewUser(t testing.TB) migrate.Login {
	u := newUser(t, d.srv, dovecot.LayoutSlash)
	return migrate.Login{UserName: u.Name, Password: u.Password}
}

func (d dovecotServer) Admin(t testing.TB, login migrate.Login) *imapclient.Client {
	c, err := d.srv.Client(context.Background(), login.UserName)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConformance_Dovecot(t *testing.T) {
	srv := dc.Get(t)
	sourcetest.Run(t, sourcetest.Options{
		Connector:  newConnector(t, dovecotConfig(srv, imapsrc.SecuritySSL)),
		Server:     dovecotServer{srv},
		CondStore:  true,
		SpecialUse: true,
	})
}

// oldHosterServer adapts the old-hoster Dovecot to sourcetest.Server.
type oldHosterServer struct{ srv *dovecot.Server }

func (d oldHosterServer) NewUser(t testing.TB) migrate.Login {
	u := newUser(t, d.srv, dovecot.LayoutINBOXDot)
	return migrate.Login{UserName: u.Name, Password: u.Password}
}

func (d oldHosterServer) Admin(t testing.TB, login migrate.Login) *imapclient.Client {
	return dovecotServer(d).Admin(t, login)
}

// TestConformance_DovecotOldHoster: the contract on Dovecot restricted to
// IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS IDLE NAMESPACE UIDPLUS
// CHILDREN UNSELECT with the "INBOX." namespace.
func TestConformance_DovecotOldHoster(t *testing.T) {
	srv := dcOld.Get(t)
	sourcetest.Run(t, sourcetest.Options{
		Connector: newConnector(t, dovecotConfig(srv, imapsrc.SecurityTLS)),
		Server:    oldHosterServer{srv},
	})
}

// localDialer dials from another loopback address, so Dovecot's per-IP
// penalty for failed logins does not slow the other tests.
func localDialer(ip string) *net.Dialer {
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
}
