package cyrus_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/imapmig/imapmig/testenv/cyrus"
	"github.com/imapmig/imapmig/testenv/mailgen"
)

func TestAppendMany_FlagsDatesAndSessions(t *testing.T) {
	srv := servers[cyrus.NamespaceAlt].Get(t)
	u, err := srv.NewUser("bulk")
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2019, 3, 4, 5, 6, 7, 0, time.UTC)
	var msgs []mailgen.Message
	for i := 0; i < 300; i++ {
		m := mailgen.Message{Raw: []byte(fmt.Sprintf("From: a@b.c\r\nSubject: bulk %d\r\n\r\nbody %d\r\n", i, i)),
			InternalDate: base.Add(time.Duration(i) * time.Hour)}
		if i%2 == 0 {
			m.Flags = []string{`\Seen`, `\Flagged`}
		}
		msgs = append(msgs, m)
	}
	ctx := context.Background()
	if err := srv.AppendMany(ctx, u.Name, "INBOX", msgs); err != nil {
		t.Fatal(err)
	}
	c, err := srv.Client(ctx, u.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if n, err := srv.IMAPSessions(); err != nil || n < 1 {
		t.Errorf("IMAPSessions with a client logged in: %d, %v", n, err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	got, err := c.Fetch(imap.SeqSetNum(1, 2, 300), &imap.FetchOptions{Flags: true, InternalDate: true, RFC822Size: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("fetched %d messages, want 3", len(got))
	}
	for i, want := range []int{0, 1, 299} {
		m := got[i]
		if !m.InternalDate.Equal(msgs[want].InternalDate) || m.RFC822Size != int64(len(msgs[want].Raw)) {
			t.Errorf("message %d: date %s size %d, want %s %d", want, m.InternalDate, m.RFC822Size, msgs[want].InternalDate, len(msgs[want].Raw))
		}
		if flagged := slices.Contains(m.Flags, imap.FlagFlagged) && slices.Contains(m.Flags, imap.FlagSeen); flagged != (want%2 == 0) {
			t.Errorf("message %d: flags %v", want, m.Flags)
		}
	}
	st, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || st.NumMessages == nil || *st.NumMessages != 300 {
		t.Fatalf("STATUS: %+v %v, want 300 messages", st, err)
	}
	c.Logout().Wait()
	c.Close()
	deadline := time.Now().Add(time.Minute)
	for {
		n, err := srv.IMAPSessions()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions registered a minute after the last logout", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := srv.AppendMany(ctx, u.Name, "NoSuchFolder", msgs[:1]); err == nil {
		t.Error("AppendMany into a missing folder succeeded")
	}
}
