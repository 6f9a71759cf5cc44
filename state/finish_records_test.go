package state

import (
	"errors"
	"reflect"
	"testing"
)

// FinishFolderWith writes the records and the finished folder together:
// the totals count the new records, the index holds them, a record that
// replaces one keeps the index right, and when the records cannot be
// written (unknown folder) the folder is not saved either.
func TestFinishFolderWith_RecordsAndStateTogether(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	e := newIndexUser(t, s, "INBOX")
	mustDo(t, s.PutMessages(e, "INBOX", []MessageRecord{{UID: 1, SourceKey: "a", ItemID: "I1", Size: 5}}))
	_, err := s.FinishFolder(e, FolderState{Name: "INBOX", UIDNext: 2, Complete: true})
	mustDo(t, err)
	recs := []MessageRecord{{UID: 1, SourceKey: "a", ItemID: "I1b", Size: 6}, {UID: 2, SourceKey: "b", ItemID: "I2", Size: 7}, {UID: 3, SourceKey: "c", Size: 100}}
	saved, err := s.FinishFolderWith(e, FolderState{Name: "INBOX", UIDNext: 4, Complete: true}, "INBOX", recs)
	mustDo(t, err)
	if saved.Items != 2 || saved.ItemBytes != 13 || saved.UIDNext != 4 {
		t.Fatalf("saved %+v, want 2 items of 13 bytes", saved)
	}
	if got, _ := s.Folders(e); !reflect.DeepEqual(got["INBOX"], saved) {
		t.Fatalf("stored %+v, returned %+v", got["INBOX"], saved)
	}
	if tot, built, _ := s.FolderTotals(e, "INBOX"); !built || tot.Count != 3 {
		t.Fatalf("index: built %v, %+v", built, tot)
	}
	mustDo(t, s.Check())
	before, _ := s.Folders(e)
	if _, err := s.FinishFolderWith(e, FolderState{Name: "INBOX", UIDNext: 9}, "Gone", recs); !errors.Is(err, ErrNotFound) {
		t.Fatalf("records of an unknown folder: %v", err)
	}
	if after, _ := s.Folders(e); !reflect.DeepEqual(after, before) {
		t.Fatalf("the folder was saved without its records: %+v", after["INBOX"])
	}
}
