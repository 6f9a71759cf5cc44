package state

import (
	"errors"
	"reflect"
	"testing"
)

// FinishFolder saves the folder with its item totals, building the index
// on the way when the folder has none (its first finished pass), in one
// transaction.
func TestFinishFolder_SavesTotalsAndBuildsIndex(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	e := newIndexUser(t, s, "INBOX", "Empty")
	mustDo(t, s.PutMessages(e, "INBOX", []MessageRecord{{UID: 1, SourceKey: "a", ItemID: "I1", Size: 5}, {UID: 2, SourceKey: "b", Size: 7}, {UID: 3, SourceKey: "c", ItemID: "I3", Size: 11}}))
	if _, built, _ := s.FolderTotals(e, "INBOX"); built {
		t.Fatal("an index before the folder was finished")
	}
	saved, err := s.FinishFolder(e, FolderState{Name: "INBOX", UIDNext: 4, Complete: true, Items: 99})
	mustDo(t, err)
	if saved.Items != 2 || saved.ItemBytes != 16 || saved.UIDNext != 4 || !saved.Complete {
		t.Fatalf("saved %+v, want 2 items of 16 bytes", saved)
	}
	if got, _ := s.Folders(e); !reflect.DeepEqual(got["INBOX"], saved) {
		t.Fatalf("stored %+v, returned %+v", got["INBOX"], saved)
	}
	if tot, built, _ := s.FolderTotals(e, "INBOX"); !built || tot.Count != 3 {
		t.Fatalf("index after FinishFolder: built %v, %+v", built, tot)
	}
	mustDo(t, s.Check())
	empty, err := s.FinishFolder(e, FolderState{Name: "Empty", Items: 5, ItemBytes: 5})
	mustDo(t, err)
	if empty.Items != 0 || empty.ItemBytes != 0 {
		t.Fatalf("a folder without records: %+v", empty)
	}
	if _, err := s.FinishFolder("nobody@x.org", FolderState{Name: "INBOX"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("an unknown user: %v", err)
	}
}
