package state

import (
	"bytes"
	"fmt"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// A version-1 file (no batch index) gets its index on open.
func TestOpen_UpgradesSchema1WithBatchIndex(t *testing.T) {
	dir := t.TempDir()
	key := bytes.Repeat([]byte{3}, 32)
	s, err := Open(dir, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	var us []NewUser
	for i := 0; i < 3; i++ {
		us = append(us, NewUser{EmailAddress: fmt.Sprintf("u%d@x.org", i), UserName: "u", Password: "p"})
	}
	if err := s.CreateBatch(Batch{Name: "old"}, us); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bBatchUsers); err != nil {
			return err
		}
		return tx.Bucket(bMeta).Put([]byte("schema"), u64(1))
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(dir, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Users("old")
	if err != nil || len(got) != 3 {
		t.Fatalf("users of the batch after the upgrade: %d, %v", len(got), err)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}
