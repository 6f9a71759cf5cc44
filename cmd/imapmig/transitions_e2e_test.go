package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imapmig/imapmig/testenv/dovecot"
	"github.com/imapmig/imapmig/testenv/graphemu"
	"github.com/imapmig/imapmig/testenv/mailgen"
)

// waitStatus waits until the batch has the status.
func (e *e2e) waitStatus(name, status string, limit time.Duration) {
	e.t.Helper()
	for deadline := time.Now().Add(limit); ; time.Sleep(100 * time.Millisecond) {
		v := e.batch(name)
		if string(v.Status) == status && v.ActiveCount == 0 {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("batch %s is %s (%d active), want %s", name, v.Status, v.ActiveCount, status)
		}
	}
}

// TestE2E_StopResumeAddRemove walks a batch through stop (mid-copy),
// resume, adding users, removing a user and removing the batch, checking
// that the target never gets a duplicate and that removals keep the mail.
func TestE2E_StopResumeAddRemove(t *testing.T) {
	e := newE2E(t, "trans", 3, mailgen.Options{Messages: 200}, graphemu.Options{DisableThrottling: true, Latency: 20 * time.Millisecond})
	e.start()
	csv := filepath.Join(e.dir, "users.csv")
	e.cli("batch", "new", "tr", "--endpoint", "dovecot", "--tenant", "contoso", "--csv", csv, "--autostart")

	// Stop while copying: running passes stop at a message boundary.
	for deadline := time.Now().Add(time.Minute); e.batch("tr").SyncedItemCount == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("nothing copied within a minute")
		}
	}
	e.cli("batch", "stop", "tr")
	e.waitStatus("tr", "Stopped", time.Minute)
	stopped := e.batch("tr")
	if stopped.StoppedCount != 3 || stopped.SyncedItemCount >= stopped.EstimatedTotalCount {
		t.Fatalf("after stop: %+v", stopped)
	}
	// Stopped users have no pass left (a pass ends, waiting for its creates
	// on the wire, before its user shows Stopped): none can create. The
	// count is compared again just before the resume; the final counts
	// after it show nothing was created twice.
	if stopped.ActiveCount != 0 {
		t.Errorf("stopped batch with %d active users", stopped.ActiveCount)
	}
	stoppedCreates := e.emu.Stats().Creates
	// Invalid transitions say what the batch is and what would work.
	_, errOut, code := runCLI(t, e.env, "batch", "complete", "tr")
	if code == 0 || !strings.Contains(errOut, "it is Stopped") {
		t.Errorf("complete on a stopped batch: exit %d %s", code, errOut)
	}

	if c := e.emu.Stats().Creates; c != stoppedCreates {
		t.Errorf("%d messages created after the batch stopped", c-stoppedCreates)
	}
	// Resume: the copy goes on where it stopped, without duplicates.
	e.cli("batch", "start", "tr")
	v := e.waitSynced("tr", 5*time.Minute)
	if v.Status != "Synced" || v.SyncedCount != 3 {
		t.Fatalf("after resume: %+v", v)
	}
	e.verify()
	if c := e.emu.Stats().Creates; c != v.SyncedItemCount {
		t.Errorf("after resume: %d creates for %d items: something was created while stopped or twice", c, v.SyncedItemCount)
	}

	// Add a user to the running batch.
	u, err := e.dc.NewUser("trans", dovecot.LayoutSlash)
	if err != nil {
		t.Fatal(err)
	}
	mb := mailgen.Generate(mailgen.Options{Seed: 42, Messages: 20})
	if err := e.dc.Seed(u.Name, mb); err != nil {
		t.Fatal(err)
	}
	email := u.Name + "@contoso.example"
	e.emu.AddMailbox(email)
	knownSecrets = append(knownSecrets, u.Password)
	more := writeFile(t, filepath.Join(e.dir, "more.csv"), fmt.Sprintf("EmailAddress,UserName,Password\n%s,%s,%s\n", email, u.Name, u.Password))
	e.cli("batch", "add-users", "tr", "--csv", more)
	e.users = append(e.users, e2eUser{email: email, login: u.Name, mb: mb})
	for deadline := time.Now().Add(2 * time.Minute); e.user(email).Status != "Synced"; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("added user: %+v", e.user(email))
		}
	}
	e.verify()

	// Remove one user, then the batch: state goes, mail stays.
	gone := e.users[0].email
	before, _ := e.emu.Dump(gone)
	e.cli("user", "remove", gone)
	if _, errOut, code := runCLI(t, e.env, "user", "get", gone); code == 0 || !strings.Contains(errOut, "NotFound") {
		t.Errorf("removed user still there: %d %s", code, errOut)
	}
	if after, _ := e.emu.Dump(gone); len(after.Messages) != len(before.Messages) || len(before.Messages) == 0 {
		t.Errorf("removing the user changed its target mailbox: %d → %d items", len(before.Messages), len(after.Messages))
	}
	e.cli("batch", "remove", "tr")
	if out := e.cli("batch", "list", "-o", "json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("batches after remove: %s", out)
	}
	for _, u := range e.users[1:] {
		if d, _ := e.emu.Dump(u.email); len(d.Messages) == 0 {
			t.Errorf("%s: target mail gone after the batch was removed", u.email)
		}
	}
	// The users are free for a new batch, which finds everything in place.
	creates := e.emu.Stats().Creates
	e.cli("batch", "new", "again", "--endpoint", "dovecot", "--tenant", "contoso", "--csv", csv, "--autostart")
	if v := e.waitSynced("again", 5*time.Minute); v.Status != "Synced" {
		t.Fatalf("new batch after remove: %+v", v)
	}
	if c := e.emu.Stats().Creates - creates; c != 0 {
		t.Errorf("a new batch over already-migrated users created %d messages", c)
	}
}
