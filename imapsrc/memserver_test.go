package imapsrc_test

import (
	"fmt"
	"net"
	"sync/atomic"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/imapmig/imapmig/imapsrc"
	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/sourcetest"
)

// memServer is go-imap's in-memory server on loopback: no CONDSTORE, no
// special-use attributes, no authzid.
type memServer struct {
	mem  *imapmemserver.Server
	addr string
	seq  atomic.Int64
}

func startMemServer(t testing.TB) *memServer {
	t.Helper()
	ms := &memServer{mem: imapmemserver.New()}
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return ms.mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		InsecureAuth: true,
		Logger:       nopLogger{},
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	ms.addr = l.Addr().String()
	return ms
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

func (m *memServer) NewUser(t testing.TB) migrate.Login {
	name := fmt.Sprintf("mem%d", m.seq.Add(1))
	u := imapmemserver.NewUser(name, "pw-"+name)
	if err := u.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	m.mem.AddUser(u)
	return migrate.Login{UserName: name, Password: "pw-" + name}
}

func (m *memServer) Admin(t testing.TB, login migrate.Login) *imapclient.Client {
	c, err := imapclient.DialInsecure(m.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(login.UserName, login.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConformance_MemServer(t *testing.T) {
	ms := startMemServer(t)
	host, port, _ := net.SplitHostPort(ms.addr)
	var p int
	fmt.Sscan(port, &p)
	c := newConnector(t, imapsrc.Config{Host: host, Port: p, Security: imapsrc.SecurityNone})
	sourcetest.Run(t, sourcetest.Options{Connector: c, Server: ms, CondStore: false, SpecialUse: false})
}
