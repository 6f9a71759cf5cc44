package imapsrc_test

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imapmig/imapmig/imapsrc"
	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/sourcetest"
	"github.com/imapmig/imapmig/testenv/dovecot"
	"github.com/imapmig/imapmig/testenv/testmain"
)

var (
	dc dovecot.Shared
	// dcOld is Dovecot as an old hoster runs it: a bare capability line,
	// "INBOX." and ".", no special-use, at most 3 connections per user+IP.
	dcOld = dovecot.Shared{Options: dovecot.Options{Profile: dovecot.ProfileOldHoster}}
)

func TestMain(m *testing.M) { testmain.Run(m, &dc, &dcOld) }

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
	u := srv.MustNewUser(t, "u", layout)
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

// dovecotUser is the shared Dovecot and a new user of it with the slash
// layout.
func dovecotUser(t testing.TB) (*dovecot.Server, *dovecot.User) {
	t.Helper()
	srv := dc.Get(t)
	return srv, newUser(t, srv, dovecot.LayoutSlash)
}

// connectUser connects c as u with u's own password.
func connectUser(t testing.TB, c *imapsrc.Connector, u *dovecot.User) migrate.Source {
	t.Helper()
	return connect(t, c, migrate.Login{UserName: u.Name, Password: u.Password})
}

// lookupFolder is the folder at path in fs, if fs has one.
func lookupFolder(fs []migrate.Folder, path ...string) (migrate.Folder, bool) {
	for _, f := range fs {
		if slices.Equal(f.Path, path) {
			return f, true
		}
	}
	return migrate.Folder{}, false
}

// findFolder is the folder at path in fs; the test fails without one.
func findFolder(t testing.TB, fs []migrate.Folder, path ...string) migrate.Folder {
	t.Helper()
	f, ok := lookupFolder(fs, path...)
	if !ok {
		t.Fatalf("no folder %q in %+v", path, fs)
	}
	return f
}

// folderOf is the folder at path among src's folders; the test fails
// without one.
func folderOf(t testing.TB, src migrate.Source, path ...string) migrate.Folder {
	t.Helper()
	fs, err := src.Folders(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return findFolder(t, fs, path...)
}

// bigMessage is a message of size bytes at most (70-byte lines up to it)
// with subject.
func bigMessage(subject string, size int) []byte {
	hdr := sourcetest.Message(subject, "")
	var b strings.Builder
	b.Grow(size)
	b.Write(hdr[:len(hdr)-2])
	line := strings.Repeat("abcdefghij", 7) + "\r\n"
	for b.Len()+len(line) <= size {
		b.WriteString(line)
	}
	return []byte(b.String())
}

func TestConformance_Dovecot(t *testing.T) {
	srv := dc.Get(t)
	sourcetest.Run(t, sourcetest.Options{
		Connector:  newConnector(t, dovecotConfig(srv, imapsrc.SecuritySSL)),
		Server:     dovecot.SuiteServer{Srv: srv, Layout: dovecot.LayoutSlash},
		CondStore:  true,
		SpecialUse: true,
	})
}

// TestConformance_DovecotOldHoster: the contract on Dovecot restricted to
// IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS IDLE NAMESPACE UIDPLUS
// CHILDREN UNSELECT with the "INBOX." namespace.
func TestConformance_DovecotOldHoster(t *testing.T) {
	srv := dcOld.Get(t)
	sourcetest.Run(t, sourcetest.Options{
		Connector: newConnector(t, dovecotConfig(srv, imapsrc.SecurityTLS)),
		Server:    dovecot.SuiteServer{Srv: srv, Layout: dovecot.LayoutINBOXDot},
	})
}

// localDialer dials from another loopback address, so Dovecot's per-IP
// penalty for failed logins does not slow the other tests.
func localDialer(ip string) *net.Dialer {
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
}
