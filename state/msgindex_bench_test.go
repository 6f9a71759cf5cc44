package state_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/imapmig/imapmig/state"
	"github.com/imapmig/imapmig/state/statetest"
)

// BenchmarkPutMessages_100kIn64s writes a 100,000-message folder's records
// as an initial sync's committer does: 64 records per PutMessages, source
// keys that are header hashes (random order in the key index). It is the
// write cost of the message index.
func BenchmarkPutMessages_100kIn64s(b *testing.B) {
	const n, every = 100000, 64
	recs := hashedRecords(n)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		s := storeWithInbox(b)
		b.StartTimer()
		for i := 0; i < n; i += every {
			if err := s.PutMessages("u@x.org", "INBOX", recs[i:min(i+every, n)]); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkEnsureIndex_100k builds the index of a 100,000-message folder
// (what the first pass to finish the folder does once).
func BenchmarkEnsureIndex_100k(b *testing.B) {
	const n = 100000
	recs := hashedRecords(n)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		s := storeWithInbox(b)
		if err := s.PutMessages("u@x.org", "INBOX", recs); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t, err := s.EnsureIndex("u@x.org", "INBOX")
		if err != nil || t.Count != n {
			b.Fatalf("%+v %v", t, err)
		}
	}
}

// hashedRecords are n records whose source keys are header hashes (random
// order in the key index), as an initial sync writes them.
func hashedRecords(n int) []state.MessageRecord {
	recs := make([]state.MessageRecord, n)
	for i := range recs {
		sum := sha256.Sum256(fmt.Appendf(nil, "header %d", i))
		recs[i] = state.MessageRecord{UID: uint32(i + 1), SourceKey: hex.EncodeToString(sum[:16]), ItemID: fmt.Sprintf("AAMkAD%064d", i), Size: 4000, Flags: 1}
	}
	return recs
}

// storeWithInbox is a new store with user u@x.org and its INBOX.
func storeWithInbox(b *testing.B) *state.Store {
	b.Helper()
	s := statetest.MustOpen(b)
	if err := s.CreateBatch(state.Batch{Name: "b"}, []state.NewUser{{EmailAddress: "u@x.org", UserName: "u", Password: "p"}}); err != nil {
		b.Fatal(err)
	}
	if err := s.PutFolder("u@x.org", state.FolderState{Name: "INBOX"}); err != nil {
		b.Fatal(err)
	}
	return s
}
