package dovecot

import (
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/imapmig/imapmig/testenv/internal/serverproc"
)

var userSeq atomic.Int64

// AddUser adds a passwd-file user at runtime (Dovecot re-reads the file on
// its next lookup) and creates its home. An empty Password gets a random one.
func (s *Server) AddUser(name, password string, layout Layout) (*User, error) {
	password, err := serverproc.NewLogin("dovecot", name, password, ":*\n /%", ":\n")
	if err != nil {
		return nil, err
	}
	if s.Profile == ProfileOldHoster {
		layout = LayoutINBOXDot // the namespace is server-wide
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[name]; ok {
		return nil, fmt.Errorf("dovecot: user %q exists", name)
	}
	home := filepath.Join(s.Dir, "mail", name)
	if err := os.MkdirAll(filepath.Join(home, "Maildir"), 0o700); err != nil {
		return nil, err
	}
	if err := serverproc.ChownTree(home, s.uid, s.gid); err != nil {
		return nil, err
	}
	extra := ""
	if layout == LayoutINBOXDot && s.Profile != ProfileOldHoster {
		extra = "userdb_namespace/inbox/prefix=INBOX. userdb_namespace/inbox/separator=."
	}
	line := fmt.Sprintf("%s:{PLAIN}%s:%d:%d::%s::%s\n", name, password, s.uid, s.gid, home, extra)
	if err := os.WriteFile(filepath.Join(s.Dir, "users.d", name), []byte(line), 0o644); err != nil {
		return nil, err
	}
	u := &User{Name: name, Password: password, Layout: layout, Home: home}
	s.users[name] = u
	return u, nil
}

// NewUser adds a user with a unique name starting with prefix.
func (s *Server) NewUser(prefix string, layout Layout) (*User, error) {
	return s.AddUser(fmt.Sprintf("%s%d", prefix, userSeq.Add(1)), "", layout)
}

// MustNewUser is NewUser for tests: it fails tb when the user cannot be
// added.
func (s *Server) MustNewUser(tb testing.TB, prefix string, layout Layout) *User {
	tb.Helper()
	u, err := s.NewUser(prefix, layout)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

// User returns a user added earlier, or nil.
func (s *Server) User(name string) *User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.users[name]
}
