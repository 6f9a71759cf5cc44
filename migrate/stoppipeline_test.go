package migrate_test

import (
	"fmt"
	"testing"

	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/memtarget"
)

// TestEngine_StopAtEveryFetchAcrossFoldersLosesAndDuplicatesNothing
// sweeps the stop over every body fetch of a mailbox of several small
// folders. Folders are prepared ahead and completed behind the folder
// whose bodies are fetched (pipeline.go), so a stop lands while earlier
// folders' creates are still running and later folders are already
// prepared: after a start, every message is in the target exactly once and
// verify finds no difference.
func TestEngine_StopAtEveryFetchAcrossFoldersLosesAndDuplicatesNothing(t *testing.T) {
	stopAcrossFolders(t, []string{"A", "A/B", "C", "D", "E"}, 3, func(t *testing.T, k, total int32, box *memtarget.Mailbox) {
		seen := map[string]int{}
		for _, it := range box.Items() {
			seen[it.Key]++
		}
		if len(seen) != int(total) {
			t.Errorf("stopped at fetch %d: %d distinct messages in the target, want %d", k, len(seen), total)
		}
		for key, c := range seen {
			if c != 1 {
				t.Errorf("stopped at fetch %d: source key %s is in the target %d times", k, key, c)
			}
		}
	})
}

// stopAcrossFolders sweeps the stop over every body fetch of per messages
// in each of folders: a subtest per fetch k stops the first copy there and
// starts it again (stopAtFetchThenResume with tweak), then check looks at
// ann's mailbox, which should hold the total messages.
func stopAcrossFolders(t *testing.T, folders []string, per int, check func(t *testing.T, k, total int32, box *memtarget.Mailbox), tweak ...func(*migrate.Options)) {
	total := int32(len(folders) * per)
	for k := int32(1); k <= total; k++ {
		t.Run(fmt.Sprintf("fetch%d", k), func(t *testing.T) {
			src, tgt := newFakeServer(), memtarget.New("ann@contoso.com")
			seedFolders(src, folders, per)
			stopAtFetchThenResume(t, src, tgt, "", k, tweak...)
			check(t, k, total, tgt.Box("ann@contoso.com"))
		})
	}
}

// seedFolders adds the folders to src with per small messages each, a
// folder's a month after the previous one's.
func seedFolders(src *fakeServer, folders []string, per int) {
	for fi, f := range folders {
		src.addFolder(f, "")
		for i := 0; i < per; i++ {
			src.append(f, rawMsg(fmt.Sprintf("%s %d", f, i), 300), day0.AddDate(0, fi, i))
		}
	}
}
