package mailgen_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/imapmig/imapmig/testenv/dovecot"
	"github.com/imapmig/imapmig/testenv/mailgen"
	"github.com/imapmig/imapmig/testenv/testmain"
)

var dc dovecot.Shared

func TestMain(m *testing.M) { testmain.Run(m, &dc) }

func TestGenerate_Deterministic(t *testing.T) {
	a, b := mailgen.Generate(mailgen.Options{Seed: 7}), mailgen.Generate(mailgen.Options{Seed: 7})
	c := mailgen.Generate(mailgen.Options{Seed: 8})
	na, _ := a.Count()
	nb, _ := b.Count()
	if na != nb {
		t.Fatalf("counts differ: %d vs %d", na, nb)
	}
	same, diff := true, false
	for i, f := range a.Folders {
		for j, m := range f.Messages {
			if !bytes.Equal(m.Raw, b.Folders[i].Messages[j].Raw) || !m.InternalDate.Equal(b.Folders[i].Messages[j].InternalDate) {
				same = false
			}
			if j < len(c.Folders[i].Messages) && !bytes.Equal(m.Raw, c.Folders[i].Messages[j].Raw) {
				diff = true
			}
		}
	}
	if !same {
		t.Error("same seed gave different mailboxes")
	}
	if !diff {
		t.Error("different seeds gave the same mailbox")
	}
}

func TestGenerate_Kinds(t *testing.T) {
	mb := mailgen.Generate(mailgen.Options{Seed: 1, Large: 1})
	kinds := map[string]int{}
	for _, f := range mb.Folders {
		for _, m := range f.Messages {
			kinds[m.Kind]++
			if m.InternalDate.IsZero() || len(m.Raw) == 0 {
				t.Errorf("message %q without date or bytes", m.Subject)
			}
		}
	}
	for _, k := range []string{mailgen.KindPlain, mailgen.KindMalformed, mailgen.KindSMIME, mailgen.KindNoMsgID,
		mailgen.Kind8Bit, mailgen.KindLarge} {
		if kinds[k] == 0 {
			t.Errorf("no message of kind %q (%v)", k, kinds)
		}
	}
	if kinds[mailgen.KindDuplicate] != 2 {
		t.Errorf("want exactly 2 duplicates, got %d", kinds[mailgen.KindDuplicate])
	}
	if kinds[mailgen.KindOversize] != 0 {
		t.Error("oversize generated without NearLimit")
	}
}

func TestSeed_MemServer(t *testing.T) {
	mb := mailgen.Generate(mailgen.Options{Seed: 2})
	u := imapmemserver.NewUser("demo", "pw")
	if err := mailgen.SeedMemServer(u, mb); err != nil {
		t.Fatal(err)
	}
	for _, f := range mb.Folders {
		st, err := u.Status(f.Name('/'), &imap.StatusOptions{NumMessages: true})
		if err != nil {
			t.Fatalf("%q: %v", f.Name('/'), err)
		}
		if int(*st.NumMessages) != len(f.Messages) {
			t.Errorf("%q: %d messages, want %d", f.Name('/'), *st.NumMessages, len(f.Messages))
		}
	}
}

func TestSeed_Dovecot(t *testing.T) {
	srv := dc.Get(t)
	mb := mailgen.Generate(mailgen.Options{Seed: 3})
	u := srv.MustNewUser(t, "gen", dovecot.LayoutSlash)
	if err := srv.Seed(u.Name, mb); err != nil {
		t.Fatal(err)
	}
	c, err := srv.Client(context.Background(), u.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, f := range mb.Folders {
		name := dovecot.FolderName(u.Layout, f.Path)
		st, err := c.Status(name, &imap.StatusOptions{NumMessages: true}).Wait()
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		if int(*st.NumMessages) != len(f.Messages) {
			t.Errorf("%q: %d messages, want %d", name, *st.NumMessages, len(f.Messages))
		}
	}
}
