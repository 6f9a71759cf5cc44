package imapsrc_test

// Folders' listing: statuses pipelined (Dovecot, servers without
// LIST-STATUS) or from LIST-STATUS (the others), each attributed to its own
// folder.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/imapmig/imapmig/imapsrc"
	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/testenv/dovecot"
	"github.com/imapmig/imapmig/testenv/mailgen"
)

// oddNames are folder names that need quoting, modified UTF-7 or both.
var oddNames = []string{"Liste 0", "Entwürfe 1", "日本語 2", "R&D 3", "[Klammer] 4", "Komma, Plus+ 5", "Tilde~ 6", "Ärger & Ölfass 7", "Prozent 8", "Punkt·9"}

// seedStatusFolders creates oddNames (below prefix, with delim) in u's
// mailbox with i+1 messages in the i-th, and a parent that exists only as
// the parent of a folder.
func seedStatusFolders(t *testing.T, srv *dovecot.Server, u *dovecot.User, prefix string, delim rune) []string {
	t.Helper()
	ctx := context.Background()
	var names []string
	for i, n := range oddNames {
		name := prefix + n
		if err := srv.CreateFolder(ctx, u.Name, name); err != nil {
			t.Fatal(err)
		}
		var msgs []mailgen.Message
		for j := 0; j <= i; j++ {
			msgs = append(msgs, mailgen.Message{Raw: fmt.Appendf(nil, "Subject: %d in %d\r\nMessage-ID: <%d.%d@status.test>\r\n\r\nx\r\n", j, i, j, i)})
		}
		if _, err := srv.Append(ctx, u.Name, name, msgs...); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	child := prefix + "Nur Eltern" + string(delim) + "Kind"
	if err := srv.CreateFolder(ctx, u.Name, child); err != nil {
		t.Fatal(err)
	}
	return append(names, child)
}

// dovecotProfile is one of the test Dovecots with the folder layout its
// users get and the personal namespace's prefix.
type dovecotProfile struct {
	name   string
	srv    *dovecot.Shared
	layout dovecot.Layout
	prefix string
}

// dovecotProfiles: Dovecot as it comes, and as an old hoster runs it.
func dovecotProfiles() []dovecotProfile {
	return []dovecotProfile{
		{"full", &dc, dovecot.LayoutSlash, ""},
		{"oldhoster", &dcOld, dovecot.LayoutINBOXDot, "INBOX."},
	}
}

// TestFolders_StatusesSameAsPerFolderSTATUS: every selectable folder's
// status from Folders equals what a STATUS of that folder alone answers,
// with more folders than STATUS commands in flight, on Dovecot as it
// comes and as an old hoster runs it (no LIST-STATUS, CONDSTORE).
func TestFolders_StatusesSameAsPerFolderSTATUS(t *testing.T) {
	defer imapsrc.SetStatusWindow(3)()
	for _, tc := range dovecotProfiles() {
		t.Run(tc.name, func(t *testing.T) {
			srv := tc.srv.Get(t)
			u := newUser(t, srv, tc.layout)
			names := seedStatusFolders(t, srv, u, tc.prefix, tc.layout.Delim())
			src := connectUser(t, newConnector(t, dovecotConfig(srv, imapsrc.SecuritySSL)), u)
			fs, err := src.Folders(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			admin, err := srv.Client(context.Background(), u.Name)
			if err != nil {
				t.Fatal(err)
			}
			defer admin.Close()
			condStore := imapsrc.Caps(src).Has(imap.CapCondStore)
			opts := &imap.StatusOptions{NumMessages: true, UIDNext: true, UIDValidity: true, HighestModSeq: condStore}
			selectable := 0
			for _, f := range fs {
				if f.NoSelect {
					continue
				}
				selectable++
				want, err := admin.Status(f.Name, opts).Wait()
				if err != nil {
					t.Fatalf("STATUS %q: %v", f.Name, err)
				}
				if f.UIDValidity != want.UIDValidity || f.UIDNext != uint32(want.UIDNext) || f.Messages != *want.NumMessages || f.HighestModSeq != want.HighestModSeq {
					t.Errorf("%q: Folders says %d messages, UIDNEXT %d, UIDVALIDITY %d, HIGHESTMODSEQ %d; STATUS says %d, %d, %d, %d",
						f.Name, f.Messages, f.UIDNext, f.UIDValidity, f.HighestModSeq, *want.NumMessages, want.UIDNext, want.UIDValidity, want.HighestModSeq)
				}
			}
			for i, name := range names[:len(oddNames)] {
				f, ok := folderNamed(fs, name)
				if !ok || f.NoSelect || f.Messages != uint32(i+1) {
					t.Errorf("%q: %+v (listed %v), want selectable with %d messages", name, f, ok, i+1)
				}
			}
			if _, ok := folderNamed(fs, names[len(names)-1]); !ok {
				t.Errorf("the child folder %q is not listed", names[len(names)-1])
			}
			if f, ok := folderNamed(fs, "INBOX"); !ok || f.NoSelect || f.UIDValidity == 0 {
				t.Errorf("INBOX: %+v (listed %v)", f, ok)
			}
			if selectable <= 3 {
				t.Fatalf("%d selectable folders: the STATUS window of 3 was never full", selectable)
			}
		})
	}
}

func folderNamed(fs []migrate.Folder, name string) (migrate.Folder, bool) {
	for _, f := range fs {
		if f.Name == name {
			return f, true
		}
	}
	return migrate.Folder{}, false
}

// TestFolders_DovecotGetsINBOXStatusFirst: on Dovecot, INBOX's STATUS is
// the first command after NAMESPACE, before the LIST, and no LIST asks for
// statuses; a Dovecot that does not give its name in ID, and so is not
// known, gets LIST-STATUS as any server that has it.
func TestFolders_DovecotGetsINBOXStatusFirst(t *testing.T) {
	srv, u := dovecotUser(t)
	for _, tc := range []struct {
		name       string
		q          quirks
		wantServer string
		listStatus bool
	}{
		{"named", quirks{}, "Dovecot", false},
		{"unnamed", quirks{noID: true}, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startQuirkProxy(t, srv.Addr(), tc.q)
			src := connectUser(t, newConnector(t, quirkConfig(p)), u)
			if got := imapsrc.ServerName(src); got != tc.wantServer {
				t.Fatalf("server name %q, want %q", got, tc.wantServer)
			}
			fs, err := src.Folders(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if f, ok := folderNamed(fs, "INBOX"); !ok || f.UIDValidity == 0 {
				t.Fatalf("INBOX: %+v (listed %v)", f, ok)
			}
			cmds := p.sent()
			i := slices.IndexFunc(cmds, func(c string) bool { return strings.HasPrefix(c, "NAMESPACE") })
			if i < 0 || i+1 >= len(cmds) {
				t.Fatalf("no NAMESPACE, or no command after it (%d commands)", len(cmds))
			}
			after := cmds[i+1:]
			listStatus := slices.ContainsFunc(after, func(c string) bool { return strings.HasPrefix(c, "LIST") && strings.Contains(c, "STATUS") })
			if listStatus != tc.listStatus {
				t.Errorf("LIST-STATUS used: %v, want %v; commands %q", listStatus, tc.listStatus, after)
			}
			if !tc.listStatus && !strings.HasPrefix(after[0], "STATUS INBOX ") {
				t.Errorf("first command after NAMESPACE %q, want STATUS INBOX; commands %q", after[0], after)
			}
		})
	}
}

// TestFolders_DeletedBetweenLISTAndSTATUS: a folder deleted after the LIST
// named it is reported not selectable for this pass (its STATUS is
// refused), and the others keep their statuses.
func TestFolders_DeletedBetweenLISTAndSTATUS(t *testing.T) {
	for _, tc := range dovecotProfiles() {
		t.Run(tc.name, func(t *testing.T) {
			srv := tc.srv.Get(t)
			u := newUser(t, srv, tc.layout)
			ctx := context.Background()
			for _, n := range []string{"Bleibt", "Weg"} {
				if err := srv.CreateFolder(ctx, u.Name, tc.prefix+n); err != nil {
					t.Fatal(err)
				}
			}
			deleted := false
			p := startQuirkProxy(t, srv.Addr(), quirks{afterList: func() {
				if deleted {
					return
				}
				deleted = true
				if err := srv.DeleteFolder(ctx, u.Name, tc.prefix+"Weg"); err != nil {
					t.Error(err)
				}
			}})
			src := connectUser(t, newConnector(t, quirkConfig(p)), u)
			fs, err := src.Folders(ctx)
			if err != nil {
				t.Fatalf("Folders: %v", err)
			}
			if !deleted {
				t.Fatal("no LIST was answered: the test did not test it")
			}
			if weg, ok := lookupFolder(fs, "Weg"); !ok || !weg.NoSelect {
				t.Errorf("the folder deleted after the LIST: %+v (listed %v), want listed not selectable", weg, ok)
			}
			if bleibt, ok := lookupFolder(fs, "Bleibt"); !ok || bleibt.NoSelect || bleibt.UIDValidity == 0 {
				t.Errorf("Bleibt: %+v (listed %v), want selectable with status", bleibt, ok)
			}
			// The next listing no longer has it.
			fs, err = src.Folders(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if weg, ok := lookupFolder(fs, "Weg"); ok {
				t.Errorf("deleted folder listed again: %+v", weg)
			}
		})
	}
}
