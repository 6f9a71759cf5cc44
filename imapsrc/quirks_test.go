package imapsrc_test

// Old servers (Courier, old Cyrus, hoster builds) differ from Dovecot in
// ways no capability announces. quirkProxy rewrites a real Dovecot's
// answers into them, and the conformance suite must still pass: imapsrc is
// built for the protocol, not for one server.

import (
	"bufio"
	"context"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imapmig/imapmig/imapsrc"
	"github.com/imapmig/imapmig/migrate/sourcetest"
	"github.com/imapmig/imapmig/testenv/dovecot"
)

// quirkProxy forwards IMAP between a client and a server and rewrites the
// server's response lines (never literal bytes) with quirks. It knows which
// tag belongs to which command so it can refuse a command the server
// accepted.
type quirkProxy struct {
	ln     net.Listener
	target string
	quirks quirks

	mu       sync.Mutex
	seen     map[string]int // quirk name → times applied
	commands []string       // the client's command lines, tag left out, in order
}

type quirks struct {
	lowerINBOX      bool   // LIST answers "inbox"
	noWarnings      bool   // "* NO" warning before every tagged OK
	splitFlags      bool   // FLAGS of a FETCH also sent as a separate unsolicited FETCH before it
	statusRefused   string // STATUS of this mailbox is answered NO
	noModSeq        bool   // every mailbox is NOMODSEQ (CONDSTORE server without mod-sequences)
	extraAttributes bool   // \NoInferiors and \Marked on leaf folders
	noID            bool   // the server's ID answer is dropped (it is not known by name)
	// afterList runs when a LIST command's tagged OK arrives, before it is
	// passed on: whatever it changes happens between the LIST and the
	// commands the client sends after reading it.
	afterList func()
}

func startQuirkProxy(t testing.TB, target string, q quirks) *quirkProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &quirkProxy{ln: ln, target: target, quirks: q, seen: map[string]int{}}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			go p.session(c, s)
		}
	}()
	return p
}

func (p *quirkProxy) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

func (p *quirkProxy) applied(name string) {
	p.mu.Lock()
	p.seen[name]++
	p.mu.Unlock()
}

// sent is the client's commands so far (each line without its tag).
func (p *quirkProxy) sent() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.commands...)
}

func (p *quirkProxy) count(name string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seen[name]
}

var literalAtEnd = regexp.MustCompile(`\{(\d+)\+?\}\r\n$`)

// readLine reads one line and the literal it announces, if any.
func readLine(r *bufio.Reader) (line string, literal []byte, err error) {
	line, err = r.ReadString('\n')
	if err != nil {
		return line, nil, err
	}
	if m := literalAtEnd.FindStringSubmatch(line); m != nil {
		n, _ := strconv.Atoi(m[1])
		literal = make([]byte, n)
		_, err = io.ReadFull(r, literal)
	}
	return line, literal, err
}

func (p *quirkProxy) session(c, s net.Conn) {
	defer c.Close()
	defer s.Close()
	var mu sync.Mutex
	refuse := map[string]bool{} // tags whose OK becomes NO
	lists := map[string]bool{}  // tags of LIST commands
	go func() {
		defer s.Close()
		r := bufio.NewReader(c)
		for {
			line, lit, err := readLine(r)
			f := strings.Fields(line)
			if len(f) >= 2 {
				p.mu.Lock()
				p.commands = append(p.commands, strings.TrimSpace(strings.TrimPrefix(line, f[0])))
				p.mu.Unlock()
				mu.Lock()
				lists[f[0]] = strings.EqualFold(f[1], "LIST")
				mu.Unlock()
			}
			if q := p.quirks.statusRefused; q != "" {
				if len(f) >= 3 && strings.EqualFold(f[1], "STATUS") && strings.Trim(f[2], `"`) == q {
					mu.Lock()
					refuse[f[0]] = true
					mu.Unlock()
				}
			}
			if _, werr := io.WriteString(s, line); werr != nil {
				return
			}
			if lit != nil {
				if _, werr := s.Write(lit); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	r := bufio.NewReader(s)
	w := bufio.NewWriter(c)
	for {
		line, lit, err := readLine(r)
		if m := taggedOK.FindStringSubmatch(line); m != nil && p.quirks.afterList != nil {
			mu.Lock()
			list := lists[m[1]]
			mu.Unlock()
			if list {
				p.applied("afterList")
				p.quirks.afterList()
			}
		}
		out := p.rewrite(line, func(tag string) bool {
			mu.Lock()
			defer mu.Unlock()
			return refuse[tag]
		})
		for _, l := range out {
			w.WriteString(l)
		}
		if lit != nil {
			w.Write(lit)
		}
		if r.Buffered() == 0 || err != nil {
			if w.Flush() != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

var (
	fetchLine    = regexp.MustCompile(`^\* (\d+) FETCH \(`)
	flagsInFetch = regexp.MustCompile(`FLAGS \(([^)]*)\)`)
	taggedOK     = regexp.MustCompile(`^([A-Za-z0-9.]+) OK`)
	listLine     = regexp.MustCompile(`^\* LIST \(([^)]*)\) `)
	modseqCode   = regexp.MustCompile(`\[HIGHESTMODSEQ \d+\]`)
	modseqStatus = regexp.MustCompile(`HIGHESTMODSEQ \d+`)
)

func (p *quirkProxy) rewrite(line string, refused func(tag string) bool) []string {
	q := p.quirks
	var out []string
	if q.noID && strings.HasPrefix(line, "* ID ") {
		p.applied("noID")
		return nil
	}
	if q.statusRefused != "" && strings.HasPrefix(line, "* STATUS ") && strings.Contains(line, q.statusRefused) {
		p.applied("statusRefused")
		return nil
	}
	if m := taggedOK.FindStringSubmatch(line); m != nil {
		if refused(m[1]) {
			return []string{m[1] + " NO Mailbox does not exist\r\n"}
		}
		if q.noWarnings {
			p.applied("noWarnings")
			out = append(out, "* NO [ALERT] Your mailbox is at 95% of its quota\r\n")
		}
	}
	if q.lowerINBOX && listLine.MatchString(line) && strings.HasSuffix(line, " INBOX\r\n") {
		p.applied("lowerINBOX")
		line = strings.TrimSuffix(line, "INBOX\r\n") + "inbox\r\n"
	}
	if q.extraAttributes && listLine.MatchString(line) && strings.Contains(line, `\HasNoChildren`) {
		p.applied("extraAttributes")
		line = strings.Replace(line, `\HasNoChildren`, `\HasNoChildren \NoInferiors \Marked`, 1)
	}
	if q.splitFlags {
		if m := fetchLine.FindStringSubmatch(line); m != nil && strings.Contains(line, "UID ") {
			if f := flagsInFetch.FindStringSubmatch(line); f != nil {
				p.applied("splitFlags")
				out = append(out, "* "+m[1]+" FETCH (FLAGS ("+f[1]+"))\r\n")
			}
		}
	}
	if q.noModSeq {
		if modseqCode.MatchString(line) {
			p.applied("noModSeq")
			line = modseqCode.ReplaceAllString(line, "[NOMODSEQ]")
		} else if strings.HasPrefix(line, "* STATUS ") || strings.HasPrefix(line, "* LIST ") {
			line = modseqStatus.ReplaceAllString(line, "HIGHESTMODSEQ 0")
		}
	}
	return append(out, line)
}

func quirkConfig(p *quirkProxy) imapsrc.Config {
	return imapsrc.Config{Host: "127.0.0.1", Port: p.port(), Security: imapsrc.SecurityNone,
		CommandTimeout: 30 * time.Second, DialTimeout: 10 * time.Second}
}

// TestConformance_QuirkyOldServer: the old hoster's Dovecot behind quirks
// of Courier and old Cyrus: "inbox" in lower case, \NoInferiors and
// \Marked, a "* NO" warning before every OK, and the FLAGS of every FETCH
// sent again as an unsolicited FETCH without UID. The contract holds.
func TestConformance_QuirkyOldServer(t *testing.T) {
	srv := dcOld.Get(t)
	p := startQuirkProxy(t, srv.Addr(), quirks{lowerINBOX: true, noWarnings: true, splitFlags: true, extraAttributes: true})
	sourcetest.Run(t, sourcetest.Options{Connector: newConnector(t, quirkConfig(p)), Server: dovecot.SuiteServer{Srv: srv, Layout: dovecot.LayoutINBOXDot}})
	for _, q := range []string{"lowerINBOX", "noWarnings", "splitFlags", "extraAttributes"} {
		if p.count(q) == 0 {
			t.Errorf("quirk %s never applied: the test did not test it", q)
		}
	}
}

// TestConformance_NoModSeqFolders: a CONDSTORE server whose mailboxes have
// no mod-sequences (SELECT answers [NOMODSEQ], STATUS HIGHESTMODSEQ 0).
// imapsrc must not ask for MODSEQ there and must report every message's
// flags from ChangedSince: the contract of a server without CONDSTORE.
func TestConformance_NoModSeqFolders(t *testing.T) {
	srv := dc.Get(t)
	p := startQuirkProxy(t, srv.Addr(), quirks{noModSeq: true})
	sourcetest.Run(t, sourcetest.Options{Connector: newConnector(t, quirkConfig(p)), Server: dovecot.SuiteServer{Srv: srv, Layout: dovecot.LayoutSlash}, CondStore: false, SpecialUse: true})
	if p.count("noModSeq") == 0 {
		t.Error("no SELECT was answered NOMODSEQ: the test did not test it")
	}
}

// TestFolders_StatusRefusedIsNotSelectable: a server that refuses STATUS
// for one folder (Courier does for a \Noselect it does not mark) does not
// fail the listing: that folder is reported NoSelect, the others as usual.
func TestFolders_StatusRefusedIsNotSelectable(t *testing.T) {
	srv := dcOld.Get(t)
	u := newUser(t, srv, dovecot.LayoutINBOXDot)
	if err := srv.CreateFolder(context.Background(), u.Name, "INBOX.Kaputt"); err != nil {
		t.Fatal(err)
	}
	p := startQuirkProxy(t, srv.Addr(), quirks{statusRefused: "INBOX.Kaputt"})
	src := connectUser(t, newConnector(t, quirkConfig(p)), u)
	fs, err := src.Folders(context.Background())
	if err != nil {
		t.Fatalf("Folders: %v", err)
	}
	if p.count("statusRefused") == 0 {
		t.Fatal("STATUS was never refused: the test did not test it")
	}
	kaputt, listed := lookupFolder(fs, "Kaputt")
	gesendet, gesendetListed := lookupFolder(fs, "Gesendet")
	if !listed || !kaputt.NoSelect {
		t.Errorf("the folder refused STATUS: %+v, want listed NoSelect", kaputt)
	}
	if !gesendetListed || gesendet.NoSelect || gesendet.UIDValidity == 0 {
		t.Errorf("Gesendet: %+v, want selectable with status", gesendet)
	}
}
