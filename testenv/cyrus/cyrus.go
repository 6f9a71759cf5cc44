package cyrus

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
	"time"

	"github.com/imapmig/imapmig/testenv/imapseed"
	"github.com/imapmig/imapmig/testenv/internal/serverproc"
)

// Namespace is the mailbox naming Cyrus presents.
type Namespace int

const (
	// NamespaceAlt: altnamespace: 1, unixhierarchysep: 1 (the Cyrus 3
	// default): no prefix, separator "/".
	NamespaceAlt Namespace = iota
	// NamespaceClassic: altnamespace: 0, unixhierarchysep: 0 (the Cyrus 2
	// default): prefix "INBOX.", separator ".".
	NamespaceClassic
)

func (n Namespace) String() string {
	if n == NamespaceClassic {
		return "classic"
	}
	return "alt"
}

// Layout is how folder paths are written in the namespace.
func (n Namespace) Layout() imapseed.Layout {
	if n == NamespaceClassic {
		return imapseed.Layout{Prefix: "INBOX.", Delim: '.'}
	}
	return imapseed.Layout{Delim: '/'}
}

// Folders are created for every user at its first login, with their
// special-use attributes.
var Folders = []string{"Sent", "Drafts", "Trash", "Junk", "Archive"}

// Options configure Start. The zero value is fine.
type Options struct {
	// Root is an unpacked Cyrus tree (see Locate); default: found by Locate.
	Root string
	// Dir is where config, state and mail live; default: a new temp dir
	// removed by Stop.
	Dir string
	// Namespace selects the layout; default NamespaceAlt.
	Namespace Namespace
	// Logger receives start/stop messages; default: discard.
	Logger *slog.Logger
}

// SharedSpec says how a Shared Cyrus starts with these options: it is
// skipped outside CI when Cyrus is not unpacked.
func (o Options) SharedSpec() serverproc.LazySpec[*Server] {
	return serverproc.LazySpec[*Server]{
		Start:         func(ctx context.Context) (*Server, error) { return Start(ctx, o) },
		Timeout:       60 * time.Second,
		NotInstalled:  ErrNotInstalled,
		SkipOutsideCI: true,
		Needs:         "Cyrus IMAP",
		Name:          "Cyrus",
	}
}

// Server is a running Cyrus master bound to 127.0.0.1.
type Server struct {
	// Listeners: Host, Port (plain IMAP, plaintext logins allowed),
	// TLSPort (implicit TLS), the certificate, Addr, TLSAddr, TLSConfig.
	serverproc.Listeners
	// AdminUser and AdminPassword authenticate as any user through SASL
	// PLAIN with authzid.
	AdminUser, AdminPassword string
	// Dir holds config, mail and master's log.
	Dir string
	// Namespace is the layout the server was started with.
	Namespace Namespace

	root     string
	conf     string
	ownDir   bool
	uid, gid int
	proc     *serverproc.Proc
	log      *slog.Logger

	mu    sync.Mutex
	users map[string]*User
}

// Start writes a self-contained config and starts Cyrus's master on random
// loopback ports. It returns when both ports accept connections.
func Start(ctx context.Context, opts Options) (*Server, error) {
	root, err := Locate(opts.Root)
	if err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("saslpasswd2"); err != nil {
		return nil, fmt.Errorf("%w: saslpasswd2 (sasl2-bin) is missing", ErrNotInstalled)
	}
	s := &Server{Listeners: serverproc.Listeners{Host: "127.0.0.1"}, root: root, log: opts.Logger, users: map[string]*User{}, Namespace: opts.Namespace}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.Dir, s.ownDir, err = serverproc.Workdir(opts.Dir, "imapmig-cyrus-"); err != nil {
		return nil, err
	}
	start := func() error { return s.startProcess(ctx) }
	if err := serverproc.SetUp(s.Dir, s.ownDir, s.copyBinaries, s.writeFiles, start); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) bin(name string) string { return filepath.Join(s.Dir, "bin", name) }

// programs are the Cyrus binaries the harness runs.
var programs = []string{"master", "imapd", "ctl_cyrusdb"}

// copyBinaries copies the programs and the libcyrus* libraries into Dir:
// the services run as an unprivileged user (Cyrus's imapd refuses root),
// which may not be able to traverse the unpacked tree (~root/.cache).
func (s *Server) copyBinaries() error {
	for _, d := range []string{"bin", "lib"} {
		if err := os.MkdirAll(filepath.Join(s.Dir, d), 0o755); err != nil {
			return err
		}
	}
	for _, p := range programs {
		if err := copyFile(filepath.Join(s.root, "usr", "lib", "cyrus", "bin", p), s.bin(p), 0o755); err != nil {
			return err
		}
	}
	libs, err := filepath.Glob(filepath.Join(s.root, "usr", "lib", "*-linux-gnu", "libcyrus*.so.*"))
	if err != nil {
		return err
	}
	for _, l := range libs {
		// Through the soname symlinks too: the copy is a plain file under
		// every name the loader may ask for.
		if err := copyFile(l, filepath.Join(s.Dir, "lib", filepath.Base(l)), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, mode)
}

// identity is the user and group the services run as.
func (s *Server) identity() (string, string, error) {
	if os.Geteuid() == 0 {
		s.uid, s.gid = 65534, 65534
	} else {
		s.uid, s.gid = os.Geteuid(), os.Getegid()
	}
	u, err := user.LookupId(strconv.Itoa(s.uid))
	if err != nil {
		return "", "", err
	}
	g, err := user.LookupGroupId(strconv.Itoa(s.gid))
	if err != nil {
		return "", "", err
	}
	return u.Username, g.Name, nil
}

func (s *Server) writeFiles() error {
	if err := s.Listen(s.Dir, "cyrus"); err != nil {
		return err
	}
	d := s.Dir
	for _, sub := range []string{"conf/socket", "conf/proc", "conf/log", "conf/db", "conf/sieve", "conf/user", "conf/quota", "conf/lock", "spool", "tmp"} {
		if err := os.MkdirAll(filepath.Join(d, sub), 0o755); err != nil {
			return err
		}
	}
	usr, grp, err := s.identity()
	if err != nil {
		return err
	}
	s.AdminUser, s.AdminPassword = "cyrus", "admin-"+serverproc.RandomHex(8)
	if err := s.saslpasswd(s.AdminUser, s.AdminPassword); err != nil {
		return err
	}
	alt := "1"
	if s.Namespace == NamespaceClassic {
		alt = "0"
	}
	var xlist strings.Builder
	for _, f := range Folders {
		fmt.Fprintf(&xlist, "xlist-%s: %s\n", strings.ToLower(f), f)
	}
	imapd := fmt.Sprintf(`# generated by imapmig testenv/cyrus; self-contained
configdirectory: %[1]s/conf
defaultpartition: default
partition-default: %[1]s/spool
sievedir: %[1]s/conf/sieve
temp_path: %[1]s/tmp
cyrus_user: %[2]s
cyrus_group: %[3]s
servername: localhost
admins: %[4]s
proxyservers: %[4]s
allowplaintext: 1
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: %[1]s/sasldb2
sasl_mech_list: PLAIN LOGIN
tls_server_cert: %[1]s/cert.pem
tls_server_key: %[1]s/key.pem
altnamespace: %[5]s
unixhierarchysep: %[5]s
autocreate_quota: 0
# Cyrus replaces 8-bit bytes in headers with 'X' by default (on APPEND
# too); keep the bytes, so that what a test appends is what it reads.
munge8bit: 0
autocreate_inbox_folders: %[6]s
%[7]s`, d, usr, grp, s.AdminUser, alt, strings.Join(Folders, " | "), xlist.String())
	s.conf = filepath.Join(d, "imapd.conf")
	if err := os.WriteFile(s.conf, []byte(imapd), 0o644); err != nil {
		return err
	}
	master := fmt.Sprintf(`# generated by imapmig testenv/cyrus
START {
  recover cmd="%[1]s -C %[2]s -r"
}
SERVICES {
  imap cmd="%[3]s -C %[2]s" listen="127.0.0.1:%[4]d" prefork=0
  imaps cmd="%[3]s -s -C %[2]s" listen="127.0.0.1:%[5]d" prefork=0
}
EVENTS {
}
DAEMON {
}
`, s.bin("ctl_cyrusdb"), s.conf, s.bin("imapd"), s.Port, s.TLSPort)
	if err := os.WriteFile(filepath.Join(d, "cyrus.conf"), []byte(master), 0o644); err != nil {
		return err
	}
	return serverproc.ChownTree(d, s.uid, s.gid)
}

// saslpasswd sets user's password in the private sasldb.
func (s *Server) saslpasswd(name, password string) error {
	db := filepath.Join(s.Dir, "sasldb2")
	cmd := exec.Command("saslpasswd2", "-p", "-c", "-f", db, "-u", "localhost", name)
	cmd.Stdin = strings.NewReader(password)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("saslpasswd2 %s: %v: %s", name, err, out)
	}
	if os.Geteuid() == 0 {
		return os.Chown(db, s.uid, s.gid)
	}
	return nil
}

func (s *Server) libPath() string {
	p := filepath.Join(s.Dir, "lib")
	if v := os.Getenv("LD_LIBRARY_PATH"); v != "" {
		p += ":" + v
	}
	return p
}

func (s *Server) startProcess(ctx context.Context) error {
	// master drops root for cyrus_user, which clears a parent-death
	// signal; the watchdog shell (which stays root) stops it when the test
	// process dies. Its own process group, so Stop reaches the services.
	proc, err := serverproc.Start(serverproc.Spec{
		Args: []string{s.bin("master"), "-C", s.conf, "-M", filepath.Join(s.Dir, "cyrus.conf"),
			"-p", filepath.Join(s.Dir, "master.pid"), "-L", filepath.Join(s.Dir, "master.log")},
		Dir:          s.Dir,
		Env:          append(os.Environ(), "LD_LIBRARY_PATH="+s.libPath()),
		Output:       filepath.Join(s.Dir, "master.out"),
		ProcessGroup: true,
	})
	if err != nil {
		return fmt.Errorf("cyrus master: %v", err)
	}
	s.proc = proc
	if err := proc.WaitListening(ctx, s.Host, 20*time.Second, s.Port, s.TLSPort); err != nil {
		var le *serverproc.ListenError
		if errors.As(err, &le) && le.Exited {
			return fmt.Errorf("cyrus master exited before listening on port %d: %v%s", le.Port, proc.State(), s.Log())
		}
		s.Stop()
		return fmt.Errorf("cyrus %v%s", err, s.Log())
	}
	s.log.Info("cyrus started", "dir", s.Dir, "port", s.Port, "tls_port", s.TLSPort, "namespace", s.Namespace)
	return nil
}

// Log returns the tail of master's output and log (for failure messages).
func (s *Server) Log() string { return serverproc.Tail(s.Dir, "master.out", "master.log") }

// Stop terminates master and its services, waits for master to exit and
// removes the temp dir it created.
func (s *Server) Stop() error {
	if s.proc != nil {
		if !s.proc.Close(15 * time.Second) {
			s.proc.KillGroup()
			<-s.proc.Exited()
		}
		// Services master forked and did not reap.
		s.proc.KillGroup()
	}
	if s.ownDir {
		return os.RemoveAll(s.Dir)
	}
	return nil
}
