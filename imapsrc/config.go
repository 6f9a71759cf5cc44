package imapsrc

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/imapmig/imapmig/migrate"
)

// Security is how the connection is protected.
type Security string

const (
	SecuritySSL  Security = "ssl"  // implicit TLS (port 993)
	SecurityTLS  Security = "tls"  // STARTTLS (port 143)
	SecurityNone Security = "none" // plaintext
)

// Config describes an IMAP endpoint.
type Config struct {
	Host     string
	Port     int
	Security Security
	// Auth is "plain" (AUTHENTICATE PLAIN, the default) or "login" (LOGIN).
	Auth string
	// AcceptUntrustedCertificates turns off certificate verification
	// (the endpoint's accept_untrusted_certificates).
	AcceptUntrustedCertificates bool
	// RootCAs is extra trust (tests); nil means the system pool.
	RootCAs *x509.CertPool
	// MasterUser, when set with Auth "plain", logs in as SASL
	// authzid=Login.UserName, authcid=MasterUser; the password is the
	// master's. Dovecot's "user*admin" form needs nothing here: it is just
	// the UserName.
	MasterUser string
	// SpoolDir is where bodies above SpoolMemLimit are spooled
	// ("" = os.TempDir()). New creates it with mode 0700 and removes the
	// spool files earlier runs left in it (see PrepareSpoolDir).
	SpoolDir string
	// SpoolMemLimit: bodies up to this size stay in memory (default 1 MiB).
	SpoolMemLimit int64
	// MaxConnectionsPerUser caps the connections this Connector has open
	// at once for one login name (default 2: one for a pass, one for a
	// verify or endpoint test beside it). A pass uses one connection.
	MaxConnectionsPerUser int
	// LimitBackoff is the first wait after the server refused a login for
	// too many connections (default 2 s; it doubles, 5 tries).
	LimitBackoff time.Duration
	// DialTimeout bounds connect+TLS+greeting+login (default 30 s).
	// CommandTimeout is how long a running command may go without a byte
	// from the server before the connection is taken as dead, closed and
	// reconnected (default 2 min). It resets on every byte, so a large
	// literal from a slow server is never cut (see watch.go).
	DialTimeout, CommandTimeout time.Duration
	Logger                      *slog.Logger
	// Dialer, when set, is used to connect (tests use it to dial from a
	// different 127.0.0.x source address).
	Dialer *net.Dialer
}

// DefaultMaxConnectionsPerUser is MaxConnectionsPerUser's default.
const DefaultMaxConnectionsPerUser = 2

// Connector opens mailboxes on one endpoint. It is safe for concurrent use.
type Connector struct {
	cfg   Config
	log   *slog.Logger
	limit *limiter
}

var _ migrate.SourceConnector = (*Connector)(nil)

// New checks cfg and fills defaults.
func New(cfg Config) (*Connector, error) {
	if cfg.Host == "" {
		return nil, migrate.Fatal(fmt.Errorf("imapsrc: endpoint host is empty"))
	}
	switch cfg.Security {
	case SecuritySSL, SecurityTLS, SecurityNone:
	case "":
		cfg.Security = SecuritySSL
	default:
		return nil, migrate.Fatal(fmt.Errorf("imapsrc: security %q is not one of ssl, tls, none", cfg.Security))
	}
	if cfg.Port == 0 {
		if cfg.Security == SecuritySSL {
			cfg.Port = 993
		} else {
			cfg.Port = 143
		}
	}
	switch cfg.Auth {
	case "":
		cfg.Auth = "plain"
	case "plain", "login":
	default:
		return nil, migrate.Fatal(fmt.Errorf("imapsrc: auth %q is not one of plain, login", cfg.Auth))
	}
	if cfg.MasterUser != "" && cfg.Auth != "plain" {
		return nil, migrate.Fatal(fmt.Errorf("imapsrc: master_user needs auth plain (SASL authzid); for LOGIN use the user*master user name form"))
	}
	if cfg.SpoolMemLimit <= 0 {
		cfg.SpoolMemLimit = 1 << 20
	}
	if cfg.MaxConnectionsPerUser <= 0 {
		cfg.MaxConnectionsPerUser = DefaultMaxConnectionsPerUser
	}
	if cfg.LimitBackoff <= 0 {
		cfg.LimitBackoff = limitBackoff
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 30 * time.Second
	}
	if cfg.CommandTimeout <= 0 {
		cfg.CommandTimeout = 2 * time.Minute
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.SpoolDir != "" {
		// os.TempDir() (SpoolDir "") is shared with other programs: it is
		// neither tightened nor swept.
		n, err := PrepareSpoolDir(cfg.SpoolDir)
		if err != nil {
			return nil, migrate.Fatal(err)
		}
		if n > 0 {
			log.Info("removed spool files left by an earlier run", "spool_dir", cfg.SpoolDir, "files", n)
		}
	}
	return &Connector{cfg: cfg, log: log.With("imap_host", cfg.Host),
		limit: &limiter{max: cfg.MaxConnectionsPerUser, users: map[string]*userSlots{}}}, nil
}

// Connect logs in as login and returns the open mailbox. It waits while
// the user has MaxConnectionsPerUser connections open through c.
func (c *Connector) Connect(ctx context.Context, login migrate.Login) (migrate.Source, error) {
	if err := c.limit.acquire(ctx, login.UserName); err != nil {
		return nil, err
	}
	s := &source{conn: c, login: login, log: c.log.With("imap_user", login.UserName), holdsSlot: true}
	if err := s.reconnect(ctx); err != nil {
		s.releaseSlot()
		return nil, err
	}
	return s, nil
}

// Test connects, logs in and logs out (for `imapmig endpoint test`).
func (c *Connector) Test(ctx context.Context, login migrate.Login) error {
	s, err := c.Connect(ctx, login)
	if err != nil {
		return err
	}
	return s.Close()
}
