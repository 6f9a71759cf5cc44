package interop_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/imapmig/imapmig/imapsrc"
	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/sourcetest"
	"github.com/imapmig/imapmig/testenv/imapwire"
)

// wired starts an imapwire proxy in front of s and an imapsrc connector
// that reaches s only through it.
func wired(t testing.TB, s *server) (*imapwire.Proxy, *imapsrc.Connector) {
	t.Helper()
	p, err := imapwire.Start(s.Upstream)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	conn, err := imapsrc.New(imapsrc.Config{Host: p.Host(), Port: p.Port(), Security: imapsrc.SecurityNone,
		SpoolDir: t.TempDir(), CommandTimeout: time.Minute, DialTimeout: 10 * time.Second,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return p, conn
}

// suiteServer adapts a matrix server to sourcetest.Server.
type suiteServer struct{ s *server }

func (a suiteServer) NewUser(t testing.TB) migrate.Login {
	name, pw := a.s.NewUser(t)
	return migrate.Login{UserName: name, Password: pw}
}

func (a suiteServer) Admin(t testing.TB, login migrate.Login) *imapclient.Client {
	c, err := a.s.Seeder.Dial(context.Background(), login.UserName)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestConformance runs migrate/sourcetest over imapsrc against every server
// of the matrix.
func TestConformance(t *testing.T) {
	for _, m := range matrix {
		t.Run(m.name, func(t *testing.T) {
			s := m.get(t)
			p, conn := wired(t, s)
			sourcetest.Run(t, sourcetest.Options{Connector: conn, Server: suiteServer{s}, CondStore: s.CondStore, SpecialUse: s.SpecialUse})
			if r := p.Refused(); len(r) > 0 {
				t.Errorf("imapsrc used extensions %s does not advertise: %v", s.Name, r)
			}
		})
	}
}
