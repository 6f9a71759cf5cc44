package dovecot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/imapmig/imapmig/testenv/internal/serverproc"
)

// InstallHint is the command that installs Dovecot on Debian/Ubuntu
// (testenv/install.sh, which the README's test command runs, does it too).
const InstallHint = "apt-get update && apt-get install -y dovecot-imapd"

// ErrNotInstalled is returned by Start when no dovecot binary is found.
var ErrNotInstalled = errors.New("dovecot is not installed; install it with: " + InstallHint)

// Options configure Start. The zero value is fine.
type Options struct {
	// Binary is the dovecot executable; default: $PATH, then /usr/sbin/dovecot.
	Binary string
	// Dir is where config, state, logs and mail live; default: a new temp
	// dir removed by Stop.
	Dir string
	// Logger receives start/stop messages; default: discard.
	Logger *slog.Logger
	// Profile selects what the server offers; default ProfileFull.
	Profile Profile
}

// SharedSpec says how a Shared Dovecot starts with these options.
func (o Options) SharedSpec() serverproc.LazySpec[*Server] {
	return serverproc.LazySpec[*Server]{
		Start:        func(ctx context.Context) (*Server, error) { return Start(ctx, o) },
		Timeout:      30 * time.Second,
		NotInstalled: ErrNotInstalled,
		Needs:        "a real Dovecot",
		Name:         "Dovecot",
	}
}

// Profile is the kind of IMAP server the harness imitates.
type Profile int

const (
	// ProfileFull is Dovecot as it comes: CONDSTORE, QRESYNC, ESEARCH,
	// MOVE, LIST-STATUS, SPECIAL-USE, and the special-use folders Sent,
	// Drafts, Junk, Trash, Archive.
	ProfileFull Profile = iota
	// ProfileOldHoster is the server an old hosting provider runs: the
	// capability line OldHosterCapability (no CONDSTORE, QRESYNC, ESEARCH,
	// MOVE, LIST-STATUS, SPECIAL-USE), every user in LayoutINBOXDot, no
	// special-use attributes, the German folders OldHosterFolders created
	// for every user, and at most OldHosterMaxConnections connections per
	// user and IP.
	ProfileOldHoster
)

// OldHosterCapability is the post-login capability line of ProfileOldHoster.
const OldHosterCapability = "IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS IDLE NAMESPACE UIDPLUS CHILDREN UNSELECT"

// OldHosterFolders are created (and subscribed) for every ProfileOldHoster
// user, under the "INBOX." prefix, without special-use attributes.
var OldHosterFolders = []string{"Gesendet", "Entwürfe", "Papierkorb", "Spam"}

// OldHosterMaxConnections is mail_max_userip_connections of ProfileOldHoster.
const OldHosterMaxConnections = 3

func (p Profile) String() string {
	if p == ProfileOldHoster {
		return "old-hoster"
	}
	return "full"
}

// Server is a running Dovecot bound to 127.0.0.1.
type Server struct {
	// Listeners: Host, Port (plain IMAP with STARTTLS), TLSPort (implicit
	// TLS), the certificate, Addr, TLSAddr, TLSConfig.
	serverproc.Listeners
	// MasterUser and MasterPassword log in as any user with "user*admin"
	// or SASL PLAIN authzid=user, authcid=admin.
	MasterUser, MasterPassword string
	// Dir holds config, logs and mail.
	Dir string
	// Profile is the profile the server was started with.
	Profile Profile

	binary   string
	conf     string
	proc     *serverproc.Proc
	ownDir   bool
	uid, gid int
	log      *slog.Logger

	mu    sync.Mutex
	users map[string]*User
}

// User is a passwd-file user of the harness.
type User struct {
	Name, Password string
	// Layout is the namespace layout the user sees.
	Layout Layout
	// Home is the user's home; mail is in Home/Maildir.
	Home string
}

// Layout selects the personal namespace a user sees.
type Layout int

const (
	// LayoutSlash: no prefix, separator "/", special-use folders Sent,
	// Drafts, Junk, Trash, Archive (the default).
	LayoutSlash Layout = iota
	// LayoutINBOXDot: prefix "INBOX.", separator "." (older hosting
	// providers): folders show as INBOX.Sent, INBOX.Drafts, …
	LayoutINBOXDot
)

// Delim is the hierarchy delimiter of the layout.
func (l Layout) Delim() rune {
	if l == LayoutINBOXDot {
		return '.'
	}
	return '/'
}

// Prefix is the personal namespace prefix of the layout.
func (l Layout) Prefix() string {
	if l == LayoutINBOXDot {
		return "INBOX."
	}
	return ""
}

// Installed reports whether a dovecot binary can be found, with an error
// that says how to install it.
func Installed(binary string) (string, error) {
	if binary != "" {
		if _, err := os.Stat(binary); err != nil {
			return "", fmt.Errorf("%w (%v)", ErrNotInstalled, err)
		}
		return binary, nil
	}
	if p, err := exec.LookPath("dovecot"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/dovecot"); err == nil {
		return "/usr/sbin/dovecot", nil
	}
	return "", ErrNotInstalled
}

// Start writes a self-contained config and starts Dovecot on random
// loopback ports. It returns when both ports accept connections.
func Start(ctx context.Context, opts Options) (*Server, error) {
	bin, err := Installed(opts.Binary)
	if err != nil {
		return nil, err
	}
	s := &Server{Listeners: serverproc.Listeners{Host: "127.0.0.1"}, binary: bin, log: opts.Logger, users: map[string]*User{}, Profile: opts.Profile}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.Dir, s.ownDir, err = serverproc.Workdir(opts.Dir, "imapmig-dovecot-"); err != nil {
		return nil, err
	}
	start := func() error { return s.startProcess(ctx) }
	if err := serverproc.SetUp(s.Dir, s.ownDir, s.writeFiles, start); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) writeFiles() error {
	if err := s.Listen(s.Dir, "dovecot"); err != nil {
		return err
	}
	for _, d := range []string{"base", "state", "mail", "users.d"} {
		if err := os.MkdirAll(filepath.Join(s.Dir, d), 0o755); err != nil {
			return err
		}
	}
	s.MasterUser, s.MasterPassword = "admin", "master-"+serverproc.RandomHex(8)
	if err := os.WriteFile(filepath.Join(s.Dir, "masters"),
		[]byte(s.MasterUser+":{PLAIN}"+s.MasterPassword+"\n"), 0o644); err != nil {
		return err
	}
	ids, err := s.identity()
	if err != nil {
		return err
	}
	s.conf = filepath.Join(s.Dir, "dovecot.conf")
	return os.WriteFile(s.conf, []byte(s.config(ids)), 0o644)
}

// identity sets the uid and gid mail is stored as and returns the
// settings that make Dovecot run its services as them.
func (s *Server) identity() (string, error) {
	if os.Geteuid() == 0 {
		s.uid, s.gid = 65534, 65534
		return "mail_uid = 65534\nmail_gid = 65534\nfirst_valid_uid = 1\n", nil
	}
	u, err := user.Current()
	if err != nil {
		return "", err
	}
	g, err := user.LookupGroupId(strconv.Itoa(os.Getegid()))
	if err != nil {
		return "", err
	}
	s.uid, s.gid = os.Geteuid(), os.Getegid()
	return fmt.Sprintf("default_internal_user = %s\ndefault_login_user = %s\ndefault_internal_group = %s\nfirst_valid_uid = 1\nservice anvil {\n  chroot =\n}\n",
		u.Username, u.Username, g.Name), nil
}

// config is dovecot.conf; ids are the settings identity returned.
func (s *Server) config(ids string) string {
	loginChroot := ""
	if os.Geteuid() != 0 {
		loginChroot = "  chroot =\n"
	}
	return fmt.Sprintf(`# generated by imapmig testenv/dovecot; self-contained, no !include
instance_name = imapmig-%[2]s
base_dir = %[1]s/base
state_dir = %[1]s/state
protocols = imap
listen = 127.0.0.1
log_path = %[1]s/dovecot.log
ssl = yes
ssl_cert = <%[1]s/cert.pem
ssl_key = <%[1]s/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_master_user_separator = *
auth_failure_delay = 0
auth_cache_size = 0
auth_verbose = yes
mail_location = maildir:~/Maildir
mail_fsync = never
mail_max_userip_connections = %[8]d
%[9]simap_hibernate_timeout = 0
%[3]s
service imap-login {
%[6]s  inet_listener imap {
    address = 127.0.0.1
    port = %[4]d
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = %[5]d
    ssl = yes
  }
}
service imap {
  process_limit = 1024
}
passdb {
  driver = passwd-file
  args = %[1]s/masters
  master = yes
  pass = yes
}
# one passwd-file per user: Dovecot re-reads a changed passwd-file at most
# once a second, a new file it reads at once.
passdb {
  driver = passwd-file
  args = %[1]s/users.d/%%u
}
userdb {
  driver = passwd-file
  args = %[1]s/users.d/%%u
}
%[7]s`, s.Dir, serverproc.RandomHex(4), ids, s.Port, s.TLSPort, loginChroot, s.namespaceConf(), s.maxUserIPConnections(), s.capabilityConf())
}

const fullNamespace = `namespace inbox {
  inbox = yes
  separator = /
  mailbox Sent {
    special_use = \Sent
    auto = subscribe
  }
  mailbox Drafts {
    special_use = \Drafts
    auto = subscribe
  }
  mailbox Junk {
    special_use = \Junk
    auto = subscribe
  }
  mailbox Trash {
    special_use = \Trash
    auto = subscribe
  }
  mailbox Archive {
    special_use = \Archive
    auto = create
  }
}
`

func (s *Server) namespaceConf() string {
	if s.Profile != ProfileOldHoster {
		return fullNamespace
	}
	var b strings.Builder
	b.WriteString("namespace inbox {\n  inbox = yes\n  prefix = INBOX.\n  separator = .\n")
	for _, f := range OldHosterFolders {
		fmt.Fprintf(&b, "  mailbox \"%s\" {\n    auto = subscribe\n  }\n", f)
	}
	b.WriteString("}\n")
	return b.String()
}

func (s *Server) maxUserIPConnections() int {
	if s.Profile == ProfileOldHoster {
		return OldHosterMaxConnections
	}
	return 1000
}

func (s *Server) capabilityConf() string {
	if s.Profile == ProfileOldHoster {
		return "imap_capability = " + OldHosterCapability + "\n"
	}
	return ""
}

func (s *Server) startProcess(ctx context.Context) error {
	// Dovecot's children inherit stdout/stderr: give them a file.
	outPath := filepath.Join(s.Dir, "start.out")
	proc, err := serverproc.Start(serverproc.Spec{
		Args:   []string{s.binary, "-F", "-c", s.conf},
		Output: outPath,
	})
	if err != nil {
		return fmt.Errorf("dovecot -c %s: %v", s.conf, err)
	}
	s.proc = proc
	if err := proc.WaitListening(ctx, s.Host, 10*time.Second, s.Port, s.TLSPort); err != nil {
		var le *serverproc.ListenError
		if errors.As(err, &le) && le.Exited {
			out, _ := os.ReadFile(outPath)
			return fmt.Errorf("dovecot -F -c %s exited: %s%s", s.conf, out, s.Log())
		}
		s.Stop()
		return fmt.Errorf("dovecot %v%s", err, s.Log())
	}
	s.log.Info("dovecot started", "dir", s.Dir, "port", s.Port, "tls_port", s.TLSPort)
	return nil
}

// Log returns the tail of dovecot.log (for test failure messages).
func (s *Server) Log() string { return serverproc.Tail(s.Dir, "dovecot.log") }

// Stop terminates Dovecot, waits until the master has exited and removes
// the temp dir it created. It takes about 3 s.
func (s *Server) Stop() error {
	if s.proc != nil {
		s.proc.Close(15 * time.Second)
	}
	pidb, err := os.ReadFile(filepath.Join(s.Dir, "base", "master.pid"))
	if err == nil {
		pid, _ := strconv.Atoi(strings.TrimSpace(string(pidb)))
		if pid > 0 {
			syscall.Kill(pid, syscall.SIGTERM)
			deadline := time.Now().Add(15 * time.Second)
			for time.Now().Before(deadline) {
				if syscall.Kill(pid, 0) != nil {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	if s.ownDir {
		return os.RemoveAll(s.Dir)
	}
	return nil
}

// Doveadm runs doveadm against this instance.
func (s *Server) Doveadm(ctx context.Context, args ...string) ([]byte, error) {
	bin := "doveadm"
	if p := filepath.Join(filepath.Dir(s.binary), "..", "bin", "doveadm"); fileExists(p) {
		bin = p
	}
	cmd := exec.CommandContext(ctx, bin, append([]string{"-c", s.conf}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("doveadm %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return out, nil
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// Kick disconnects all of user's sessions (server-side connection loss).
func (s *Server) Kick(ctx context.Context, user string) error {
	_, err := s.Doveadm(ctx, "kick", user)
	return err
}
