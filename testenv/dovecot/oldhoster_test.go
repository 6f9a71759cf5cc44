package dovecot_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/imapmig/imapmig/testenv/dovecot"
	"github.com/imapmig/imapmig/testenv/internal/imaptest"
)

var oldHoster = dovecot.Shared{Options: dovecot.Options{Profile: dovecot.ProfileOldHoster}}

func oldHosterClient(t *testing.T) (*dovecot.Server, *dovecot.User, *imapclient.Client) {
	t.Helper()
	srv := oldHoster.Get(t)
	u := srv.MustNewUser(t, "old", dovecot.LayoutSlash)
	c, err := imapclient.DialTLS(srv.TLSAddr(), &imapclient.Options{TLSConfig: srv.TLSConfig()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(u.Name, u.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	return srv, u, c
}

func TestOldHoster_CapabilityLine(t *testing.T) {
	_, _, c := oldHosterClient(t)
	caps, err := c.Capability().Wait()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for cp := range caps {
		got = append(got, string(cp))
	}
	slices.Sort(got)
	want := strings.Fields(dovecot.OldHosterCapability)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("capabilities after login = %v, want %v", got, want)
	}
	for _, absent := range []imap.Cap{imap.CapCondStore, imap.CapQResync, imap.CapESearch, imap.CapMove, imap.CapListStatus, imap.CapSpecialUse} {
		if caps.Has(absent) {
			t.Errorf("capability %s advertised", absent)
		}
	}
}

// A client that asks for CONDSTORE although it is not advertised gets it:
// Dovecot implements CONDSTORE whatever imap_capability says. So the
// old-hoster profile imitates an old hoster only for a client that uses
// what is advertised (RFC 3501 §6.1.1); a client that does not would pass
// here and fail on a real old hoster. This test fails when Dovecot's behaviour changes, so that note stays true.
// Raw protocol, because go-imap's client refuses to send what the server
// does not advertise.
func TestOldHoster_CondStoreNotEnabled(t *testing.T) {
	srv := oldHoster.Get(t)
	u := srv.MustNewUser(t, "raw", dovecot.LayoutSlash)
	conn, err := tls.Dial("tcp", srv.TLSAddr(), srv.TLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	if _, err := r.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	cmd := func(tag, line string) string {
		t.Helper()
		if _, err := fmt.Fprintf(conn, "%s %s\r\n", tag, line); err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("%s: %v (read %q)", line, err, out.String())
			}
			out.WriteString(l)
			if strings.HasPrefix(l, tag+" ") {
				return out.String()
			}
		}
	}
	if out := cmd("a1", fmt.Sprintf("LOGIN %q %q", u.Name, u.Password)); !strings.Contains(out, "a1 OK") {
		t.Fatalf("LOGIN: %s", out)
	}
	if out := cmd("a2", "SELECT INBOX"); strings.Contains(out, "HIGHESTMODSEQ") {
		t.Errorf("a plain SELECT reports a mod-sequence: %q", out)
	}
	enable := cmd("a3", "ENABLE CONDSTORE")
	sel := cmd("a4", "SELECT INBOX (CONDSTORE)")
	if !strings.Contains(enable, "ENABLED CONDSTORE") || !strings.Contains(sel, "HIGHESTMODSEQ") {
		t.Errorf("Dovecot no longer grants unadvertised CONDSTORE (update the notes): ENABLE → %q, SELECT (CONDSTORE) → %q", enable, sel)
	}
}

func TestOldHoster_FoldersAndNamespace(t *testing.T) {
	_, _, c := oldHosterClient(t)
	ns, err := c.Namespace().Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(ns.Personal) == 0 || ns.Personal[0].Prefix != "INBOX." || ns.Personal[0].Delim != '.' {
		t.Fatalf("namespace = %+v, want INBOX. and '.'", ns.Personal)
	}
	l, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string][]imap.MailboxAttr{}
	for _, d := range l {
		names[d.Mailbox] = d.Attrs
		if d.Delim != '.' {
			t.Errorf("%s: delimiter %q", d.Mailbox, d.Delim)
		}
		for _, a := range d.Attrs {
			switch a {
			case imap.MailboxAttrSent, imap.MailboxAttrDrafts, imap.MailboxAttrTrash, imap.MailboxAttrJunk, imap.MailboxAttrArchive, imap.MailboxAttrAll, imap.MailboxAttrFlagged:
				t.Errorf("%s has the special-use attribute %s", d.Mailbox, a)
			}
		}
	}
	want := []string{"INBOX"}
	for _, f := range dovecot.OldHosterFolders {
		want = append(want, "INBOX."+f)
	}
	var got []string
	for n := range names {
		got = append(got, n)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("folders = %v, want %v", got, want)
	}
}

func TestOldHoster_ConnectionLimit(t *testing.T) {
	srv := oldHoster.Get(t)
	u := srv.MustNewUser(t, "limit", dovecot.LayoutSlash)
	login := func() error {
		c, err := imapclient.DialTLS(srv.TLSAddr(), &imapclient.Options{TLSConfig: srv.TLSConfig()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if err := c.Login(u.Name, u.Password).Wait(); err != nil {
			return err
		}
		// The limit is checked by the mail process: a command after
		// LOGIN shows whether the session is alive.
		_, err = c.Select("INBOX", nil).Wait()
		return err
	}
	for i := 0; i < dovecot.OldHosterMaxConnections; i++ {
		if err := login(); err != nil {
			t.Fatalf("connection %d: %v", i+1, err)
		}
	}
	err := login()
	if err == nil {
		t.Fatalf("connection %d accepted, want the limit of %d", dovecot.OldHosterMaxConnections+1, dovecot.OldHosterMaxConnections)
	}
	t.Logf("connection %d: %v", dovecot.OldHosterMaxConnections+1, err)
}

// The seeding operations work on a server without MOVE (COPY + expunge).
func TestOldHoster_SeedWithoutMove(t *testing.T) {
	srv := oldHoster.Get(t)
	ctx := context.Background()
	u := srv.MustNewUser(t, "seed", dovecot.LayoutSlash)
	uids, err := srv.Append(ctx, u.Name, "INBOX", imaptest.Msg("a"), imaptest.Msg("b"), imaptest.Msg("c"))
	if err != nil || len(uids) != 3 {
		t.Fatalf("Append = %v, %v", uids, err)
	}
	moved, err := srv.Move(ctx, u.Name, "INBOX", "INBOX.Papierkorb", uids[1])
	if err != nil || len(moved) != 1 {
		t.Fatalf("Move = %v, %v", moved, err)
	}
	if err := srv.RemoveFlags(ctx, u.Name, "INBOX", uids[:1], []string{`\Seen`}); err != nil {
		t.Fatal(err)
	}
	if err := srv.RenameFolder(ctx, u.Name, "INBOX.Papierkorb", "INBOX.Alt.Papierkorb"); err != nil {
		t.Fatal(err)
	}
	inbox, inboxUIDs, err := srv.Seeder().Messages(ctx, u.Name, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if len(inbox) != 2 || inboxUIDs[0] != uids[0] || inboxUIDs[1] != uids[2] {
		t.Errorf("INBOX after the move: uids %v, want %v", inboxUIDs, []uint32{uids[0], uids[2]})
	}
	if len(inbox) > 0 && slices.Contains(inbox[0].Flags, `\Seen`) {
		t.Errorf("\\Seen not removed: %v", inbox[0].Flags)
	}
	alt, _, err := srv.Seeder().Messages(ctx, u.Name, "INBOX.Alt.Papierkorb")
	if err != nil || len(alt) != 1 || !strings.Contains(string(alt[0].Raw), "Subject: b") {
		t.Fatalf("renamed folder: %d messages, %v", len(alt), err)
	}
	uv, err := srv.RecreateFolder(ctx, u.Name, "INBOX.Alt.Papierkorb")
	if err != nil {
		t.Fatal(err)
	}
	again, _, err := srv.Seeder().Messages(ctx, u.Name, "INBOX.Alt.Papierkorb")
	if err != nil || len(again) != 1 || uv == 0 {
		t.Errorf("recreated folder: %d messages, uidvalidity %d, %v", len(again), uv, err)
	}
}
