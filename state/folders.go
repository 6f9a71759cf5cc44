// Each user's source folders: their saved sync state, by source folder name.

package state

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Folders returns the saved state of a user's source folders, by name.
func (s *Store) Folders(email string) (map[string]FolderState, error) {
	out := map[string]FolderState{}
	err := s.db.View(func(tx *bolt.Tx) error {
		b := sub(tx, bFolders, UserKey(email))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var f FolderState
			if err := json.Unmarshal(v, &f); err != nil {
				return fmt.Errorf("%w: folder %s/%s: %v", ErrCorrupt, email, k, err)
			}
			out[string(k)] = f
			return nil
		})
	})
	return out, err
}

// PutFolder saves a folder's state.
func (s *Store) PutFolder(email string, f FolderState) error {
	return s.db.Batch(func(tx *bolt.Tx) error {
		if err := s.userExists(tx, email); err != nil {
			return err
		}
		b, err := subCreate(tx, bFolders, UserKey(email))
		if err != nil {
			return err
		}
		return putJSON(b, f.Name, f)
	})
}

// DeleteFolder forgets a folder and its message map.
func (s *Store) DeleteFolder(email, folder string) error {
	return s.db.Batch(func(tx *bolt.Tx) error {
		if err := dropMessages(tx, UserKey(email), folder); err != nil {
			return err
		}
		if b := sub(tx, bFolders, UserKey(email)); b != nil {
			return b.Delete([]byte(folder))
		}
		return nil
	})
}

// ResetMessages forgets a folder's message map (after a UIDVALIDITY change).
func (s *Store) ResetMessages(email, folder string) error {
	return s.db.Batch(func(tx *bolt.Tx) error { return dropMessages(tx, UserKey(email), folder) })
}

// dropMessages deletes a folder's records and their index.
func dropMessages(tx *bolt.Tx, user, folder string) error {
	for _, top := range [][]byte{bMessages, bMsgIndex} {
		if err := deleteSub2(tx, top, user, folder); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) userExists(tx *bolt.Tx, email string) error {
	if tx.Bucket(bUsers).Get([]byte(UserKey(email))) == nil {
		return fmt.Errorf("user %s: %w", email, ErrNotFound)
	}
	return nil
}

// RenameFolder moves a folder's state and message map from one source name
// to another (the folder was renamed on the source), in one transaction.
func (s *Store) RenameFolder(email, from string, to FolderState) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		key := UserKey(email)
		fb := sub(tx, bFolders, key)
		if fb == nil || fb.Get([]byte(from)) == nil {
			return fmt.Errorf("folder %s/%s: %w", email, from, ErrNotFound)
		}
		if fb.Get([]byte(to.Name)) != nil {
			return fmt.Errorf("folder %s/%s: %w", email, to.Name, ErrExists)
		}
		for _, top := range [][]byte{bMessages, bMsgIndex} {
			old := sub(tx, top, key, from)
			if old == nil {
				continue
			}
			nb, err := subCreate(tx, top, key, to.Name)
			if err != nil {
				return err
			}
			if err := old.ForEach(func(k, v []byte) error { return nb.Put(k, v) }); err != nil {
				return err
			}
			if err := sub(tx, top, key).DeleteBucket([]byte(from)); err != nil {
				return err
			}
		}
		if err := fb.Delete([]byte(from)); err != nil {
			return err
		}
		return putJSON(fb, to.Name, to)
	})
}
