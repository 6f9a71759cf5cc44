package dovecot_test

import (
	"context"
	"crypto/tls"
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/imapmig/imapmig/testenv/dovecot"
	"github.com/imapmig/imapmig/testenv/internal/imaptest"
	"github.com/imapmig/imapmig/testenv/mailgen"
	"github.com/imapmig/imapmig/testenv/testmain"
)

var dc dovecot.Shared

func TestMain(m *testing.M) { testmain.Run(m, &dc, &oldHoster) }

func TestLogin_Forms(t *testing.T) {
	srv := dc.Get(t)
	u := srv.MustNewUser(t, "login", dovecot.LayoutSlash)
	tests := []struct {
		name string
		tls  bool
		auth func(c *imapclient.Client) error
	}{
		{"UserPassword", false, func(c *imapclient.Client) error { return c.Login(u.Name, u.Password).Wait() }},
		{"MasterStar", true, func(c *imapclient.Client) error {
			return c.Login(u.Name+"*"+srv.MasterUser, srv.MasterPassword).Wait()
		}},
		{"MasterAuthzid", true, func(c *imapclient.Client) error {
			return c.Authenticate(sasl.NewPlainClient(u.Name, srv.MasterUser, srv.MasterPassword))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c *imapclient.Client
			var err error
			if tt.tls {
				c, err = imapclient.DialTLS(srv.TLSAddr(), &imapclient.Options{TLSConfig: srv.TLSConfig()})
			} else {
				c, err = imapclient.DialStartTLS(srv.Addr(), &imapclient.Options{TLSConfig: &tls.Config{RootCAs: srv.CertPool, ServerName: "127.0.0.1"}})
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := tt.auth(c); err != nil {
				t.Fatal(err)
			}
			names := imaptest.ListAttrs(t, c)
			if !slices.Contains(names["Sent"], imap.MailboxAttrSent) {
				t.Errorf("Sent attrs = %v, want \\Sent (names %v)", names["Sent"], names)
			}
		})
	}
}

func TestSeed_MaildirAndOps(t *testing.T) {
	srv := dc.Get(t)
	ctx := context.Background()
	u := srv.MustNewUser(t, "seed", dovecot.LayoutSlash)
	mb := &mailgen.Mailbox{Folders: []mailgen.Folder{
		{Path: []string{"INBOX"}, Messages: []mailgen.Message{imaptest.Msg("a"), imaptest.Msg("b"), imaptest.Msg("c")}},
		{Path: []string{"Entwürfe & Co", "Unter"}, Messages: []mailgen.Message{imaptest.Msg("d")}},
	}}
	if err := srv.Seed(u.Name, mb); err != nil {
		t.Fatal(err)
	}
	c, err := srv.Client(ctx, u.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	names := imaptest.ListAttrs(t, c)
	if _, ok := names["Entwürfe & Co/Unter"]; !ok {
		t.Fatalf("seeded folder missing: %v", names)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.UIDSetNum(1, 2, 3), &imap.FetchOptions{UID: true, Flags: true, InternalDate: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 3 {
		t.Fatalf("got %d messages, want 3", len(msgs))
	}
	if !msgs[0].InternalDate.Equal(mb.Folders[0].Messages[0].InternalDate) {
		t.Errorf("internal date %v, want %v", msgs[0].InternalDate, mb.Folders[0].Messages[0].InternalDate)
	}
	if !slices.Contains(msgs[0].Flags, imap.FlagSeen) || !slices.Contains(msgs[0].Flags, "$Label1") {
		t.Errorf("flags %v, want \\Seen and $Label1", msgs[0].Flags)
	}
	c.Logout().Wait()

	uids, err := srv.Append(ctx, u.Name, "INBOX", imaptest.Msg("e"))
	if err != nil || len(uids) != 1 || uids[0] != 4 {
		t.Fatalf("Append = %v, %v; want [4]", uids, err)
	}
	if err := srv.SetFlags(ctx, u.Name, "INBOX", []uint32{1}, []string{`\Flagged`}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Expunge(ctx, u.Name, "INBOX", 2); err != nil {
		t.Fatal(err)
	}
	moved, err := srv.Move(ctx, u.Name, "INBOX", "Archive", 3)
	if err != nil || len(moved) != 1 {
		t.Fatalf("Move = %v, %v", moved, err)
	}
	before, err := statusOf(ctx, srv, u.Name, "Archive")
	if err != nil {
		t.Fatal(err)
	}
	uv, err := srv.ResetFolder(ctx, u.Name, "Archive")
	if err != nil {
		t.Fatal(err)
	}
	if uv == before.UIDValidity {
		t.Errorf("UIDVALIDITY unchanged after reset: %d", uv)
	}
	after, _ := statusOf(ctx, srv, u.Name, "Archive")
	if after == nil || *after.NumMessages != 0 {
		t.Errorf("reset folder not empty: %+v", after)
	}
	inbox, _ := statusOf(ctx, srv, u.Name, "INBOX")
	if inbox == nil || *inbox.NumMessages != 2 {
		t.Errorf("INBOX messages = %+v, want 2", inbox)
	}
}

func statusOf(ctx context.Context, srv *dovecot.Server, user, folder string) (*imap.StatusData, error) {
	c, err := srv.Client(ctx, user)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.Status(folder, &imap.StatusOptions{UIDValidity: true, NumMessages: true}).Wait()
}

// newUserClient adds a user named prefix… with layout and opens a session on
// its mailbox, closed when the test ends.
func newUserClient(t *testing.T, srv *dovecot.Server, prefix string, layout dovecot.Layout) (*dovecot.User, *imapclient.Client) {
	t.Helper()
	u := srv.MustNewUser(t, prefix, layout)
	c, err := srv.Client(context.Background(), u.Name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return u, c
}

func TestLayout_INBOXDot(t *testing.T) {
	srv := dc.Get(t)
	_, c := newUserClient(t, srv, "dot", dovecot.LayoutINBOXDot)
	ns, err := c.Namespace().Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(ns.Personal) == 0 || ns.Personal[0].Prefix != "INBOX." || ns.Personal[0].Delim != '.' {
		t.Fatalf("namespace = %+v, want INBOX. and '.'", ns.Personal)
	}
	names := imaptest.ListAttrs(t, c)
	if !slices.Contains(names["INBOX.Sent"], imap.MailboxAttrSent) {
		t.Errorf("INBOX.Sent missing or not \\Sent: %v", names)
	}
	if err := c.Create("INBOX.a/b", nil).Wait(); err != nil {
		t.Logf("a folder with '/' in its name cannot be created on Dovecot Maildir++: %v", err)
	} else if _, ok := imaptest.ListAttrs(t, c)["INBOX.a/b"]; !ok {
		t.Errorf("INBOX.a/b created but not listed")
	}
}

func TestKick(t *testing.T) {
	srv := dc.Get(t)
	ctx := context.Background()
	u, c := newUserClient(t, srv, "kick", dovecot.LayoutSlash)
	if err := srv.Kick(ctx, u.Name); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Closed():
	case <-time.After(time.Minute): // generous: a loaded machine
		t.Fatal("connection not closed after kick")
	}
}

// TestIMAPSessions_CountsLiveSessions checks the count the delta benchmarks
// wait on: once earlier tests' sessions have ended it is 0, an open
// session's imap process counts 1, and after LOGOUT it returns to 0 once the
// process has exited.
func TestIMAPSessions_CountsLiveSessions(t *testing.T) {
	srv := dc.Get(t)
	waitSessions(t, srv, 0) // earlier tests' sessions end as their cleanups ran
	_, c := newUserClient(t, srv, "sessions", dovecot.LayoutSlash)
	if err := c.Noop().Wait(); err != nil { // logged in: the imap process runs
		t.Fatal(err)
	}
	if n, err := srv.IMAPSessions(); err != nil || n != 1 {
		t.Fatalf("with one session open: %d imap processes (%v), want 1", n, err)
	}
	if err := c.Logout().Wait(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	waitSessions(t, srv, 0)
}

func waitSessions(t *testing.T, srv *dovecot.Server, want int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute) // generous: a loaded machine
	for {
		n, err := srv.IMAPSessions()
		if err != nil {
			t.Fatal(err)
		}
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a minute: %d imap processes, want %d", n, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
