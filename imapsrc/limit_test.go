package imapsrc_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/imapmig/imapmig/imapsrc"
	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/testenv/dovecot"
)

// refusals counts the Connector's "refused a connection" warnings, so a
// test can wait for the server's refusal instead of sleeping.
type refusals struct{ n atomic.Int64 }

func (r *refusals) Enabled(context.Context, slog.Level) bool { return true }

func (r *refusals) Handle(ctx context.Context, rec slog.Record) error {
	if strings.Contains(rec.Message, "refused a connection") {
		r.n.Add(1)
	}
	return nil
}
func (r *refusals) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *refusals) WithGroup(string) slog.Handler      { return r }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// mailClient logs the user in as their own mail client would, taking one
// of the server's connection slots.
func mailClient(t *testing.T, srv *dovecot.Server, u *dovecot.User) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(srv.Addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(u.Name, u.Password).Wait(); err != nil {
		t.Fatalf("mail client login: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func logout(c *imapclient.Client) { c.Logout().Wait(); c.Close() }

type connectResult struct {
	src migrate.Source
	err error
}

func connectAsync(c *imapsrc.Connector, login migrate.Login) chan connectResult {
	ch := make(chan connectResult, 1)
	go func() {
		s, err := c.Connect(context.Background(), login)
		ch <- connectResult{s, err}
	}()
	return ch
}

// awaitUsable waits for the Connect of res and checks that its source
// answers; what names the Connect in a failure.
func awaitUsable(t *testing.T, res chan connectResult, what string) {
	t.Helper()
	r := <-res
	if r.err != nil {
		t.Fatalf("%s: %v", what, r.err)
	}
	defer r.src.Close()
	if _, err := r.src.Folders(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestConnLimit_NeverMoreThanConfigured: a Connector opens at most
// max_connections_per_user connections for one user; the next Connect
// waits for one to close.
func TestConnLimit_NeverMoreThanConfigured(t *testing.T) {
	srv := dcOld.Get(t)
	u := newUser(t, srv, dovecot.LayoutINBOXDot)
	cfg := dovecotConfig(srv, imapsrc.SecurityTLS)
	cfg.MaxConnectionsPerUser = 2
	c := newConnector(t, cfg)
	login := migrate.Login{UserName: u.Name, Password: u.Password}
	a, b := connect(t, c, login), connect(t, c, login)
	third := connectAsync(c, login)
	waitFor(t, "the third Connect to wait for a slot", func() bool { _, _, w := imapsrc.Slots(c, u.Name); return w == 1 })
	select {
	case r := <-third:
		t.Fatalf("a third connection was opened with max_connections_per_user 2: %v", r.err)
	default:
	}
	if open, _, _ := imapsrc.Slots(c, u.Name); open != 2 {
		t.Fatalf("%d connections open, want 2", open)
	}
	a.Close()
	awaitUsable(t, third, "the third Connect after a Close")
	b.Close()
}

// TestConnLimit_RefusedLoginBacksOffAndRetries: the user's own mail
// clients hold every connection the server allows (3); the login answered
// NO [LIMIT] is not an authentication failure: the Connector backs off and
// gets in once a client logs out. If none does, the error is retryable
// with reason ImapConnectionLimit.
func TestConnLimit_RefusedLoginBacksOffAndRetries(t *testing.T) {
	srv := dcOld.Get(t)
	u := newUser(t, srv, dovecot.LayoutINBOXDot)
	var clients []*imapclient.Client
	for range dovecot.OldHosterMaxConnections {
		clients = append(clients, mailClient(t, srv, u))
	}
	rec := &refusals{}
	cfg := dovecotConfig(srv, imapsrc.SecurityNone)
	cfg.LimitBackoff = 20 * time.Millisecond
	cfg.Logger = slog.New(rec)
	c := newConnector(t, cfg)
	login := migrate.Login{UserName: u.Name, Password: u.Password}

	// Nobody logs out: retryable, never an auth failure.
	_, err := c.Connect(context.Background(), login)
	if err == nil || !errors.Is(err, migrate.ErrConnectionLimit) || errors.Is(err, migrate.ErrAuthFailed) ||
		migrate.KindOf(err) != migrate.KindRetryable || migrate.ReasonOf(err) != migrate.ReasonImapConnectionLimit {
		t.Fatalf("Connect with every slot taken: %v (kind %v, reason %q); want retryable %s", err, migrate.KindOf(err),
			migrate.ReasonOf(err), migrate.ReasonImapConnectionLimit)
	}
	if !strings.Contains(err.Error(), "LIMIT") || strings.Contains(err.Error(), u.Password) {
		t.Errorf("error %q: want the server's [LIMIT] text and no password", err)
	}
	var le *imapsrc.LimitError
	if !errors.As(err, &le) {
		t.Errorf("error %v is not a *LimitError", err)
	}

	// A client logs out while the Connector waits: it gets in.
	before := rec.n.Load()
	res := connectAsync(c, login)
	waitFor(t, "a refused login", func() bool { return rec.n.Load() > before })
	logout(clients[0])
	awaitUsable(t, res, "Connect after a mail client logged out")
}

// TestConnLimit_RetriesWithFewer: the Connector itself holds 3 connections
// (its limit is 5, the server's 3): the fourth login is refused, the
// Connector lowers the user's limit to the 3 it has, and the fourth
// Connect waits for one of them to close instead of failing.
func TestConnLimit_RetriesWithFewer(t *testing.T) {
	srv := dcOld.Get(t)
	u := newUser(t, srv, dovecot.LayoutINBOXDot)
	rec := &refusals{}
	cfg := dovecotConfig(srv, imapsrc.SecurityNone)
	cfg.MaxConnectionsPerUser = 5
	cfg.LimitBackoff = 20 * time.Millisecond
	cfg.Logger = slog.New(rec)
	c := newConnector(t, cfg)
	login := migrate.Login{UserName: u.Name, Password: u.Password}
	var held []migrate.Source
	for range dovecot.OldHosterMaxConnections {
		held = append(held, connect(t, c, login))
	}
	res := connectAsync(c, login)
	waitFor(t, "the fourth Connect to be refused and wait for a slot", func() bool {
		_, limit, waiting := imapsrc.Slots(c, u.Name)
		return rec.n.Load() > 0 && limit == 3 && waiting == 1
	})
	if open, limit, _ := imapsrc.Slots(c, u.Name); open != 3 || limit != 3 {
		t.Fatalf("after the refusal: %d open, limit %d; want 3 and 3", open, limit)
	}
	held[0].Close()
	awaitUsable(t, res, "the fourth Connect after one closed")
}
