package imapwire_test

import (
	"bufio"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/imapmig/imapmig/testenv/dovecot"
	"github.com/imapmig/imapmig/testenv/imapwire"
	"github.com/imapmig/imapmig/testenv/testmain"
)

var (
	full = dovecot.Shared{}
	old  = dovecot.Shared{Options: dovecot.Options{Profile: dovecot.ProfileOldHoster}}
)

func TestMain(m *testing.M) { testmain.Run(m, &full, &old) }

// raw is a line-level IMAP session through the proxy.
type raw struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
	n    int
}

func dialRaw(t *testing.T, addr string) *raw {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r := &raw{t: t, conn: c, r: bufio.NewReader(c)}
	if _, err := r.r.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	return r
}

// cmd sends line and returns the responses up to and including the tagged
// one.
func (r *raw) cmd(line string) string {
	r.t.Helper()
	r.n++
	tag := fmt.Sprintf("x%d", r.n)
	if _, err := fmt.Fprintf(r.conn, "%s %s\r\n", tag, line); err != nil {
		r.t.Fatal(err)
	}
	var out strings.Builder
	for {
		l, err := r.r.ReadString('\n')
		if err != nil {
			r.t.Fatalf("%s: %v (read %q)", line, err, out.String())
		}
		out.WriteString(l)
		if strings.HasPrefix(l, tag+" ") {
			return out.String()
		}
	}
}

func proxy(t *testing.T, srv *dovecot.Server) *imapwire.Proxy {
	t.Helper()
	p, err := imapwire.Start(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestOldHoster_UnadvertisedRefused(t *testing.T) {
	srv := old.Get(t)
	u := srv.MustNewUser(t, "w", dovecot.LayoutSlash)
	p := proxy(t, srv)
	r := dialRaw(t, p.Addr)
	if out := r.cmd(fmt.Sprintf("LOGIN %s %s", u.Name, u.Password)); !strings.Contains(out, " OK ") {
		t.Fatalf("LOGIN: %s", out)
	}
	for _, tc := range []struct{ line, refused string }{
		{"ENABLE CONDSTORE", "ENABLE is not advertised"}, // nor CONDSTORE
		{"SELECT INBOX (CONDSTORE)", "CONDSTORE is not advertised"},
		{"STATUS INBOX (MESSAGES HIGHESTMODSEQ)", "CONDSTORE is not advertised"},
		{`LIST "" "*" RETURN (STATUS (MESSAGES))`, "LIST-STATUS is not advertised"},
		{`LIST "" "*" RETURN (SPECIAL-USE)`, "SPECIAL-USE is not advertised"},
		{"SELECT INBOX", ""},
		{"UID SEARCH RETURN (ALL) ALL", "ESEARCH is not advertised"},
		{"UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1)", "CONDSTORE is not advertised"},
		{"UID MOVE 1 INBOX.Spam", "MOVE is not advertised"},
		{"UID FETCH 1:* (UID FLAGS)", ""},
		{"UID SEARCH ALL", ""},
		{"UID EXPUNGE 1", ""}, // UIDPLUS is advertised
	} {
		out := r.cmd(tc.line)
		if tc.refused == "" {
			if !strings.Contains(out, " OK ") {
				t.Errorf("%s: %q, want it forwarded and OK", tc.line, out)
			}
			continue
		}
		if !strings.Contains(out, "BAD") || !strings.Contains(out, tc.refused) {
			t.Errorf("%s: %q, want BAD … %s", tc.line, out, tc.refused)
		}
	}
	if got := p.Capability(); got != dovecot.OldHosterCapability {
		t.Errorf("Capability() = %q, want %q", got, dovecot.OldHosterCapability)
	}
	c := p.Counts()
	if c[imapwire.FeatureFlagsScan] != 1 || c["UID SEARCH"] != 2 || c[imapwire.FeatureESearch] != 1 || c["LOGIN"] != 1 {
		t.Errorf("counts = %v", c)
	}
	refused := p.Refused()
	if len(refused) != 8 {
		t.Errorf("refused = %v, want 8", refused)
	}
	for _, x := range append(refused, fmt.Sprint(c)) {
		if strings.Contains(x, u.Password) {
			t.Errorf("the password is recorded: %q", x)
		}
	}
	p.Reset()
	if len(p.Counts()) != 0 || len(p.Refused()) != 0 {
		t.Error("Reset left counts")
	}
}

// Through the proxy a full server answers as without it, literals included.
func TestFull_ForwardsAdvertised(t *testing.T) {
	srv := full.Get(t)
	u := srv.MustNewUser(t, "w", dovecot.LayoutSlash)
	p := proxy(t, srv)
	c, err := imapclient.DialInsecure(p.Addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(u.Name, u.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	body := []byte("Subject: {5}\r\nX: {3+}\r\n\r\nliteral-looking lines\r\n* CAPABILITY IMAP4rev1\r\n")
	a := c.Append("INBOX", int64(len(body)), nil)
	a.Write(body)
	a.Close()
	if _, err := a.Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", &imap.SelectOptions{CondStore: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	sec := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(imap.UIDSetNum(1), &imap.FetchOptions{UID: true, ModSeq: true, BodySection: []*imap.FetchItemBodySection{sec}}).Collect()
	if err != nil || len(msgs) != 1 || string(msgs[0].FindBodySection(sec)) != string(body) || msgs[0].ModSeq == 0 {
		t.Fatalf("fetch through the proxy: %v %+v", err, msgs)
	}
	if _, err := c.Move(imap.UIDSetNum(1), "Archive").Wait(); err != nil {
		t.Fatal(err)
	}
	counts := p.Counts()
	for _, f := range []string{imapwire.FeatureCondStore, imapwire.FeatureMove} {
		if counts[f] == 0 {
			t.Errorf("%s not counted: %v", f, counts)
		}
	}
	if len(p.Refused()) != 0 {
		t.Errorf("refused on a full server: %v", p.Refused())
	}
	c2, err := imapclient.DialInsecure(p.Addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c2.WaitGreeting(); err != nil { // the proxy has the connection
		t.Fatal(err)
	}
	c2.Close()
	if p.Peak() != 2 {
		t.Errorf("Peak() = %d, want 2", p.Peak())
	}
	if !slices.Contains(strings.Fields(p.Capability()), "CONDSTORE") {
		t.Errorf("capability line %q lacks CONDSTORE", p.Capability())
	}
}
