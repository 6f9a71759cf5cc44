package cyrus_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/imapmig/imapmig/testenv/cyrus"
	"github.com/imapmig/imapmig/testenv/internal/imaptest"
	"github.com/imapmig/imapmig/testenv/testmain"
)

var servers = map[cyrus.Namespace]*cyrus.Shared{
	cyrus.NamespaceAlt:     {Options: cyrus.Options{Namespace: cyrus.NamespaceAlt}},
	cyrus.NamespaceClassic: {Options: cyrus.Options{Namespace: cyrus.NamespaceClassic}},
}

func TestMain(m *testing.M) {
	testmain.Run(m, servers[cyrus.NamespaceAlt], servers[cyrus.NamespaceClassic])
}

func eachNamespace(t *testing.T, fn func(t *testing.T, srv *cyrus.Server)) {
	for _, ns := range []cyrus.Namespace{cyrus.NamespaceAlt, cyrus.NamespaceClassic} {
		t.Run(ns.String(), func(t *testing.T) { fn(t, servers[ns].Get(t)) })
	}
}

func TestLogin_UserPasswordAndTLS(t *testing.T) {
	eachNamespace(t, func(t *testing.T, srv *cyrus.Server) {
		u, err := srv.NewUser("login")
		if err != nil {
			t.Fatal(err)
		}
		c, err := imapclient.DialTLS(srv.TLSAddr(), &imapclient.Options{TLSConfig: srv.TLSConfig()})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Login(u.Name, "wrong").Wait(); err == nil {
			t.Fatal("a wrong password was accepted")
		}
		if err := c.Login(u.Name, u.Password).Wait(); err != nil {
			t.Fatal(err)
		}
		ns, err := c.Namespace().Wait()
		if err != nil {
			t.Fatal(err)
		}
		want := srv.Namespace.Layout()
		if len(ns.Personal) == 0 || ns.Personal[0].Prefix != want.Prefix || ns.Personal[0].Delim != want.Delim {
			t.Fatalf("personal namespace = %+v, want %q %q", ns.Personal, want.Prefix, want.Delim)
		}
		attrs := imaptest.ListAttrs(t, c)
		for _, f := range cyrus.Folders {
			name := srv.FolderName(f)
			a, ok := attrs[name]
			if !ok {
				t.Errorf("folder %s missing: %v", name, attrs)
				continue
			}
			if !slices.ContainsFunc(a, func(x imap.MailboxAttr) bool { return strings.EqualFold(string(x), `\`+f) }) {
				t.Errorf("%s attrs = %v, want \\%s", name, a, f)
			}
		}
	})
}

func TestSeed_Operations(t *testing.T) {
	eachNamespace(t, func(t *testing.T, srv *cyrus.Server) {
		ctx := context.Background()
		u, err := srv.NewUser("seed")
		if err != nil {
			t.Fatal(err)
		}
		sd := srv.Seeder()
		uids, err := sd.Append(ctx, u.Name, "INBOX", imaptest.Msg("a"), imaptest.Msg("b"), imaptest.Msg("c"))
		if err != nil || len(uids) != 3 {
			t.Fatalf("Append = %v, %v", uids, err)
		}
		projects := srv.FolderName("Projekte", "2024")
		if moved, err := sd.Move(ctx, u.Name, "INBOX", projects, uids[1]); err != nil || len(moved) != 1 {
			t.Fatalf("Move = %v, %v", moved, err)
		}
		if err := sd.RemoveFlags(ctx, u.Name, "INBOX", uids[:1], []string{`\Seen`}); err != nil {
			t.Fatal(err)
		}
		if err := sd.Expunge(ctx, u.Name, "INBOX", uids[2]); err != nil {
			t.Fatal(err)
		}
		renamed := srv.FolderName("Kunden")
		if err := sd.RenameFolder(ctx, u.Name, srv.FolderName("Projekte"), renamed); err != nil {
			t.Fatal(err)
		}
		inbox, inboxUIDs, err := sd.Messages(ctx, u.Name, "INBOX")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(inboxUIDs, uids[:1]) || slices.Contains(inbox[0].Flags, `\Seen`) || !slices.Contains(inbox[0].Flags, "$Label1") {
			t.Errorf("INBOX: uids %v flags %v; want %v without \\Seen, with $Label1", inboxUIDs, inbox[0].Flags, uids[:1])
		}
		child := srv.FolderName("Kunden", "2024")
		got, _, err := sd.Messages(ctx, u.Name, child)
		if err != nil || len(got) != 1 || !got[0].InternalDate.Equal(imaptest.Msg("b").InternalDate) {
			t.Fatalf("%s after the rename: %d messages, %v", child, len(got), err)
		}
		c, err := srv.Client(ctx, u.Name)
		if err != nil {
			t.Fatal(err)
		}
		before, err := c.Status(child, &imap.StatusOptions{UIDValidity: true}).Wait()
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		uv, err := sd.RecreateFolder(ctx, u.Name, child)
		if err != nil {
			t.Fatal(err)
		}
		again, _, err := sd.Messages(ctx, u.Name, child)
		if err != nil || len(again) != 1 || uv == before.UIDValidity {
			t.Errorf("recreated: %d messages, UIDVALIDITY %d (was %d), %v", len(again), uv, before.UIDValidity, err)
		}
	})
}
