package cyrus

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/imapmig/imapmig/testenv/imapseed"
	"github.com/imapmig/imapmig/testenv/internal/serverproc"
	"github.com/imapmig/imapmig/testenv/mailgen"
)

// User is a sasldb user of the harness.
type User struct {
	Name, Password string
}

var userSeq atomic.Int64

// AddUser adds a user to the sasldb and creates its INBOX and Folders (by
// logging in once). An empty Password gets a random one.
func (s *Server) AddUser(name, password string) (*User, error) {
	password, err := serverproc.NewLogin("cyrus", name, password, ".@/ \n\\\"%*", "\n")
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[name]; ok {
		return nil, fmt.Errorf("cyrus: user %q exists", name)
	}
	if err := s.saslpasswd(name, password); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The first login autocreates INBOX and the special-use folders.
	c, err := s.Client(ctx, name)
	if err != nil {
		return nil, err
	}
	c.Logout().Wait()
	c.Close()
	u := &User{Name: name, Password: password}
	s.users[name] = u
	return u, nil
}

// NewUser adds a user with a unique name starting with prefix.
func (s *Server) NewUser(prefix string) (*User, error) {
	return s.AddUser(fmt.Sprintf("%s%d", prefix, userSeq.Add(1)), "")
}

// User returns a user added earlier, or nil.
func (s *Server) User(name string) *User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.users[name]
}

// Client opens an IMAP session on user's mailbox as the admin (SASL PLAIN,
// authzid=user), so it works whatever the user's password. The caller
// closes it (Logout + Close).
func (s *Server) Client(ctx context.Context, user string) (*imapclient.Client, error) {
	return serverproc.DialIMAP(ctx, s.Addr(), func(c *imapclient.Client) error {
		if err := c.Authenticate(sasl.NewPlainClient(user, s.AdminUser, s.AdminPassword)); err != nil {
			return fmt.Errorf("cyrus: admin login as %s: %w%s", user, err, s.Log())
		}
		return nil
	})
}

// Seeder changes mailboxes through admin sessions.
func (s *Server) Seeder() *imapseed.Seeder { return &imapseed.Seeder{Dial: s.Client} }

// FolderName is the server form of a folder path in the server's namespace.
func (s *Server) FolderName(path ...string) string { return s.Namespace.Layout().Name(path...) }

// SeedAppend APPENDs every folder of mb over IMAP.
func (s *Server) SeedAppend(ctx context.Context, user string, mb *mailgen.Mailbox) error {
	return s.Seeder().SeedAppend(ctx, user, s.Namespace.Layout(), mb)
}
