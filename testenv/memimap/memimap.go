package memimap

import (
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/imapmig/imapmig/migrate"
)

// Options choose what the server announces.
type Options struct {
	// Caps is the capability line; nil means IMAP4rev1 alone (bare).
	Caps imap.CapSet
	// RefuseInsecureAuth makes the server refuse to log in without TLS
	// (LOGINDISABLED, no AUTH= mechanism), as many servers do.
	RefuseInsecureAuth bool
	// UserPrefix names the users NewUser creates ("mem" when empty).
	UserPrefix string
}

// Server is a running in-memory server; it stops at the test's cleanup.
type Server struct {
	Mem  *imapmemserver.Server
	Addr string
	Host string
	Port int

	srv    *imapserver.Server
	prefix string
	seq    atomic.Int64
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

// Bare is the capability line of a bare IMAP4rev1 server.
func Bare() imap.CapSet { return imap.CapSet{imap.CapIMAP4rev1: {}} }

// Start serves a new in-memory server on a free loopback port until the
// test's cleanup.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := Listen(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Listen serves a new in-memory server on a free loopback port until Close
// (a server shared by a package's tests).
func Listen(opts Options) (*Server, error) {
	if opts.Caps == nil {
		opts.Caps = Bare()
	}
	if opts.UserPrefix == "" {
		opts.UserPrefix = "mem"
	}
	s := &Server{Mem: imapmemserver.New(), prefix: opts.UserPrefix}
	s.srv = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return s.Mem.NewSession(), nil, nil
		},
		Caps:         opts.Caps,
		InsecureAuth: !opts.RefuseInsecureAuth,
		Logger:       nopLogger{},
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go s.srv.Serve(l)
	s.Addr = l.Addr().String()
	host, port, _ := net.SplitHostPort(s.Addr)
	s.Host = host
	s.Port, _ = strconv.Atoi(port)
	return s, nil
}

// Close stops serving.
func (s *Server) Close() error { return s.srv.Close() }

// NewUser creates a user with an INBOX and returns its login.
func (s *Server) NewUser(t testing.TB) migrate.Login {
	name := fmt.Sprintf("%s%d", s.prefix, s.seq.Add(1))
	u := imapmemserver.NewUser(name, "pw-"+name)
	if err := u.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	s.Mem.AddUser(u)
	return migrate.Login{UserName: name, Password: "pw-" + name}
}

// Admin opens a logged-in session of login (the seeding side of a test).
func (s *Server) Admin(t testing.TB, login migrate.Login) *imapclient.Client {
	c, err := imapclient.DialInsecure(s.Addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(login.UserName, login.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}
