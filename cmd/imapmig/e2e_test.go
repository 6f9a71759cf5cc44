package main

// End-to-end tests: the real binary, a real Dovecot and the Graph emulator
// (in this process, over HTTPS with real azidentity tokens).

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/testenv/dovecot"
	"github.com/imapmig/imapmig/testenv/graphemu"
	"github.com/imapmig/imapmig/testenv/logbuf"
	"github.com/imapmig/imapmig/testenv/mailgen"
)

var dc dovecot.Shared

// e2e is one test's world: Dovecot users with generated mail, the emulator,
// a config file and the daemon.
type e2e struct {
	t       testing.TB
	dir     string
	cfgPath string
	addr    string
	env     []string
	dc      *dovecot.Server
	emu     *graphemu.Server
	users   []e2eUser
	daemon  *exec.Cmd
	// logs is the running daemon's log (stderr).
	logs *logbuf.Buffer
}

type e2eUser struct {
	email, login string
	mb           *mailgen.Mailbox
}

func newE2E(t testing.TB, prefix string, n int, gen mailgen.Options, emuOpts graphemu.Options) *e2e {
	t.Helper()
	e := &e2e{t: t, dir: t.TempDir(), dc: dc.Get(t), addr: freePort(t)}
	var csv strings.Builder
	csv.WriteString("EmailAddress,UserName,Password\n")
	var boxes []string
	for i := 0; i < n; i++ {
		u, err := e.dc.NewUser(prefix, dovecot.LayoutSlash)
		if err != nil {
			t.Fatal(err)
		}
		g := gen
		g.Seed = uint64(i + 1)
		mb := mailgen.Generate(g)
		if err := e.dc.Seed(u.Name, mb); err != nil {
			t.Fatal(err)
		}
		email := u.Name + "@contoso.example"
		e.users = append(e.users, e2eUser{email: email, login: u.Name, mb: mb})
		boxes = append(boxes, email)
		fmt.Fprintf(&csv, "%s,%s,%s\n", email, u.Name, u.Password)
		knownSecrets = append(knownSecrets, u.Password)
	}
	emuOpts.Mailboxes = boxes
	emu := graphemu.StartForTest(t, emuOpts)
	e.emu = emu
	writeFile(t, filepath.Join(e.dir, "dovecot.pem"), string(e.dc.CAPEM))
	writeFile(t, filepath.Join(e.dir, "graph.pem"), string(emu.CertPEM()))
	writeFile(t, filepath.Join(e.dir, "users.csv"), csv.String())
	e.cfgPath = writeFile(t, filepath.Join(e.dir, "imapmig.yaml"), fmt.Sprintf(`
data_dir: data
listen: %s
log_level: info
endpoints:
  - name: dovecot
    host: 127.0.0.1
    port: %d
    security: ssl
    ca_file: dovecot.pem
tenants:
  - name: contoso
    tenant_id: e2e-tenant
    client_id: e2e-client
    client_secret_env: E2E_CLIENT_SECRET
    authority_host: %s
    graph_url: %s
    ca_file: graph.pem
`, e.addr, e.dc.TLSPort, emu.AuthorityHost(), emu.GraphURL()))
	e.env = []string{"IMAPMIG_CONFIG=" + e.cfgPath}
	return e
}

func (e *e2e) start() {
	e.t.Helper()
	e.daemon, e.logs = startServeLogs(e.t, e.cfgPath, e.addr, []string{"E2E_CLIENT_SECRET=e2e-secret-value"})
}

func (e *e2e) cli(args ...string) string {
	e.t.Helper()
	out, errOut, code := runCLI(e.t, e.env, args...)
	if code != 0 {
		e.t.Fatalf("imapmig %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// cliJSON runs the CLI with -o json and decodes what it prints.
func cliJSON[T any](e *e2e, args ...string) T {
	e.t.Helper()
	var v T
	if err := json.Unmarshal([]byte(e.cli(append(args, "-o", "json")...)), &v); err != nil {
		e.t.Fatal(err)
	}
	return v
}

func (e *e2e) batch(name string) migrate.BatchView {
	e.t.Helper()
	return cliJSON[migrate.BatchView](e, "batch", "get", name)
}

func (e *e2e) user(email string) migrate.UserView {
	e.t.Helper()
	return cliJSON[migrate.UserView](e, "user", "get", email)
}

// newBatch creates batch name of every user (users.csv) on the Dovecot
// endpoint and the contoso tenant, with the extra batch new flags.
func (e *e2e) newBatch(name string, flags ...string) {
	e.t.Helper()
	e.cli(append([]string{"batch", "new", name, "--endpoint", "dovecot", "--tenant", "contoso", "--csv", filepath.Join(e.dir, "users.csv")}, flags...)...)
}

// reportedDaily are the batch new flags of the tests that want the
// initial-sync report mail: started at once, reported to an administrator,
// incremental passes far apart.
var reportedDaily = []string{"--autostart", "--notification-emails", "admin@contoso.example", "--sync-interval", "24h"}

// appendConfig adds top-level lines to the daemon's config file.
func (e *e2e) appendConfig(lines string) {
	e.t.Helper()
	f, err := os.OpenFile(e.cfgPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(lines); err != nil {
		e.t.Fatal(err)
	}
}

// withReportSender gives the emulator the report sender's mailbox and
// names it in the config as report_sender.
func (e *e2e) withReportSender() {
	e.t.Helper()
	e.emu.AddMailbox("migration@contoso.example")
	e.appendConfig("report_sender: migration@contoso.example\n")
}

// apiToken is the running daemon's API token (data/api.token); from now
// on the daemon's log must not hold it.
func (e *e2e) apiToken() string {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.dir, "data", "api.token"))
	if err != nil {
		e.t.Fatal(err)
	}
	token := strings.TrimSpace(string(b))
	knownSecrets = append(knownSecrets, token)
	return token
}

// appendOversize appends to login's INBOX on Dovecot one message of about
// 200 KB, over the 150 KB max_message_bytes of the tests that want a
// skipped item.
func (e *e2e) appendOversize(ctx context.Context, login, subject, msgID string) mailgen.Message {
	e.t.Helper()
	big := mailgen.Message{Raw: []byte("From: x@example.org\r\nSubject: " + subject + "\r\nMessage-ID: " + msgID + "\r\n\r\n" + strings.Repeat("0123456789abcdef\r\n", 12000)),
		InternalDate: time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC), Kind: mailgen.KindOversize, Subject: subject}
	if _, err := e.dc.Append(ctx, login, "INBOX", big); err != nil {
		e.t.Fatal(err)
	}
	return big
}

// waitSynced waits until the batch's initial sync is over.
func (e *e2e) waitSynced(name string, limit time.Duration) migrate.BatchView {
	e.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		v := e.batch(name)
		switch v.Status {
		case "Synced", "SyncedWithErrors", "Failed":
			return v
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("batch %s still %s after %s: %+v", name, v.Status, limit, v)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// expected is what the target must hold for one user: every source message
// by source key, and which keys must be skipped.
type expectedMsg struct {
	folder  string
	special string
	msg     mailgen.Message
}

func expectations(mb *mailgen.Mailbox) (want map[string]expectedMsg, skip map[string]string) {
	want, skip = map[string]expectedMsg{}, map[string]string{}
	for _, f := range mb.Folders {
		ord := map[string]int{}
		for _, m := range f.Messages {
			h := migrate.HeaderHash(migrate.HeaderBlock(m.Raw))
			ord[h]++
			key := strings.Join(f.Path, "/") + "|" + migrate.SourceKey(h, ord[h])
			switch m.Kind {
			case mailgen.KindOversize:
				skip[key] = migrate.ReasonMessageTooLarge
			default:
				want[key] = expectedMsg{folder: strings.Join(f.Path, "/"), special: f.SpecialUse, msg: m}
			}
		}
	}
	return want, skip
}

var wellKnownOf = map[string]string{`\Sent`: "sentitems", `\Drafts`: "drafts", `\Trash`: "deleteditems", `\Junk`: "junkemail", `\Archive`: "archive"}

// verify compares the emulator's mailboxes with the source, message by
// message, and returns the number of items checked.
func (e *e2e) verify() int {
	e.t.Helper()
	checked := 0
	for _, u := range e.users {
		checked += e.verifyUser(u)
	}
	return checked
}

// verifyUser is verify for one user.
func (e *e2e) verifyUser(u e2eUser) int {
	e.t.Helper()
	checked := 0
	{
		want, skip := expectations(u.mb)
		dump, ok := e.emu.Dump(u.email)
		if !ok {
			e.t.Fatalf("no mailbox %s", u.email)
		}
		// Target folder of each source folder: learned from the first
		// message, then every other message of that folder must be there.
		folderOf := map[string]string{}
		seen := map[string]bool{}
		byKey := map[string][]graphemu.MessageDump{}
		for _, m := range dump.Messages {
			k := sourceKeyOf(m)
			if k == "" {
				e.t.Errorf("%s: item %q without a source key", u.email, m.Subject)
				continue
			}
			byKey[k] = append(byKey[k], m)
		}
		for key, w := range want {
			folder, sk, _ := strings.Cut(key, "|")
			items := byKey[sk]
			var found []graphemu.MessageDump
			for _, it := range items {
				if tf, ok := folderOf[folder]; !ok || tf == it.FolderID {
					found = append(found, it)
				}
			}
			if len(found) == 0 {
				if w.msg.Kind == mailgen.KindMalformed {
					continue // may be skipped as MalformedMessage: checked below
				}
				e.t.Errorf("%s: %s %q (%s) is missing from the target", u.email, folder, w.msg.Subject, w.msg.Kind)
				continue
			}
			it := found[0]
			if len(found) > 1 && folderOf[folder] != "" {
				e.t.Errorf("%s: %s %q is in the target %d times", u.email, folder, w.msg.Subject, len(found))
			}
			if _, ok := folderOf[folder]; !ok {
				folderOf[folder] = it.FolderID
			}
			seen[sk+"|"+it.FolderID] = true
			checked++
			if wk := wellKnownOf[w.special]; wk != "" && it.FolderWellKnown != wk {
				e.t.Errorf("%s: %s (%s) landed in %s, want %s", u.email, folder, w.special, it.FolderPath, wk)
			}
			if folder == "INBOX" && it.FolderWellKnown != "inbox" {
				e.t.Errorf("%s: INBOX message in %s", u.email, it.FolderPath)
			}
			draftFolder := w.special == `\Drafts`
			if it.IsDraft != draftFolder {
				e.t.Errorf("%s: %s %q isDraft=%v", u.email, folder, w.msg.Subject, it.IsDraft)
			}
			if !it.ReceivedDateTime.Equal(w.msg.InternalDate.UTC().Truncate(time.Second)) && !it.ReceivedDateTime.Equal(w.msg.InternalDate.UTC()) {
				e.t.Errorf("%s: %s %q received %v, want %v", u.email, folder, w.msg.Subject, it.ReceivedDateTime, w.msg.InternalDate.UTC())
			}
			seenFlag, flagged := false, false
			for _, f := range w.msg.Flags {
				seenFlag = seenFlag || f == `\Seen`
				flagged = flagged || f == `\Flagged`
			}
			if it.IsRead != seenFlag || (it.FlagStatus == "flagged") != flagged {
				e.t.Errorf("%s: %s %q read=%v flag=%s, want seen=%v flagged=%v", u.email, folder, w.msg.Subject, it.IsRead, it.FlagStatus, seenFlag, flagged)
			}
		}
		// Nothing else is in the target: no duplicate, nothing unknown.
		perFolder := map[string]int{}
		for _, m := range dump.Messages {
			perFolder[m.FolderID+"|"+sourceKeyOf(m)]++
		}
		for k, n := range perFolder {
			if n > 1 {
				e.t.Errorf("%s: source key %s is %d times in one folder", u.email, k, n)
			}
		}
		if len(dump.Messages) != len(seen) {
			e.t.Errorf("%s: target has %d items, %d expected ones found", u.email, len(dump.Messages), len(seen))
		}
		// Skipped: exactly the oversize ones, plus malformed ones that could
		// not be migrated.
		var items []struct{ Folder, Reason, SourceKey string }
		if err := json.Unmarshal([]byte(e.cli("user", "skipped", u.email, "-o", "json")), &items); err != nil {
			e.t.Fatal(err)
		}
		got := map[string]string{}
		for _, it := range items {
			got[it.Folder+"|"+it.SourceKey] = it.Reason
		}
		for k, r := range skip {
			if got[k] != r {
				e.t.Errorf("%s: %s should be skipped as %s, got %q", u.email, k, r, got[k])
			}
		}
		for k, r := range got {
			if _, ok := skip[k]; ok {
				continue
			}
			if w, ok := want[k]; !ok || w.msg.Kind != mailgen.KindMalformed || r != migrate.ReasonMalformedMessage {
				e.t.Errorf("%s: unexpected skipped item %s (%s)", u.email, k, r)
			}
		}
	}
	return checked
}

func TestE2E_InitialSyncMatchesSourceAndRerunsNeverDuplicate(t *testing.T) {
	e := newE2E(t, "e2e", 20, mailgen.Options{Messages: 30}, graphemu.Options{TimeScale: 60})
	// One user also gets the near-limit and over-limit messages.
	big := mailgen.Generate(mailgen.Options{Seed: 99, Messages: 1, NearLimit: true})
	for _, f := range big.Folders {
		var keep []mailgen.Message
		for _, m := range f.Messages {
			if m.Kind == mailgen.KindNearLimit || m.Kind == mailgen.KindOversize {
				keep = append(keep, m)
			}
		}
		if len(keep) > 0 {
			if _, err := e.dc.Append(context.Background(), e.users[0].login, "INBOX", keep...); err != nil {
				t.Fatal(err)
			}
			e.users[0].mb.Folders[0].Messages = append(e.users[0].mb.Folders[0].Messages, keep...)
		}
	}
	e.start()
	e.newBatch("wave1", "--autostart")
	v := e.waitSynced("wave1", 10*time.Minute)
	if v.Status != "Synced" || v.SyncedCount != 20 {
		t.Fatalf("batch after initial sync: %+v", v)
	}
	n := e.verify()
	t.Logf("initial sync: %d messages checked, %d items, %d skipped, notes %v", n, v.SyncedItemCount, v.SkippedItemCount, v.ItemNotes)
	if got := v.ItemNotes[migrate.NoteSmimeStoredAsAttachment]; got != 20 {
		t.Errorf("S/MIME messages stored as attachment: %d, want one per user (20)", got)
	}

	// Delete the state file and run everything again as a new batch.
	stopServe(t, e.daemon)
	if err := os.Remove(filepath.Join(e.dir, "data", "state.db")); err != nil {
		t.Fatal(err)
	}
	creates := e.emu.Stats().Creates
	e.start()
	e.newBatch("wave1-again", "--autostart")
	v = e.waitSynced("wave1-again", 10*time.Minute)
	if v.Status != "Synced" {
		t.Fatalf("re-run: %+v", v)
	}
	if c := e.emu.Stats().Creates - creates; c != 0 {
		t.Errorf("re-run from an empty state file created %d messages", c)
	}
	e.verify()
}

func TestE2E_SIGKILLDuringRunNeverDuplicates(t *testing.T) {
	// Enough mail, and enough Graph latency, that the batch takes far longer
	// than the five kills: each kill lands in the middle of copying.
	e := newE2E(t, "kill", 4, mailgen.Options{Messages: 250}, graphemu.Options{DisableThrottling: true, Latency: 25 * time.Millisecond})
	e.start()
	e.newBatch("k", "--autostart")
	r := crashSeed(t) // the kill positions, logged and replayable
	midRun := 0
	var copied int64
	for i := 0; i < 5; i++ {
		// Kill once a random number of further messages has been copied
		// (polled, not slept: the machine may be slow).
		target := copied + 1 + int64(r.IntN(40))
		var v migrate.BatchView
		for deadline := time.Now().Add(2 * time.Minute); ; {
			v = e.batch("k")
			if v.SyncedItemCount >= target || v.Status != "Syncing" || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		copied = v.SyncedItemCount
		if v.Status == "Syncing" && v.SyncedItemCount > 0 {
			midRun++
		}
		killServe(e.daemon)
		t.Logf("kill %d at %d of %d items (%s)", i+1, v.SyncedItemCount, v.EstimatedTotalCount, v.Status)
		e.start()
	}
	if midRun < 3 {
		t.Errorf("only %d of 5 kills landed while messages were being copied", midRun)
	}
	v := e.waitSynced("k", 10*time.Minute)
	if v.Status != "Synced" {
		t.Fatalf("after kills: %+v", v)
	}
	n := e.verify()
	t.Logf("after 5 SIGKILLs: %d messages checked, emulator stats %+v", n, e.emu.Stats())
	stopServe(t, e.daemon)
	checkState(t, filepath.Join(e.dir, "data"))
}

// The tenant throttles harder than graphdst's budget expects (as a busy
// Exchange Online can): the daemon waits out every 429 and no user fails.
func TestE2E_ThrottledHarderThanBudgetNoUserFails(t *testing.T) {
	e := newE2E(t, "thr", 4, mailgen.Options{Messages: 40}, graphemu.Options{TimeScale: 60,
		Latency: 20 * time.Millisecond, Limits: graphemu.Limits{Concurrency: 2, Requests: 40, UploadBytes: 1 << 20}})
	e.start()
	e.newBatch("thr", "--autostart")
	v := e.waitSynced("thr", 10*time.Minute)
	st := e.emu.Stats()
	if v.Status != "Synced" || v.FailedCount != 0 {
		t.Fatalf("batch under throttling: %+v", v)
	}
	if st.Throttled == 0 {
		t.Fatalf("the emulator never throttled; the test proves nothing: %+v", st)
	}
	e.verify()
	t.Logf("throttled %d of %d requests (concurrency %d, rate %d, upload %d); every user Synced", st.Throttled, st.Requests,
		st.ThrottledConcurrency, st.ThrottledRate, st.ThrottledUpload)
}

// addNearLimit appends the near-limit message (about 34 MB, uploaded in
// 4 MB chunks) to u's INBOX and to what u's mailbox must hold.
func (e *e2e) addNearLimit(ctx context.Context, u *e2eUser) {
	e.t.Helper()
	big := mailgen.Generate(mailgen.Options{Seed: 99, Messages: 1, NearLimit: true})
	for _, m := range big.Folders[0].Messages {
		if m.Kind == mailgen.KindNearLimit {
			if _, err := e.dc.Append(ctx, u.login, "INBOX", m); err != nil {
				e.t.Fatal(err)
			}
			u.mb.Folders[0].Messages = append(u.mb.Folders[0].Messages, m)
		}
	}
}
