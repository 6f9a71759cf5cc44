package main

// The life of a batch after its initial sync, end to end: reports, skipped
// items and approval, every kind of incremental change, SyncNow latency,
// verify, a UIDVALIDITY reset, a restart, and completion.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/testenv/graphemu"
	"github.com/imapmig/imapmig/testenv/mailgen"
)

// syncNow asks for a delta of one user and returns how long the daemon took
// to start it and the user after it.
func (e *e2e) syncNow(email string) (time.Duration, migrate.UserView) {
	e.t.Helper()
	before := e.user(email)
	asked := time.Now()
	e.cli("user", "syncnow", email)
	var started time.Duration
	deadline := time.Now().Add(2 * time.Minute)
	for {
		u := e.user(email)
		if started == 0 && (u.Status == "IncrementalSyncing" || lastSync(u).After(lastSync(before))) {
			started = time.Since(asked)
		}
		if lastSync(u).After(lastSync(before)) && u.Status == "Synced" {
			return started, u
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("sync now of %s did not finish: %+v", email, u)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func lastSync(u migrate.UserView) time.Time {
	if u.LastSuccessfulSyncTime == nil {
		return time.Time{}
	}
	return *u.LastSuccessfulSyncTime
}

// graphDelete deletes an item as a user would in Outlook, through the
// emulator's Graph API with a token of its own.
func (e *e2e) graphDelete(mailbox, id string) {
	e.t.Helper()
	hc := e.emu.Client()
	resp, err := hc.PostForm(e.emu.TokenURL("e2e-tenant"), url.Values{"grant_type": {"client_credentials"},
		"client_id": {"outlook-user"}, "client_secret": {"x"}, "scope": {"https://graph.microsoft.com/.default"}})
	if err != nil {
		e.t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	req, _ := http.NewRequest("DELETE", e.emu.GraphURL()+"/users/"+url.PathEscape(mailbox)+"/messages/"+url.PathEscape(id), nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Prefer", `IdType="ImmutableId"`)
	resp, err = hc.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 {
		e.t.Fatalf("Graph delete: %s", resp.Status)
	}
}

// findKey returns the dumped item with a source key.
func (e *e2e) findKey(mailbox, key string) (graphemu.MessageDump, bool) {
	d, _ := e.emu.Dump(mailbox)
	for _, m := range d.Messages {
		if sourceKeyOf(m) == key {
			return m, true
		}
	}
	return graphemu.MessageDump{}, false
}

// findItem returns the dumped item whose subject contains s.
func (e *e2e) findItem(mailbox, s string) (graphemu.MessageDump, bool) {
	d, _ := e.emu.Dump(mailbox)
	for _, m := range d.Messages {
		if strings.Contains(m.Subject, s) {
			return m, true
		}
	}
	return graphemu.MessageDump{}, false
}

func TestE2E_BatchLifecycleIncrementalAndOperations(t *testing.T) {
	ctx := context.Background()
	e := newE2E(t, "life", 2, mailgen.Options{Messages: 60}, graphemu.Options{TimeScale: 60})
	e.withReportSender()
	e.appendConfig("max_message_bytes: 150000\n")
	u0, u1 := e.users[0], e.users[1]
	// One message over this test's 150 KB limit, to be skipped and approved.
	big := e.appendOversize(ctx, u0.login, "too big for this test", "<big@x>")
	e.users[0].mb.Folders[0].Messages = append(e.users[0].mb.Folders[0].Messages, big)
	e.start()
	e.newBatch("life", reportedDaily...)
	v := e.waitSynced("life", 5*time.Minute)
	if v.Status != "Synced" {
		t.Fatalf("initial sync: %+v", v)
	}
	e.verify()

	// The report mail of the initial sync, with the batch's figures.
	var sent []graphemu.SentMail
	for deadline := time.Now().Add(30 * time.Second); len(sent) == 0 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		sent = e.emu.Sent()
	}
	if len(sent) != 1 || sent[0].From != "migration@contoso.example" {
		t.Fatalf("report mails: %+v", sent)
	}
	report := string(sent[0].Message)
	for _, want := range []string{"admin@contoso.example", "Migration batch life: Synced",
		fmt.Sprintf(`\u003ctd id=\"items\"\u003e%d of %d`, v.SyncedItemCount, v.EstimatedTotalCount),
		`\u003ctd id=\"total\"\u003e2\u003c/td\u003e`} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q", want)
		}
	}

	// Skipped items (the message over the limit) → Investigate; approval → Good.
	if u := e.user(u0.email); u.SkippedItemCount == 0 || u.DataConsistencyScore != "Investigate" {
		t.Errorf("with an unapproved skipped item: %d skipped, score %s", u.SkippedItemCount, u.DataConsistencyScore)
	}
	var skipped []map[string]any
	json.Unmarshal([]byte(e.cli("user", "skipped", u0.email, "-o", "json")), &skipped)
	if len(skipped) != 1 || skipped[0]["Reason"] != "MessageTooLarge" || skipped[0]["Subject"] != "too big for this test" || skipped[0]["Folder"] != "INBOX" {
		t.Errorf("skipped items: %v", skipped)
	}
	if csv := e.cli("user", "skipped", u0.email, "-o", "csv"); !strings.Contains(csv, "INBOX,2024-02-01T00:00:00Z,too big for this test,") {
		t.Errorf("skipped items as CSV:\n%s", csv)
	}
	e.cli("batch", "approve", "life")
	if u := e.user(u0.email); u.DataConsistencyScore != "Good" {
		t.Errorf("score after approval: %s, want Good", u.DataConsistencyScore)
	}

	// Every kind of change at once on u0.
	uids := func(folder string) []uint32 {
		c, err := e.dc.Client(ctx, u0.login)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Select(folder, nil).Wait(); err != nil {
			t.Fatal(err)
		}
		data, err := c.UIDSearch(&imap.SearchCriteria{}, nil).Wait()
		if err != nil {
			t.Fatal(err)
		}
		var out []uint32
		for _, u := range data.AllUIDs() {
			out = append(out, uint32(u))
		}
		return out
	}
	// keyOf is the source key of an INBOX message: its header hash (the
	// roles below use messages whose header is unique in the folder).
	keyOf := func(uid uint32) string {
		c, _ := e.dc.Client(ctx, u0.login)
		defer c.Close()
		c.Select("INBOX", nil).Wait()
		hdr := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}
		msgs, err := c.Fetch(uidSet(uid), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{hdr}}).Collect()
		if err != nil || len(msgs) != 1 {
			t.Fatalf("fetch INBOX/%d: %v", uid, err)
		}
		return migrate.HeaderHash(migrate.HeaderBlock(msgs[0].FindBodySection(hdr)))
	}
	// INBOX messages with their current state in the target, so that each
	// role below gets a message whose flags really change in the wanted
	// direction.
	type cand struct {
		uid  uint32
		key  string
		item graphemu.MessageDump
	}
	var cands []cand
	seenKey := map[string]int{}
	var all []cand
	for _, uid := range uids("INBOX") {
		k := keyOf(uid)
		seenKey[k]++
		all = append(all, cand{uid: uid, key: k})
	}
	for _, c := range all {
		if it, ok := e.findKey(u0.email, c.key); ok && seenKey[c.key] == 1 && !it.IsDraft {
			c.item = it
			cands = append(cands, c)
		}
	}
	roles := map[string]cand{}
	take := func(role string, ok func(graphemu.MessageDump) bool) {
		for i, c := range cands {
			if ok(c.item) {
				roles[role] = c
				cands = append(cands[:i], cands[i+1:]...)
				return
			}
		}
		t.Fatalf("no INBOX message for the role %q", role)
	}
	flagged := func(m graphemu.MessageDump) bool { return m.FlagStatus == "flagged" }
	take("read+flag", func(m graphemu.MessageDump) bool { return !m.IsRead && !flagged(m) })
	take("unread", func(m graphemu.MessageDump) bool { return m.IsRead })
	take("unflag", func(m graphemu.MessageDump) bool { return flagged(m) })
	any := func(graphemu.MessageDump) bool { return true }
	take("expunge", any)
	take("move", any)
	take("outlook", any)
	key := map[string]string{}
	for k, c := range roles {
		key[k] = c.key
	}
	movedBefore := roles["move"].item
	e.graphDelete(u0.email, roles["outlook"].item.ID)
	newMsg := mailgen.Message{Raw: []byte("From: x@example.org\r\nTo: y@example.org\r\nSubject: arrived after the initial sync\r\nMessage-ID: <late@x>\r\n\r\nhello\r\n"),
		InternalDate: time.Date(2025, 7, 1, 9, 0, 0, 0, time.UTC), Flags: []string{`\Seen`}}
	if _, err := e.dc.Append(ctx, u0.login, "INBOX", newMsg); err != nil {
		t.Fatal(err)
	}
	must(t, e.dc.Expunge(ctx, u0.login, "INBOX", roles["expunge"].uid))
	if _, err := e.dc.Move(ctx, u0.login, "INBOX", "Projekte", roles["move"].uid); err != nil {
		t.Fatal(err)
	}
	must(t, e.dc.AddFlags(ctx, u0.login, "INBOX", []uint32{roles["read+flag"].uid}, []string{`\Seen`, `\Flagged`}))
	unreadFlags, unflagFlags := []string{}, []string{}
	if flagged(roles["unread"].item) {
		unreadFlags = append(unreadFlags, `\Flagged`)
	}
	if roles["unflag"].item.IsRead {
		unflagFlags = append(unflagFlags, `\Seen`)
	}
	must(t, e.dc.SetFlags(ctx, u0.login, "INBOX", []uint32{roles["unread"].uid}, unreadFlags))
	must(t, e.dc.SetFlags(ctx, u0.login, "INBOX", []uint32{roles["unflag"].uid}, unflagFlags))
	creates := e.emu.Stats().Creates

	took, _ := e.syncNow(u0.email)
	if took > 2*time.Second {
		t.Errorf("SyncNow started after %s, want within 2 s", took)
	}
	t.Logf("SyncNow picked up after %s", took)
	if it, ok := e.findItem(u0.email, "arrived after the initial sync"); !ok || it.FolderWellKnown != "inbox" || !it.IsRead || it.IsDraft {
		t.Errorf("new mail: %+v %v", it, ok)
	}
	if _, ok := e.findKey(u0.email, key["expunge"]); ok {
		t.Error("expunged message still in the target")
	}
	if it, ok := e.findKey(u0.email, key["move"]); !ok || it.ID != movedBefore.ID || !strings.Contains(it.FolderPath, "Projekte") {
		t.Errorf("moved message: id %s→%s in %s", movedBefore.ID, it.ID, it.FolderPath)
	}
	if it, _ := e.findKey(u0.email, key["read+flag"]); !it.IsRead || !flagged(it) {
		t.Errorf("unread unflagged → read flagged: read=%v flag=%s", it.IsRead, it.FlagStatus)
	}
	if it, _ := e.findKey(u0.email, key["unread"]); it.IsRead || flagged(it) != flagged(roles["unread"].item) {
		t.Errorf("read → unread: read=%v flag=%s", it.IsRead, it.FlagStatus)
	}
	if it, _ := e.findKey(u0.email, key["unflag"]); flagged(it) || it.IsRead != roles["unflag"].item.IsRead {
		t.Errorf("flagged → unflagged: read=%v flag=%s", it.IsRead, it.FlagStatus)
	}
	// Deleted in Outlook, it is in Deleted Items (Exchange's soft delete):
	// anywhere else it would have been copied again.
	d, _ := e.emu.Dump(u0.email)
	for _, m := range d.Messages {
		if sourceKeyOf(m) == key["outlook"] && m.FolderWellKnown != "deleteditems" {
			t.Errorf("a message deleted in Outlook was copied again (into %s)", m.FolderPath)
		}
	}
	if c := e.emu.Stats().Creates - creates; c != 1 {
		t.Errorf("the delta created %d messages, want 1 (no re-upload for the move)", c)
	}

	// verify finds the message deleted behind the engine's back.
	out, _, code := runCLI(t, e.env, "user", "verify", u0.email)
	if code != 1 || !strings.Contains(out, "MissingInTarget") || !strings.Contains(out, "Poor") {
		t.Errorf("verify after an Outlook delete: exit %d\n%s", code, out)
	}
	if u := e.user(u0.email); u.DataConsistencyScore != "Poor" {
		t.Errorf("score after verify: %s, want Poor", u.DataConsistencyScore)
	}
	if out, _, code := runCLI(t, e.env, "user", "verify", u1.email); code != 0 {
		t.Errorf("verify of an untouched user: exit %d\n%s", code, out)
	}

	// A UIDVALIDITY reset on u1 copies nothing twice.
	if _, err := e.dc.RecreateFolder(ctx, u1.login, "Projekte"); err != nil {
		t.Fatal(err)
	}
	creates = e.emu.Stats().Creates
	e.syncNow(u1.email)
	if c := e.emu.Stats().Creates - creates; c != 0 {
		t.Errorf("UIDVALIDITY reset created %d messages", c)
	}

	// A restart between passes changes nothing.
	stopServe(t, e.daemon)
	e.start()
	creates = e.emu.Stats().Creates
	before, _ := e.emu.Dump(u1.email)
	e.syncNow(u1.email)
	after, _ := e.emu.Dump(u1.email)
	if c := e.emu.Stats().Creates - creates; c != 0 || len(after.Messages) != len(before.Messages) {
		t.Errorf("after a restart: %d creates, %d → %d items", c, len(before.Messages), len(after.Messages))
	}
	e.verifyUser(u1) // u0's source was changed above; u1's still matches its generated mailbox

	// Complete: a last pass, then Completed and no more syncs.
	late := mailgen.Message{Raw: []byte("From: x@example.org\r\nSubject: just before cutover\r\nMessage-ID: <cut@x>\r\n\r\nbye\r\n"), InternalDate: time.Now()}
	if _, err := e.dc.Append(ctx, u1.login, "INBOX", late); err != nil {
		t.Fatal(err)
	}
	e.cli("batch", "complete", "life")
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		v = e.batch("life")
		if strings.HasPrefix(string(v.Status), "Completed") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("batch not completed: %+v", v)
		}
	}
	if _, ok := e.findItem(u1.email, "just before cutover"); !ok {
		t.Error("the final pass did not copy mail that arrived before completion")
	}
	if v.CompletedCount+v.CompletedWithWarningCount != 2 {
		t.Errorf("completed users: %+v", v)
	}
	if _, errOut, code := runCLI(t, e.env, "user", "syncnow", u1.email); code == 0 || !strings.Contains(errOut, "InvalidStatusForAction") {
		t.Errorf("syncnow after completion: exit %d %s", code, errOut)
	}
	for deadline := time.Now().Add(30 * time.Second); len(e.emu.Sent()) < 2 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
	}
	if s := e.emu.Sent(); len(s) != 2 || !strings.Contains(string(s[1].Message), "Completed") {
		t.Errorf("completion report: %d mails", len(s))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func uidSet(uid uint32) imap.UIDSet { return imap.UIDSetNum(imap.UID(uid)) }
