// Each folder's message records: source UID → source key, target item, flags, size.

package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// PutMessages records messages of a folder (insert or replace by UID). The
// folder's state must exist (PutFolder first).
func (s *Store) PutMessages(email, folder string, recs []MessageRecord) error {
	if len(recs) == 0 {
		return nil
	}
	return s.db.Batch(func(tx *bolt.Tx) error { return putMessagesTx(tx, email, folder, recs) })
}

// putMessagesTx is PutMessages within tx.
func putMessagesTx(tx *bolt.Tx, email, folder string, recs []MessageRecord) error {
	if fb := sub(tx, bFolders, UserKey(email)); fb == nil || fb.Get([]byte(folder)) == nil {
		return fmt.Errorf("folder %s/%s: %w", email, folder, ErrNotFound)
	}
	b, err := subCreate(tx, bMessages, UserKey(email), folder)
	if err != nil {
		return err
	}
	ix, err := openIndex(tx, UserKey(email), folder)
	if err != nil {
		return err
	}
	c := b.Cursor()
	for _, r := range recs {
		k, v := u32(r.UID), encodeMessage(r)
		if got, old := c.Seek(k); bytes.Equal(got, k) {
			// The index first: old is the stored value, valid until
			// the record's own Put.
			if err := ix.replace(r.UID, old, v); err != nil {
				return err
			}
		} else if err := ix.insert(r.UID, v); err != nil {
			return err
		}
		if err := b.Put(k, v); err != nil {
			return err
		}
	}
	return ix.save()
}

// DeleteMessages forgets messages of a folder by UID.
func (s *Store) DeleteMessages(email, folder string, uids []uint32) error {
	if len(uids) == 0 {
		return nil
	}
	return s.db.Batch(func(tx *bolt.Tx) error {
		b := sub(tx, bMessages, UserKey(email), folder)
		if b == nil {
			return nil
		}
		ix, err := openIndex(tx, UserKey(email), folder)
		if err != nil {
			return err
		}
		c := b.Cursor()
		for _, uid := range uids {
			k := u32(uid)
			got, old := c.Seek(k)
			if !bytes.Equal(got, k) {
				continue
			}
			if err := ix.remove(uid, old); err != nil {
				return err
			}
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return ix.save()
	})
}

// Messages calls fn for each recorded message of a folder in UID order. It
// reads in chunks so that no read transaction stays open while fn runs.
func (s *Store) Messages(email, folder string, fn func(MessageRecord) error) error {
	return eachMessage(s, email, folder, decodeMessage, fn)
}

// MessageSummary is a MessageRecord without the target item id: what a
// pass needs to diff a folder, at a fraction of the allocations.
type MessageSummary struct {
	UID       uint32
	SourceKey string
	Flags     uint8
	Size      int64
	Keywords  []string
	InTarget  bool // the record has a target item id
}

// Summaries is Messages without the item ids.
func (s *Store) Summaries(email, folder string, fn func(MessageSummary) error) error {
	return eachMessage(s, email, folder, decodeSummary, fn)
}

func eachMessage[T any](s *Store, email, folder string, decode func(uint32, []byte) (T, error), fn func(T) error) error {
	return eachMessageFrom(s, email, folder, 0, decode, fn)
}

// eachMessageFrom calls fn for the records from UID from on.
func eachMessageFrom[T any](s *Store, email, folder string, from uint32, decode func(uint32, []byte) (T, error), fn func(T) error) error {
	const chunk = 4096
	var after []byte
	for first := true; ; first = false {
		var recs []T
		var last []byte
		err := s.db.View(func(tx *bolt.Tx) error {
			b := sub(tx, bMessages, UserKey(email), folder)
			if b == nil {
				return nil
			}
			c := b.Cursor()
			var k, v []byte
			if first {
				k, v = c.Seek(u32(from))
			} else {
				k, v = c.Seek(after)
				if k != nil && string(k) == string(after) {
					k, v = c.Next()
				}
			}
			for ; k != nil && len(recs) < chunk; k, v = c.Next() {
				r, err := decode(binary.BigEndian.Uint32(k), v)
				if err != nil {
					return fmt.Errorf("%w: message %s/%s/%x: %v", ErrCorrupt, email, folder, k, err)
				}
				recs = append(recs, r)
				last = append(last[:0], k...)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, r := range recs {
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(recs) < chunk {
			return nil
		}
		after = last
	}
}

// Message returns one record by UID.
func (s *Store) Message(email, folder string, uid uint32) (MessageRecord, bool, error) {
	var r MessageRecord
	found := false
	err := s.db.View(func(tx *bolt.Tx) error {
		b := sub(tx, bMessages, UserKey(email), folder)
		if b == nil {
			return nil
		}
		v := b.Get(u32(uid))
		if v == nil {
			return nil
		}
		var err error
		r, err = decodeMessage(uid, v)
		found = err == nil
		return err
	})
	return r, found, err
}

// MessageCount returns how many messages are recorded for a folder.
func (s *Store) MessageCount(email, folder string) (int, error) {
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := sub(tx, bMessages, UserKey(email), folder); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	return n, err
}

// encodeMessage packs a record: flags, size, then length-prefixed source key, item
// id and keywords joined by a space. Compact because a 500,000-message
// mailbox must stay near 50 MB of state.
func encodeMessage(r MessageRecord) []byte {
	kw := strings.Join(r.Keywords, " ")
	b := make([]byte, 0, 1+binary.MaxVarintLen64+3*binary.MaxVarintLen32+len(r.SourceKey)+len(r.ItemID)+len(kw))
	b = append(b, r.Flags)
	b = binary.AppendUvarint(b, uint64(r.Size))
	for _, s := range []string{r.SourceKey, r.ItemID, kw} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

var errShort = errors.New("truncated record")

// rawRecord is an encoded record split into its parts (slices of the
// value: valid only inside the transaction).
type rawRecord struct {
	flags                uint8
	size                 int64
	key, itemID, keyword []byte
}

func splitRecord(b []byte) (rawRecord, error) {
	var r rawRecord
	if len(b) < 1 {
		return r, errShort
	}
	r.flags = b[0]
	b = b[1:]
	size, w := binary.Uvarint(b)
	if w <= 0 {
		return r, errShort
	}
	r.size = int64(size)
	b = b[w:]
	for _, f := range []*[]byte{&r.key, &r.itemID, &r.keyword} {
		n, w := binary.Uvarint(b)
		if w <= 0 || uint64(len(b)-w) < n {
			return r, errShort
		}
		*f = b[w : w+int(n)]
		b = b[w+int(n):]
	}
	return r, nil
}

func keywords(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	return strings.Split(string(b), " ")
}

func decodeMessage(uid uint32, b []byte) (MessageRecord, error) {
	r, err := splitRecord(b)
	if err != nil {
		return MessageRecord{UID: uid}, err
	}
	return MessageRecord{UID: uid, Flags: r.flags, Size: r.size, SourceKey: string(r.key), ItemID: string(r.itemID), Keywords: keywords(r.keyword)}, nil
}

// decodeSummary decodes a record but its item id.
func decodeSummary(uid uint32, b []byte) (MessageSummary, error) {
	r, err := splitRecord(b)
	if err != nil {
		return MessageSummary{UID: uid}, err
	}
	return MessageSummary{UID: uid, Flags: r.flags, Size: r.size, SourceKey: string(r.key), InTarget: len(r.itemID) > 0, Keywords: keywords(r.keyword)}, nil
}
