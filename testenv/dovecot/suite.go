package dovecot

import (
	"context"
	"testing"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/imapmig/imapmig/migrate"
)

// SuiteServer adapts a Dovecot to migrate/sourcetest.Server: NewUser adds
// a user that sees Layout, Admin logs in as a user through the master
// user.
type SuiteServer struct {
	Srv    *Server
	Layout Layout
}

// NewUser adds a fresh user and returns its login.
func (a SuiteServer) NewUser(t testing.TB) migrate.Login {
	t.Helper()
	u, err := a.Srv.NewUser("u", a.Layout)
	if err != nil {
		t.Fatal(err)
	}
	return migrate.Login{UserName: u.Name, Password: u.Password}
}

// Admin is a logged-in session on login's mailbox.
func (a SuiteServer) Admin(t testing.TB, login migrate.Login) *imapclient.Client {
	t.Helper()
	c, err := a.Srv.Client(context.Background(), login.UserName)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
