package migrate_test

import (
	"fmt"
	"testing"

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
	folders := []string{"A", "A/B", "C", "D", "E"}
	per := 3
	total := int32(len(folders) * per)
	for k := int32(1); k <= total; k++ {
		t.Run(fmt.Sprintf("fetch%d", k), func(t *testing.T) {
			src, tgt := newFakeServer(), memtarget.New("ann@contoso.com")
			for fi, f := range folders {
				src.addFolder(f, "")
				for i := 0; i < per; i++ {
					src.append(f, rawMsg(fmt.Sprintf("%s %d", f, i), 300), day0.AddDate(0, fi, i))
				}
			}
			stopAtFetchThenResume(t, src, tgt, "", k)
			seen := map[string]int{}
			for _, it := range tgt.Box("ann@contoso.com").Items() {
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
}
