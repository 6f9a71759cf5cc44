package imapsrc_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imapmig/imapmig/imapsrc"
	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/sourcetest"
	"github.com/imapmig/imapmig/testenv/dovecot"
	"github.com/imapmig/imapmig/testenv/mailgen"
)

func TestFolders_INBOXDotNamespace(t *testing.T) {
	srv := dc.Get(t)
	ctx := context.Background()
	u := newUser(t, srv, dovecot.LayoutINBOXDot)
	if err := srv.CreateFolder(ctx, u.Name, "INBOX.Kunden.Müller"); err != nil {
		t.Fatal(err)
	}
	s := connectUser(t, newConnector(t, dovecotConfig(srv, imapsrc.SecuritySSL)), u)
	fs, err := s.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path       []string
		name       string
		specialUse string
	}{
		{[]string{"INBOX"}, "INBOX", ""},
		{[]string{"Sent"}, "INBOX.Sent", `\Sent`},
		{[]string{"Trash"}, "INBOX.Trash", `\Trash`},
		{[]string{"Kunden", "Müller"}, "INBOX.Kunden.Müller", ""},
	} {
		f := findFolder(t, fs, tc.path...)
		if f.Name != tc.name || f.SpecialUse != tc.specialUse || f.Delimiter != '.' {
			t.Errorf("%q: got name %q special-use %q delim %q, want %q %q '.'", tc.path, f.Name, f.SpecialUse, f.Delimiter, tc.name, tc.specialUse)
		}
	}
	// The selectable folder must be usable by its Name.
	if _, err := s.UIDs(ctx, findFolder(t, fs, "Kunden", "Müller")); err != nil {
		t.Errorf("UIDs: %v", err)
	}
}

func TestFolders_UserRoot(t *testing.T) {
	srv, u := dovecotUser(t)
	ctx := context.Background()
	for _, f := range []string{"home/bob", "home/bob/Sent", "home/bob/Sent/2020", "home/carol"} {
		if err := srv.CreateFolder(ctx, u.Name, f); err != nil {
			t.Fatal(err)
		}
	}
	s := connect(t, newConnector(t, dovecotConfig(srv, imapsrc.SecuritySSL)),
		migrate.Login{UserName: u.Name, Password: u.Password, UserRoot: "home/bob"})
	fs, err := s.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fs {
		got = append(got, strings.Join(f.Path, "|")+"="+f.Name)
	}
	slices.Sort(got)
	want := []string{"INBOX=home/bob", "Sent=home/bob/Sent", "Sent|2020=home/bob/Sent/2020"}
	if !slices.Equal(got, want) {
		t.Errorf("folders under UserRoot = %v, want %v", got, want)
	}
}

func TestFetch_SpoolsToFileAboveThreshold(t *testing.T) {
	srv, u := dovecotUser(t)
	ctx := context.Background()
	small, large := bigMessage("big", 10_000), bigMessage("big", 300_000)
	uids, err := srv.Append(ctx, u.Name, "INBOX", mailgen.Message{Raw: small}, mailgen.Message{Raw: large})
	if err != nil {
		t.Fatal(err)
	}
	spoolDir := t.TempDir()
	cfg := dovecotConfig(srv, imapsrc.SecuritySSL)
	cfg.SpoolDir, cfg.SpoolMemLimit = spoolDir, 64<<10
	s := connectUser(t, newConnector(t, cfg), u)
	inbox := folderOf(t, s, "INBOX")
	for _, tc := range []struct {
		name   string
		uid    uint32
		raw    []byte
		toFile bool
	}{
		{"Small_InMemory", uids[0], small, false},
		{"Large_TempFile", uids[1], large, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := s.Fetch(ctx, inbox, tc.uid)
			if err != nil {
				t.Fatal(err)
			}
			path := imapsrc.SpoolPath(b)
			if (path != "") != tc.toFile {
				t.Fatalf("spool path %q, want file=%v", path, tc.toFile)
			}
			if tc.toFile {
				if filepath.Dir(path) != spoolDir {
					t.Errorf("spool file %s not in SpoolDir %s", path, spoolDir)
				}
				if st, err := os.Stat(path); err != nil || st.Size() != int64(len(tc.raw)) {
					t.Errorf("spool file: %v, %v", st, err)
				}
			}
			r, _ := b.Open()
			got, _ := io.ReadAll(r)
			r.Close()
			if string(got) != string(tc.raw) {
				t.Errorf("body differs (%d vs %d bytes)", len(got), len(tc.raw))
			}
			b.Close()
			if tc.toFile {
				if _, err := os.Stat(path); !os.IsNotExist(err) {
					t.Errorf("spool file not removed after Close: %v", err)
				}
			}
		})
	}
	if ents, _ := os.ReadDir(spoolDir); len(ents) != 0 {
		t.Errorf("spool dir not empty: %v", ents)
	}
}

// waitNoSession waits until Dovecot lists no session of user (`doveadm
// who`): the kicked imap processes have exited and closed their connections.
func waitNoSession(t *testing.T, srv *dovecot.Server, user string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		out, err := srv.Doveadm(context.Background(), "who", user)
		if err != nil {
			t.Fatal(err)
		}
		open := false
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) > 0 && f[0] == user {
				open = true
			}
		}
		if !open {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still has sessions after the kick:\n%s", user, out)
		}
	}
}

func TestReconnect_AfterKick(t *testing.T) {
	srv, u := dovecotUser(t)
	ctx := context.Background()
	var msgs []mailgen.Message
	for i := 0; i < 20; i++ {
		msgs = append(msgs, mailgen.Message{Raw: sourcetest.Message("k"+strings.Repeat("x", i), "x")})
	}
	if _, err := srv.Append(ctx, u.Name, "INBOX", msgs...); err != nil {
		t.Fatal(err)
	}
	s := connectUser(t, newConnector(t, dovecotConfig(srv, imapsrc.SecuritySSL)), u)
	inbox := folderOf(t, s, "INBOX")
	var got []uint32
	err := s.Metas(ctx, inbox, 1, 0, func(m migrate.MessageMeta) error {
		got = append(got, m.UID)
		if len(got) == 5 {
			// Server-side disconnect in the middle of a folder.
			if err := srv.Kick(ctx, u.Name); err != nil {
				t.Fatal(err)
			}
			waitNoSession(t, srv, u.Name)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Metas across a kick: %v", err)
	}
	if len(got) != 20 {
		t.Errorf("got %d metas (%v), want 20 without duplicates", len(got), got)
	}
	// The kick lands while no command is running; the next command notices.
	if _, err := s.UIDs(ctx, inbox); err != nil {
		t.Fatalf("UIDs after kick: %v", err)
	}
	if err := srv.Kick(ctx, u.Name); err != nil {
		t.Fatal(err)
	}
	waitNoSession(t, srv, u.Name)
	b, err := s.Fetch(ctx, inbox, got[len(got)-1])
	if err != nil {
		t.Fatalf("Fetch after kick: %v", err)
	}
	b.Close()
	if n := imapsrc.Reconnects(s); n < 1 {
		t.Errorf("Reconnects = %d, want ≥ 1", n)
	}
}

func TestContext_Cancelled(t *testing.T) {
	srv, u := dovecotUser(t)
	s := connectUser(t, newConnector(t, dovecotConfig(srv, imapsrc.SecuritySSL)), u)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Folders(ctx); err != context.Canceled {
		t.Errorf("Folders(cancelled) = %v, want context.Canceled", err)
	}
	if _, err := s.Folders(context.Background()); err != nil {
		t.Errorf("Folders after a cancelled call: %v", err)
	}
}
