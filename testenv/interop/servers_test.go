package interop_test

import (
	"context"
	"net"
	"sync"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/imapmig/imapmig/testenv/cyrus"
	"github.com/imapmig/imapmig/testenv/dovecot"
	"github.com/imapmig/imapmig/testenv/imapseed"
	"github.com/imapmig/imapmig/testenv/memimap"
	"github.com/imapmig/imapmig/testenv/testmain"
)

// server is one IMAP server of the matrix.
type server struct {
	// Name is the row in docs/INTEROP.md; Kind describes the server.
	Name, Kind string
	// Upstream is the plaintext listener imapwire forwards to.
	Upstream string
	// Layout names folders; Sent is the server name of the sent folder.
	Layout imapseed.Layout
	Sent   string
	// SpecialUse: Sent is marked \Sent. CondStore: CONDSTORE advertised.
	SpecialUse, CondStore bool
	// MaxConnections per user and IP (0: no limit).
	MaxConnections int
	Seeder         *imapseed.Seeder
	newUser        func(t testing.TB) (name, password string)
	// CPU is the server's CPU seconds so far (nil: not measurable).
	CPU func() (float64, error)
}

func (s *server) NewUser(t testing.TB) (string, string) { return s.newUser(t) }

var (
	dcFull = dovecot.Shared{}
	dcOld  = dovecot.Shared{Options: dovecot.Options{Profile: dovecot.ProfileOldHoster}}
	cyAlt  = cyrus.Shared{Options: cyrus.Options{Namespace: cyrus.NamespaceAlt}}
	cyCls  = cyrus.Shared{Options: cyrus.Options{Namespace: cyrus.NamespaceClassic}}
)

func TestMain(m *testing.M) { testmain.Run(m, &dcFull, &dcOld, &cyAlt, &cyCls) }

// matrix is the list of servers, each started on first use.
var matrix = []struct {
	name string
	get  func(t testing.TB) *server
}{
	{"dovecot-full", func(t testing.TB) *server { return fromDovecot(t, "dovecot-full", &dcFull) }},
	{"dovecot-old-hoster", func(t testing.TB) *server { return fromDovecot(t, "dovecot-old-hoster", &dcOld) }},
	{"cyrus-alt", func(t testing.TB) *server { return fromCyrus(t, "cyrus-alt", &cyAlt) }},
	{"cyrus-classic", func(t testing.TB) *server { return fromCyrus(t, "cyrus-classic", &cyCls) }},
	{"imapmemserver", func(t testing.TB) *server { return memOnce(t) }},
}

func fromDovecot(t testing.TB, name string, sh *dovecot.Shared) *server {
	srv := sh.Get(t)
	s := &server{Name: name, Upstream: srv.Addr(), Seeder: srv.Seeder(), CPU: srv.CPUSeconds}
	if srv.Profile == dovecot.ProfileOldHoster {
		s.Kind = "Dovecot 2.3, old-hoster profile: bare IMAP4rev1 capability line, `INBOX.` and `.`, no special-use, German folder names, 3 connections per user and IP"
		s.Layout = dovecot.LayoutINBOXDot.ImapLayout()
		s.Sent = s.Layout.Name("Gesendet")
		s.MaxConnections = dovecot.OldHosterMaxConnections
	} else {
		s.Kind = "Dovecot 2.3 as configured by default: no prefix, `/`, special-use folders"
		s.Layout = dovecot.LayoutSlash.ImapLayout()
		s.Sent = "Sent"
		s.SpecialUse, s.CondStore = true, true
	}
	s.newUser = func(t testing.TB) (string, string) {
		u := srv.MustNewUser(t, "mx", dovecot.LayoutSlash)
		return u.Name, u.Password
	}
	return s
}

func fromCyrus(t testing.TB, name string, sh *cyrus.Shared) *server {
	srv := sh.Get(t)
	s := &server{Name: name, Upstream: srv.Addr(), Seeder: srv.Seeder(), Layout: srv.Namespace.Layout(),
		SpecialUse: true, CondStore: true, CPU: srv.CPUSeconds}
	s.Sent = s.Layout.Name("Sent")
	if srv.Namespace == cyrus.NamespaceClassic {
		s.Kind = "Cyrus IMAP 3.6 (Debian), `altnamespace: 0`, `unixhierarchysep: 0`: `INBOX.` and `.`"
	} else {
		s.Kind = "Cyrus IMAP 3.6 (Debian), `altnamespace: 1`, `unixhierarchysep: 1`: no prefix, `/`"
	}
	s.newUser = func(t testing.TB) (string, string) {
		u, err := srv.NewUser("mx")
		if err != nil {
			t.Fatal(err)
		}
		return u.Name, u.Password
	}
	return s
}

// memServer is go-imap's in-memory server, as imapsrc's tests run it.
var (
	memMu  sync.Mutex
	memSrv *server
)

func memOnce(t testing.TB) *server {
	memMu.Lock()
	defer memMu.Unlock()
	if memSrv != nil {
		return memSrv
	}
	// Shared by the package's tests: it closes with the test process.
	mem, err := memimap.Listen(memimap.Options{Caps: imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}}})
	if err != nil {
		t.Fatal(err)
	}
	addr := mem.Addr
	var pwMu sync.Mutex
	passwords := map[string]string{}
	dial := func(ctx context.Context, user string) (*imapclient.Client, error) {
		pwMu.Lock()
		pw := passwords[user]
		pwMu.Unlock()
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		c := imapclient.New(conn, nil)
		if err := c.Login(user, pw).Wait(); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}
	memSrv = &server{Name: "imapmemserver", Kind: "go-imap v2 imapmemserver (IMAP4rev1 and IMAP4rev2 advertised), no prefix, `/`",
		Upstream: addr, Layout: imapseed.Layout{Delim: '/'}, Sent: "Sent", Seeder: &imapseed.Seeder{Dial: dial}}
	memSrv.newUser = func(t testing.TB) (string, string) {
		login := mem.NewUser(t)
		pwMu.Lock()
		passwords[login.UserName] = login.Password
		pwMu.Unlock()
		return login.UserName, login.Password
	}
	return memSrv
}
