package main

import (
	"context"
	"testing"
	"time"

	"github.com/imapmig/imapmig/testenv/graphemu"
	"github.com/imapmig/imapmig/testenv/mailgen"
)

// A folder tree renamed on the source (IMAP RENAME keeps UIDVALIDITY and
// content) is renamed in the target: same folder ids, same item ids,
// nothing copied or moved message by message.
func TestE2E_FolderRenamedOnSource(t *testing.T) {
	ctx := context.Background()
	e := newE2E(t, "ren", 1, mailgen.Options{Messages: 60}, graphemu.Options{})
	e.start()
	e.newBatch("ren", "--autostart")
	if v := e.waitSynced("ren", 5*time.Minute); v.Status != "Synced" {
		t.Fatalf("initial sync: %+v", v)
	}
	u := e.users[0]
	before, _ := e.emu.Dump(u.email)
	folderOf := map[string]string{} // folder path → id
	for _, f := range before.Folders {
		folderOf[f.Path] = f.ID
	}
	c, err := e.dc.Client(ctx, u.login)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Rename("Projekte", "Projekte-alt", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	c.Logout().Wait()
	c.Close()
	creates := e.emu.Stats().Creates
	e.syncNow(u.email)
	after, _ := e.emu.Dump(u.email)
	if c := e.emu.Stats().Creates - creates; c != 0 {
		t.Errorf("the rename created %d messages", c)
	}
	ids := map[string]string{} // item id → folder path
	for _, m := range before.Messages {
		ids[m.ID] = m.FolderPath
	}
	moved := 0
	for _, m := range after.Messages {
		old, ok := ids[m.ID]
		if !ok {
			t.Errorf("item %s is new after the rename", m.ID)
			continue
		}
		if old != m.FolderPath {
			moved++
		}
	}
	if len(after.Messages) != len(before.Messages) || moved == 0 {
		t.Errorf("items: %d → %d, %d in a renamed folder", len(before.Messages), len(after.Messages), moved)
	}
	renamed := 0
	for _, f := range after.Folders {
		for path, id := range folderOf {
			if id == f.ID && path != f.Path {
				renamed++
				t.Logf("target folder %s → %s (same id)", path, f.Path)
			}
		}
	}
	if renamed == 0 {
		t.Error("no target folder was renamed")
	}
	if out, _, code := runCLI(t, e.env, "user", "verify", u.email); code != 0 {
		t.Errorf("verify after the rename: exit %d\n%s", code, out)
	}
}
