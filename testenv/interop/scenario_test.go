package interop_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/testenv/imapwire"
	"github.com/imapmig/imapmig/testenv/mailgen"
)

// observed is what the scenario saw of one server, for docs/INTEROP.md.
type observed struct {
	Capability                   string
	Flags, Expunges, FolderState string
	SourceMove                   string
	// SentLandsIn is the Exchange folder the sent folder's mail went to.
	SentLandsIn string
}

var (
	obsMu sync.Mutex
	obs   = map[string]observed{}
)

func message(user, tag string, i int, flags ...string) mailgen.Message {
	date := time.Date(2024, 5, 1+i%27, 9, i, 0, 0, time.UTC)
	raw := fmt.Sprintf("From: Alice <alice@example.org>\r\nTo: %s@example.org\r\nSubject: %s %d\r\nDate: %s\r\nMessage-ID: <%s.%d.%s@example.org>\r\n"+
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbody of %s %d\r\n",
		user, tag, i, date.Format(time.RFC1123Z), tag, i, user, tag, i)
	return mailgen.Message{Raw: []byte(raw), Flags: flags, InternalDate: date}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestMatrix runs the end-to-end scenario on every server of the matrix,
// then checks docs/INTEROP.md against what it saw.
func TestMatrix(t *testing.T) {
	start := time.Now()
	for _, m := range matrix {
		t.Run(m.name, func(t *testing.T) { scenario(t, m.get(t)) })
	}
	t.Logf("matrix wall time: %s", time.Since(start).Round(time.Millisecond))
	t.Run("INTEROP.md", checkInteropDoc)
}

func scenario(t *testing.T, s *server) {
	ctx := context.Background()
	sd, L := s.Seeder, s.Layout
	user, pw := s.NewUser(t)
	p, conn := wired(t, s)
	projekte, kunden, neu := L.Name("Projekte"), L.Name("Kunden"), L.Name("Neu")

	// The mailbox: INBOX with every flag combination, a folder, Sent.
	_, err := sd.Append(ctx, user, "INBOX",
		message(user, "inbox", 0), message(user, "inbox", 1, `\Seen`), message(user, "inbox", 2, `\Seen`),
		message(user, "inbox", 3), message(user, "inbox", 4), message(user, "inbox", 5, `\Seen`),
		message(user, "inbox", 6, `\Seen`, `\Flagged`), message(user, "inbox", 7, `\Flagged`))
	must(t, err)
	_, err = sd.Append(ctx, user, projekte, message(user, "projekt", 0, `\Seen`), message(user, "projekt", 1))
	must(t, err)
	_, err = sd.Append(ctx, user, s.Sent, message(user, "sent", 0, `\Seen`), message(user, "sent", 1, `\Seen`))
	must(t, err)
	_, uids, err := sd.Messages(ctx, user, "INBOX")
	must(t, err)

	// 1. Initial sync.
	w := newWorld(t, conn, user+"@contoso.test")
	w.start()
	w.migrate(user, pw)
	before := verify(t, w, s, user, map[string]string{projekte: "Projekte"})
	if t.Failed() {
		t.FailNow()
	}

	// 2. New mail, a hard delete, a move, \Seen and \Flagged both ways.
	movedKey := keyOf(t, s, user, "INBOX", uids[2])
	moved := before.item[movedKey]
	_, err = sd.Append(ctx, user, "INBOX", message(user, "new", 0))
	must(t, err)
	must(t, sd.Expunge(ctx, user, "INBOX", uids[1]))
	_, err = sd.Move(ctx, user, "INBOX", projekte, uids[2])
	must(t, err)
	must(t, sd.AddFlags(ctx, user, "INBOX", uids[3:4], []string{`\Seen`}))
	must(t, sd.RemoveFlags(ctx, user, "INBOX", uids[5:6], []string{`\Seen`}))
	must(t, sd.AddFlags(ctx, user, "INBOX", uids[4:5], []string{`\Flagged`}))
	must(t, sd.RemoveFlags(ctx, user, "INBOX", uids[6:8], []string{`\Flagged`}))
	peak := p.Peak()
	p.Reset()
	w.syncNow()
	o := observe(s, p)
	sentTo := before.target[before.folder[s.Sent]]
	o.SentLandsIn = fmt.Sprintf("`%s` → %q", s.Sent, sentTo.Path)
	if sentTo.WellKnownName != "" {
		o.SentLandsIn += fmt.Sprintf(" (well-known `%s`)", sentTo.WellKnownName)
	}
	after := verify(t, w, s, user, map[string]string{projekte: "Projekte"})
	if it, ok := after.item[movedKey]; !ok || it.ID != moved.ID || it.FolderID != after.folder[projekte] {
		t.Errorf("the moved message is %+v, want item %s (a Graph move) in Projekte", it, moved.ID)
	}
	if t.Failed() {
		t.FailNow()
	}

	// 3. A new folder with mail, a folder renamed.
	_, err = sd.Append(ctx, user, neu, message(user, "neu", 0), message(user, "neu", 1, `\Flagged`))
	must(t, err)
	must(t, sd.RenameFolder(ctx, user, projekte, kunden))
	w.syncNow()
	renamed := verify(t, w, s, user, map[string]string{kunden: "Kunden", neu: "Neu"})
	if renamed.folder[kunden] != after.folder[projekte] {
		t.Errorf("the renamed folder is a new target folder")
	}

	// 4. A UIDVALIDITY reset: the same messages under new UIDs.
	_, err = sd.RecreateFolder(ctx, user, kunden)
	must(t, err)
	creates := w.emu.Stats().Creates
	w.syncNow()
	verify(t, w, s, user, map[string]string{kunden: "Kunden"})
	if c := w.emu.Stats().Creates; c != creates {
		t.Errorf("the UIDVALIDITY reset created %d items", c-creates)
	}

	// 5. A restart of the daemon, then a pass with nothing to do.
	w.stop()
	dump0, _ := w.emu.Dump(w.addr)
	stats0 := w.emu.Stats()
	w.tgt = w.newTarget()
	w.start()
	w.syncNow()
	peak = max(peak, p.Peak())
	dump1, _ := w.emu.Dump(w.addr)
	if st := w.emu.Stats(); st.Creates != stats0.Creates || !reflect.DeepEqual(dump0, dump1) {
		t.Errorf("the pass after the restart wrote: %d creates, mailbox changed: %v", st.Creates-stats0.Creates, !reflect.DeepEqual(dump0, dump1))
	}
	verify(t, w, s, user, nil)
	if r := p.Refused(); len(r) > 0 {
		t.Errorf("imapsrc used extensions %s does not advertise: %v", s.Name, r)
	}
	t.Logf("%s: at most %d imapsrc connections at once", s.Name, peak)
	if s.MaxConnections > 0 && peak > s.MaxConnections {
		t.Errorf("imapsrc had %d connections open at once, the server allows %d", peak, s.MaxConnections)
	}
	if !t.Failed() {
		obsMu.Lock()
		obs[s.Name] = o
		obsMu.Unlock()
	}
}

// keyOf is the source key of folder's message uid, read from the server.
func keyOf(t *testing.T, s *server, user, folder string, uid uint32) string {
	t.Helper()
	msgs, uids, err := s.Seeder.Messages(context.Background(), user, folder)
	must(t, err)
	ord := map[string]int{}
	for i, m := range msgs {
		h := migrate.HeaderHash(migrate.HeaderBlock(m.Raw))
		ord[h]++
		if uids[i] == uid {
			return migrate.SourceKey(h, ord[h])
		}
	}
	t.Fatalf("no UID %d in %s", uid, folder)
	return ""
}

// observe names what imapsrc used in the incremental pass of step 2.
func observe(s *server, p *imapwire.Proxy) observed {
	c := p.Counts()
	o := observed{Capability: p.Capability()}
	o.Flags = firstUsed(c, "not read",
		way{imapwire.FeatureChangedSince, "CONDSTORE: `UID FETCH … (FLAGS) (CHANGEDSINCE n)`"},
		way{imapwire.FeatureFlagsScan, "full scan: `UID FETCH 1:* (UID FLAGS)`, compared with state"})
	o.Expunges = firstUsed(c, "not read",
		way{imapwire.FeatureESearch, "ESEARCH: `UID SEARCH RETURN (…)`"},
		way{"UID SEARCH", "`UID SEARCH ALL`"},
		way{"UID FETCH", "`UID FETCH`"})
	o.FolderState = firstUsed(c, "`SELECT` per folder",
		way{imapwire.FeatureListStatus, "LIST-STATUS: one `LIST … RETURN (STATUS …)`"},
		way{"STATUS", "`STATUS` per folder, pipelined (INBOX's first)"})
	caps := strings.Fields(strings.ToUpper(o.Capability))
	if slices.Contains(caps, "MOVE") || slices.Contains(caps, "IMAP4REV2") {
		o.SourceMove = "`MOVE`"
	} else {
		o.SourceMove = "`COPY`, `STORE +FLAGS (\\Deleted)`, `EXPUNGE` (no MOVE)"
	}
	return o
}

// way is one way of reading something: the proxy's count that shows it was
// used, and how the table names it.
type way struct{ count, name string }

// firstUsed names the first of ways the proxy counted, or otherwise.
func firstUsed(c map[string]int, otherwise string, ways ...way) string {
	for _, w := range ways {
		if c[w.count] > 0 {
			return w.name
		}
	}
	return otherwise
}

// The comparison of source and target sees a difference: a flag changed
// and a message added on the source but not yet synced.
func TestCompare_SeesDifferences(t *testing.T) {
	s := memOnce(t)
	ctx := context.Background()
	user, pw := s.NewUser(t)
	_, conn := wired(t, s)
	_, err := s.Seeder.Append(ctx, user, "INBOX", message(user, "c", 0), message(user, "c", 1))
	must(t, err)
	w := newWorld(t, conn, user+"@contoso.test")
	w.start()
	w.migrate(user, pw)
	if _, problems := compare(t, w, s, user, nil); len(problems) != 0 {
		t.Fatalf("after the initial sync: %v", problems)
	}
	_, uids, err := s.Seeder.Messages(ctx, user, "INBOX")
	must(t, err)
	must(t, s.Seeder.AddFlags(ctx, user, "INBOX", uids[:1], []string{`\Flagged`}))
	_, err = s.Seeder.Append(ctx, user, "INBOX", message(user, "c", 2))
	must(t, err)
	_, problems := compare(t, w, s, user, nil)
	all := strings.Join(problems, "\n")
	if len(problems) != 3 || !strings.Contains(all, `"c 0": read=false flag=notFlagged`) || !strings.Contains(all, `"c 2" is 0 times`) ||
		!strings.Contains(all, "2 items, the source 3") {
		t.Errorf("unsynced changes: %d differences %v, want the flag, the missing message and the count", len(problems), problems)
	}
	w.syncNow()
	if _, problems := compare(t, w, s, user, nil); len(problems) != 0 {
		t.Errorf("after a pass: %v", problems)
	}
}
