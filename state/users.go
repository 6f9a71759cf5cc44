package state

import (
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// User returns one user by address (any case).
func (s *Store) User(email string) (User, error) {
	var u User
	err := s.db.View(func(tx *bolt.Tx) error { return getJSON(tx.Bucket(bUsers), UserKey(email), &u) })
	if err != nil {
		return u, fmt.Errorf("user %s: %w", email, err)
	}
	return u, nil
}

// Users lists the users of a batch ("" = all users), by address. A batch's
// users come from its index, without reading the other batches' users.
func (s *Store) Users(batch string) ([]User, error) {
	var out []User
	if batch != "" {
		err := s.db.View(func(tx *bolt.Tx) error {
			idx := sub(tx, bBatchUsers, batch)
			if idx == nil {
				return nil
			}
			ub := tx.Bucket(bUsers)
			return idx.ForEach(func(k, _ []byte) error {
				var u User
				if err := getJSON(ub, string(k), &u); err != nil {
					return fmt.Errorf("%w: index of batch %s names user %s: %v", ErrCorrupt, batch, k, err)
				}
				out = append(out, u)
				return nil
			})
		})
		return out, err
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bUsers).ForEach(func(k, v []byte) error {
			var u User
			if err := json.Unmarshal(v, &u); err != nil {
				return fmt.Errorf("%w: user %s: %v", ErrCorrupt, k, err)
			}
			out = append(out, u)
			return nil
		})
	})
	return out, err
}

// BatchUserStatuses counts a batch's users by status, from the batch's
// index: no user is decoded (a batch's status follows from these counts
// after every user's status change, so reading every user each time cost
// the engine 9% of its CPU at 200 users).
func (s *Store) BatchUserStatuses(batch string) (map[UserStatus]int, int, error) {
	counts := map[UserStatus]int{}
	total := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		idx := sub(tx, bBatchUsers, batch)
		if idx == nil {
			return nil
		}
		return idx.ForEach(func(k, v []byte) error {
			if len(v) == 0 {
				return fmt.Errorf("%w: batchusers/%s/%s has no status", ErrCorrupt, batch, k)
			}
			counts[UserStatus(v)]++
			total++
			return nil
		})
	})
	return counts, total, err
}

// UpdateUser changes a user under fn inside a batched write; fn may run more
// than once (on a fresh copy each time).
func (s *Store) UpdateUser(email string, fn func(*User) error) (User, error) {
	var out User
	key := UserKey(email)
	err := s.db.Batch(func(tx *bolt.Tx) error {
		ub := tx.Bucket(bUsers)
		var u User
		if err := getJSON(ub, key, &u); err != nil {
			return fmt.Errorf("user %s: %w", email, err)
		}
		old := u
		if err := fn(&u); err != nil {
			return err
		}
		u.UpdatedAt = s.now().UTC()
		out = u
		if err := reindexUser(tx, &old, &u); err != nil {
			return err
		}
		return putJSON(ub, key, u)
	})
	return out, err
}

// Password unseals a user's IMAP password. The result must never be logged.
func (s *Store) Password(u User) (string, error) {
	p, err := s.sealer.Open(u.PasswordSealed, UserKey(u.EmailAddress))
	if err != nil {
		return "", fmt.Errorf("user %s: %w", u.EmailAddress, err)
	}
	return p, nil
}

// SetPassword replaces a user's sealed password.
func (s *Store) SetPassword(email, password string) error {
	sealed, err := s.sealer.Seal(password, UserKey(email))
	if err != nil {
		return err
	}
	_, err = s.UpdateUser(email, func(u *User) error { u.PasswordSealed = sealed; return nil })
	return err
}

// RemoveUser deletes a user and all its sync state. Target mail is kept.
func (s *Store) RemoveUser(email string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		key := UserKey(email)
		if tx.Bucket(bUsers).Get([]byte(key)) == nil {
			return fmt.Errorf("user %s: %w", email, ErrNotFound)
		}
		return removeUser(tx, key)
	})
}

func removeUser(tx *bolt.Tx, key string) error {
	for _, top := range [][]byte{bFolders, bMessages, bMsgIndex, bSkipped} {
		if err := deleteSub(tx, top, key); err != nil {
			return err
		}
	}
	var u User
	if getJSON(tx.Bucket(bUsers), key, &u) == nil {
		if idx := sub(tx, bBatchUsers, u.Batch); idx != nil {
			if err := idx.Delete([]byte(key)); err != nil {
				return err
			}
		}
		if err := reindexUser(tx, &u, nil); err != nil {
			return err
		}
	}
	return tx.Bucket(bUsers).Delete([]byte(key))
}

// updateChunk is how many users one transaction of UpdateBatchUsers
// changes: large enough that 50,000 users take a few hundred commits, small
// enough that other writers wait milliseconds, not seconds.
const updateChunk = 1000

// UpdateBatchUsers applies fn to every user of a batch, a chunk of users per
// transaction; fn reports whether it changed the user (an unchanged user is
// not written). It returns how many users changed.
func (s *Store) UpdateBatchUsers(batch string, fn func(*User) bool) (int, error) {
	var keys []string
	if err := s.db.View(func(tx *bolt.Tx) error {
		idx := sub(tx, bBatchUsers, batch)
		if idx == nil {
			return nil
		}
		return idx.ForEach(func(k, _ []byte) error { keys = append(keys, string(k)); return nil })
	}); err != nil {
		return 0, err
	}
	n := 0
	for start := 0; start < len(keys); start += updateChunk {
		chunk := keys[start:min(start+updateChunk, len(keys))]
		changed := 0
		err := s.db.Update(func(tx *bolt.Tx) error {
			changed = 0
			ub := tx.Bucket(bUsers)
			now := s.now().UTC()
			for _, key := range chunk {
				var u User
				if err := getJSON(ub, key, &u); err != nil {
					if errors.Is(err, ErrNotFound) {
						continue // removed since the index was read
					}
					return fmt.Errorf("user %s: %w", key, err)
				}
				old := u
				if !fn(&u) {
					continue
				}
				u.UpdatedAt = now
				if err := reindexUser(tx, &old, &u); err != nil {
					return err
				}
				if err := putJSON(ub, key, u); err != nil {
					return err
				}
				changed++
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		n += changed
	}
	return n, nil
}
