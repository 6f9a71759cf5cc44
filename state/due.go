package state

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/imapmig/imapmig/migrate/model"
	bolt "go.etcd.io/bbolt"
)

// The due index lets the scheduler read only the users that may start a
// pass, in the order they became due, instead of every user: key = due time
// (8 bytes, Unix nanoseconds, big endian) ‖ user key. A user is in it while
// it waits: Queued (due when queued, or at the end of a retry backoff),
// Synced (due at its next sync), Completing (due at once), or Failed after a
// successful sync with a retry scheduled (its incremental passes keep
// failing; a later good one clears the failure).

var bDue = []byte("due")

// DueTime is when a user may next start a pass, and whether it waits for
// one at all.
func DueTime(u User) (time.Time, bool) {
	switch u.Status {
	case model.UserQueued:
		t := u.QueuedAt
		if u.NextSyncAt.After(t) {
			t = u.NextSyncAt
		}
		return t, true
	case model.UserSynced:
		return u.NextSyncAt, !u.NextSyncAt.IsZero()
	case model.UserCompleting:
		return u.NextSyncAt, true
	case model.UserFailed:
		return u.NextSyncAt, !u.NextSyncAt.IsZero() && !u.LastSuccessfulSyncTime.IsZero()
	}
	return time.Time{}, false
}

func dueKey(u User) []byte {
	t, ok := DueTime(u)
	if !ok {
		return nil
	}
	k := make([]byte, 8, 8+len(u.EmailAddress))
	n := t.UnixNano()
	if t.IsZero() || n < 0 {
		n = 0
	}
	binary.BigEndian.PutUint64(k, uint64(n))
	return append(k, UserKey(u.EmailAddress)...)
}

// reindexUser keeps a user's indexes in step with a write from old to nu
// (either may be nil: a new or a removed user): its due entry, and its
// status in its batch's index (batchusers/<batch>/<user key> → status),
// which BatchUserStatuses counts without decoding the users.
func reindexUser(tx *bolt.Tx, old, nu *User) error {
	if err := reindexDue(tx, old, nu); err != nil {
		return err
	}
	if nu == nil || (old != nil && old.Status == nu.Status) {
		return nil
	}
	idx := sub(tx, bBatchUsers, nu.Batch)
	key := []byte(UserKey(nu.EmailAddress))
	if idx == nil || !hasKey(idx, key) {
		return nil // not in its batch's index (an inconsistency Check reports)
	}
	return idx.Put(key, []byte(nu.Status))
}

// reindexDue moves a user's due entry from what old implies to what nu
// implies (either may be nil: a new or a removed user).
func reindexDue(tx *bolt.Tx, old, nu *User) error {
	b := tx.Bucket(bDue)
	var ok, nk []byte
	if old != nil {
		ok = dueKey(*old)
	}
	if nu != nil {
		nk = dueKey(*nu)
	}
	if bytes.Equal(ok, nk) {
		return nil
	}
	if ok != nil {
		if err := b.Delete(ok); err != nil {
			return err
		}
	}
	if nk != nil {
		return b.Put(nk, nil)
	}
	return nil
}

// Due calls fn with the users due at or before until, earliest first,
// until fn returns false. It reads in chunks, holding no transaction while
// fn runs. A user whose due time changes during the walk may be seen twice
// or not at all; callers look again later.
func (s *Store) Due(until time.Time, fn func(User) bool) error {
	const chunk = 256
	var after []byte
	end := until.UnixNano()
	for {
		var us []User
		var last []byte
		err := s.db.View(func(tx *bolt.Tx) error {
			c := tx.Bucket(bDue).Cursor()
			var k []byte
			if after == nil {
				k, _ = c.First()
			} else if k, _ = c.Seek(after); k != nil && bytes.Equal(k, after) {
				k, _ = c.Next()
			}
			ub := tx.Bucket(bUsers)
			for ; k != nil && len(us) < chunk; k, _ = c.Next() {
				if len(k) < 8 || int64(binary.BigEndian.Uint64(k[:8])) > end {
					break
				}
				var u User
				if err := getJSON(ub, string(k[8:]), &u); err != nil {
					return fmt.Errorf("%w: due index names user %s: %v", ErrCorrupt, k[8:], err)
				}
				us = append(us, u)
				last = append(last[:0], k...)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, u := range us {
			if !fn(u) {
				return nil
			}
		}
		if len(us) < chunk {
			return nil
		}
		after = last
	}
}

// NextDue returns the earliest due time after t, if any user has one.
func (s *Store) NextDue(t time.Time) (time.Time, bool) {
	var next time.Time
	found := false
	_ = s.db.View(func(tx *bolt.Tx) error {
		k := make([]byte, 8)
		binary.BigEndian.PutUint64(k, uint64(max(t.UnixNano()+1, 0)))
		if key, _ := tx.Bucket(bDue).Cursor().Seek(k); len(key) >= 8 {
			next, found = time.Unix(0, int64(binary.BigEndian.Uint64(key[:8]))), true
		}
		return nil
	})
	return next, found
}
