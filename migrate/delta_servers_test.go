package migrate_test

import (
	"context"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/imapmig/imapmig/imapsrc"
	"github.com/imapmig/imapmig/testenv/cyrus"
	"github.com/imapmig/imapmig/testenv/dovecot"
	"github.com/imapmig/imapmig/testenv/mailgen"
)

var cy cyrus.Shared

// benchServer is the IMAP server a delta benchmark runs against: Dovecot
// (maildir: the folder's directory is re-read when it changed) or Cyrus
// (an mmap'd per-folder index, no directory scans).
type benchServer interface {
	// name prefixes the server's CPU metric ("dovecot-cpu-ms/op").
	name() string
	// newUser adds a user whose name starts with prefix.
	newUser(b *testing.B, prefix string) (name, password string)
	// seed puts n small messages (bigMessages) into user's INBOX.
	seed(b *testing.B, user string, n int)
	// connector is imapsrc over the server's implicit-TLS port.
	connector(b *testing.B) *imapsrc.Connector
	// client opens a session on user's mailbox (the caller logs out).
	client(ctx context.Context, user string) (*imapclient.Client, error)
	// sessions is how many IMAP sessions the server still runs.
	sessions() (int, error)
	// cpuSeconds is the server's CPU time so far, all processes.
	cpuSeconds() (float64, error)
}

type dovecotBench struct{ srv *dovecot.Server }

func (dovecotBench) name() string { return "dovecot" }
func (d dovecotBench) newUser(b *testing.B, prefix string) (string, string) {
	u, err := d.srv.NewUser(prefix, dovecot.LayoutSlash)
	if err != nil {
		b.Fatal(err)
	}
	return u.Name, u.Password
}
func (d dovecotBench) seed(b *testing.B, user string, n int) { seedBig(b, d.srv, user, n) }
func (d dovecotBench) connector(b *testing.B) *imapsrc.Connector {
	return dovecotConnector(b, d.srv, nil)
}
func (d dovecotBench) client(ctx context.Context, user string) (*imapclient.Client, error) {
	return d.srv.Client(ctx, user)
}
func (d dovecotBench) sessions() (int, error)       { return d.srv.IMAPSessions() }
func (d dovecotBench) cpuSeconds() (float64, error) { return d.srv.CPUSeconds() }

type cyrusBench struct{ srv *cyrus.Server }

func (cyrusBench) name() string { return "cyrus" }
func (c cyrusBench) newUser(b *testing.B, prefix string) (string, string) {
	u, err := c.srv.NewUser(prefix)
	if err != nil {
		b.Fatal(err)
	}
	return u.Name, u.Password
}

// seed APPENDs the messages over IMAP, 10,000 per MULTIAPPEND (Cyrus has
// no maildir to write behind its back), and logs how long that took.
func (c cyrusBench) seed(b *testing.B, user string, n int) {
	start := time.Now()
	cpu0, _ := c.srv.CPUSeconds()
	bigMessages(b, user, n, func(msgs []mailgen.Message) error {
		return c.srv.AppendMany(context.Background(), user, "INBOX", msgs)
	})
	cpu1, _ := c.srv.CPUSeconds()
	b.Logf("seeded %d messages into Cyrus by MULTIAPPEND in %s (Cyrus CPU %.1f s)", n, time.Since(start).Round(time.Millisecond), cpu1-cpu0)
}
func (c cyrusBench) connector(b *testing.B) *imapsrc.Connector {
	return tlsConnector(b, c.srv.Host, c.srv.TLSPort, c.srv.CertPool, nil)
}
func (c cyrusBench) client(ctx context.Context, user string) (*imapclient.Client, error) {
	return c.srv.Client(ctx, user)
}
func (c cyrusBench) sessions() (int, error)       { return c.srv.IMAPSessions() }
func (c cyrusBench) cpuSeconds() (float64, error) { return c.srv.CPUSeconds() }
