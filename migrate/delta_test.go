package migrate_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/memtarget"
	"github.com/imapmig/imapmig/migrate/model"
	"github.com/imapmig/imapmig/state/statetest"
)

// TestEngine_DeltaOfDuplicatesAndCounts: exact duplicates of a header
// arriving and vanishing over several deltas get the same source keys
// whether the delta reads the folder's records through the index (a
// CONDSTORE source: only the changed records are read) or all of them (no
// CONDSTORE), and the folder's saved counts match the target after each.
func TestEngine_DeltaOfDuplicatesAndCounts(t *testing.T) {
	keysOf := map[bool][]string{}
	for _, noCond := range []bool{false, true} {
		t.Run(fmt.Sprintf("noCondStore=%v", noCond), func(t *testing.T) {
			src, tgt := newFakeServer(), memtarget.New("ann@contoso.com")
			src.noCond = noCond
			seedBasic(src) // INBOX: 5 messages, then "dup" twice (UIDs 6, 7)
			st := statetest.MustOpen(t)
			h := newHarness(t, st, src, tgt, 5, nil)
			h.batch("b", "ann@contoso.com")
			h.waitUser("ann@contoso.com", model.UserSynced)
			mb := tgt.Box("ann@contoso.com")
			dupHash := migrate.HeaderHash(migrate.HeaderBlock(rawMsg("dup", 200)))
			dupKeys := func() []string {
				var out []string
				for _, it := range mb.Items() {
					if strings.HasPrefix(it.Key, dupHash) {
						out = append(out, strings.TrimPrefix(it.Key, dupHash))
					}
				}
				slices.Sort(out)
				return out
			}
			checkCounts := func(step string) {
				t.Helper()
				fs, err := st.Folders("ann@contoso.com")
				if err != nil {
					t.Fatal(err)
				}
				inbox := 0
				for _, it := range mb.Items() {
					if it.Folder == mb.FolderByName("Inbox") || it.Folder == migrate.WellKnownInbox {
						inbox++
					}
				}
				if got := fs["INBOX"]; got.Items != int64(inbox) || got.InScope != int64(inbox) || got.Dirty {
					t.Errorf("%s: INBOX state says %d items, %d in scope (dirty %v); the target holds %d", step, got.Items, got.InScope, got.Dirty, inbox)
				}
				if mb.Duplicates() != 0 {
					t.Errorf("%s: %d duplicates", step, mb.Duplicates())
				}
			}
			if got := dupKeys(); !slices.Equal(got, []string{"", "#2"}) {
				t.Fatalf("after the initial sync the duplicates are %q", got)
			}
			checkCounts("initial")

			src.append("INBOX", rawMsg("dup", 200), day0) // a third copy
			src.setFlags("INBOX", 2, `\Flagged`)
			h.syncNow("ann@contoso.com")
			if got := dupKeys(); !slices.Equal(got, []string{"", "#2", "#3"}) {
				t.Fatalf("after a third copy the duplicates are %q", got)
			}
			checkCounts("third copy")

			src.expunge("INBOX", 6) // the first copy goes
			h.syncNow("ann@contoso.com")
			if got := dupKeys(); !slices.Equal(got, []string{"#2", "#3"}) {
				t.Fatalf("after the first copy left the duplicates are %q", got)
			}
			checkCounts("first copy gone")

			src.append("INBOX", rawMsg("dup", 200), day0) // a fourth arrives
			src.append("INBOX", rawMsg("other", 200), day0)
			h.syncNow("ann@contoso.com")
			keysOf[noCond] = dupKeys()
			if got := keysOf[noCond]; !slices.Equal(got, []string{"#2", "#3", "#4"}) {
				t.Fatalf("after a fourth copy the duplicates are %q", got)
			}
			checkCounts("fourth copy")
		})
	}
	if !slices.Equal(keysOf[false], keysOf[true]) {
		t.Errorf("the index-read delta keyed the duplicates %q, the full-read delta %q", keysOf[false], keysOf[true])
	}
}
