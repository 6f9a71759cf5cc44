package state

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// FileName is the state file's name in the data directory.
const FileName = "state.db"

// SchemaVersion is written to the meta bucket; a file with a newer version is
// refused rather than misread.
const SchemaVersion = 6

// MaxEventsPerBatch caps a batch's event log; the oldest events go first.
const MaxEventsPerBatch = 10000

var (
	bMeta      = []byte("meta")
	bEndpoints = []byte("endpoints")
	bTenants   = []byte("tenants")
	bBatches   = []byte("batches")
	bUsers     = []byte("users")
	bFolders   = []byte("folders")
	bMessages  = []byte("messages")
	bSkipped   = []byte("skipped")
	bEvents    = []byte("events")
	// bBatchUsers indexes users by batch: batchusers/<batch>/<user key>.
	bBatchUsers = []byte("batchusers")
	topBuckets  = [][]byte{bMeta, bEndpoints, bTenants, bBatches, bUsers, bBatchUsers, bDue, bFolders, bMessages, bMsgIndex, bSkipped, bEvents}
)

// Errors returned when opening the store.
var (
	// ErrCorrupt: the file is not a state file this version can read.
	ErrCorrupt = errors.New("state file is corrupt or of a newer version")
	// ErrLocked: another process holds the state file.
	ErrLocked = errors.New("state file is in use by another process")
)

// Errors returned by lookups and writes.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
)

// DuplicateUserError reports a user that already belongs to another batch
// (Exchange Online's UserDuplicateInOtherBatch).
type DuplicateUserError struct {
	EmailAddress string
	OtherBatch   string
}

// Code is the operator-facing error code.
func (e *DuplicateUserError) Code() string { return "UserDuplicateInOtherBatch" }

func (e *DuplicateUserError) Error() string {
	return fmt.Sprintf("UserDuplicateInOtherBatch: %s is already in batch %q", e.EmailAddress, e.OtherBatch)
}

// Options tune Open. Nil means defaults.
type Options struct {
	// Timeout is how long Open waits for the file lock (default 2 s).
	Timeout time.Duration
	// NoSync skips fsync (tests only).
	NoSync bool
	// MaxBatchDelay bounds how long a DB.Batch write waits for others to
	// join it (bbolt's default, 10 ms, when zero).
	MaxBatchDelay time.Duration
}

// Store is the open state file.
type Store struct {
	db     *bolt.DB
	sealer *Sealer
	now    func() time.Time
}

// Open opens (creating if needed) dir/state.db with the sealing key.
func Open(dir string, key []byte, opts *Options) (*Store, error) {
	if opts == nil {
		opts = &Options{}
	}
	sealer, err := NewSealer(key)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 2 * time.Second
	}
	path := filepath.Join(dir, FileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, NoSync: opts.NoSync, FreelistType: bolt.FreelistMapType})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("%s: %w", path, ErrLocked)
		}
		return nil, fmt.Errorf("%s: %w: %v", path, ErrCorrupt, err)
	}
	if opts.MaxBatchDelay > 0 {
		db.MaxBatchDelay = opts.MaxBatchDelay
	}
	s := &Store{db: db, sealer: sealer, now: time.Now}
	if err := s.init(); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

func (s *Store) init() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		for _, name := range topBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bMeta)
		v := meta.Get([]byte("schema"))
		if v == nil {
			return meta.Put([]byte("schema"), u64(SchemaVersion))
		}
		if len(v) != 8 || binary.BigEndian.Uint64(v) > SchemaVersion {
			return ErrCorrupt
		}
		if ver := binary.BigEndian.Uint64(v); ver < SchemaVersion {
			// Version 1 had no batch index, version 2 no due index,
			// version 3 no message indexes: those are built folder by
			// folder when a pass first finishes the folder (EnsureIndex),
			// not all at once here. Version 4's indexes had no watermark
			// and no stale entries: each reads as an index whose
			// watermark is above every UID (msgindex.go), and gets one
			// when it is next rebuilt. Version 5's batch index had no
			// statuses. The version keeps an older binary,
			// which would not keep them in step, from opening the file.
			if err := tx.Bucket(bUsers).ForEach(func(k, v []byte) error {
				var u User
				if err := json.Unmarshal(v, &u); err != nil {
					return fmt.Errorf("%w: user %s: %v", ErrCorrupt, k, err)
				}
				if ver < 2 {
					if err := indexUser(tx, u.Batch, string(k)); err != nil {
						return err
					}
				}
				return reindexUser(tx, nil, &u) // the due entry; the status in the batch index (version 5 had none)
			}); err != nil {
				return err
			}
		}
		return meta.Put([]byte("schema"), u64(SchemaVersion))
	})
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// Path is the state file's path.
func (s *Store) Path() string { return s.db.Path() }

// UserKey is the key of a user: its address in lower case.
func UserKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func u32(v uint32) []byte {
	b := make([]byte, 4)
	binary.BigEndian.PutUint32(b, v)
	return b
}

func putJSON(b *bolt.Bucket, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put([]byte(key), data)
}

func getJSON(b *bolt.Bucket, key string, v any) error {
	data := b.Get([]byte(key))
	if data == nil {
		return ErrNotFound
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrCorrupt, key, err)
	}
	return nil
}

// sub returns the nested bucket top/names..., or nil when any is missing.
func sub(tx *bolt.Tx, top []byte, names ...string) *bolt.Bucket {
	b := tx.Bucket(top)
	for _, n := range names {
		if b == nil {
			return nil
		}
		b = b.Bucket([]byte(n))
	}
	return b
}

// subCreate returns the nested bucket top/names..., creating it.
func subCreate(tx *bolt.Tx, top []byte, names ...string) (*bolt.Bucket, error) {
	b := tx.Bucket(top)
	for _, n := range names {
		var err error
		if b, err = b.CreateBucketIfNotExists([]byte(n)); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func deleteSub(tx *bolt.Tx, top []byte, name string) error {
	err := tx.Bucket(top).DeleteBucket([]byte(name))
	if errors.Is(err, bolt.ErrBucketNotFound) {
		return nil
	}
	return err
}

// indexUser records a user in its batch's index.
func indexUser(tx *bolt.Tx, batch, key string) error {
	b, err := subCreate(tx, bBatchUsers, batch)
	if err != nil {
		return err
	}
	return b.Put([]byte(key), nil)
}

// nextSeq returns the next sequence number of b as a key.
func nextSeq(b *bolt.Bucket) (uint64, []byte, error) {
	n, err := b.NextSequence()
	return n, u64(n), err
}

// Check verifies the store's invariants: every user belongs to an existing
// batch, every per-user bucket belongs to an existing user, every record
// decodes. Tests call it at cleanup (see statetest).
func (s *Store) Check() error {
	return s.db.View(func(tx *bolt.Tx) error {
		var errs []error
		for _, check := range []func(*bolt.Tx) []error{checkRecords, checkOwners, checkMessages, checkIndexes} {
			errs = append(errs, check(tx)...)
		}
		return errors.Join(errs...)
	})
}

// checkRecords: every batch and user decodes, is stored under its own
// key, and no user holds a plain password.
func checkRecords(tx *bolt.Tx) []error {
	var errs []error
	batches := tx.Bucket(bBatches)
	users := tx.Bucket(bUsers)
	_ = batches.ForEach(func(k, v []byte) error {
		var b Batch
		if err := json.Unmarshal(v, &b); err != nil || b.Name != string(k) {
			errs = append(errs, fmt.Errorf("batch %q does not decode", k))
		}
		return nil
	})
	_ = users.ForEach(func(k, v []byte) error {
		var u User
		if err := json.Unmarshal(v, &u); err != nil {
			errs = append(errs, fmt.Errorf("user %q does not decode", k))
			return nil
		}
		if UserKey(u.EmailAddress) != string(k) {
			errs = append(errs, fmt.Errorf("user %q stored under key %q", u.EmailAddress, k))
		}
		if batches.Get([]byte(u.Batch)) == nil {
			errs = append(errs, fmt.Errorf("user %q in missing batch %q", k, u.Batch))
		}
		if bytes.Contains(v, []byte(`"Password"`)) {
			errs = append(errs, fmt.Errorf("user %q has a plain password field", k))
		}
		return nil
	})
	return errs
}

// checkOwners: per-user buckets belong to a user, events to a batch.
func checkOwners(tx *bolt.Tx) []error {
	var errs []error
	users := tx.Bucket(bUsers)
	for _, top := range [][]byte{bFolders, bMessages, bMsgIndex, bSkipped} {
		_ = tx.Bucket(top).ForEach(func(k, v []byte) error {
			if users.Get(k) == nil {
				errs = append(errs, fmt.Errorf("%s/%s belongs to no user", top, k))
			}
			return nil
		})
	}
	batches := tx.Bucket(bBatches)
	_ = tx.Bucket(bEvents).ForEach(func(k, v []byte) error {
		if batches.Get(k) == nil {
			errs = append(errs, fmt.Errorf("events/%s belongs to no batch", k))
		}
		return nil
	})
	return errs
}

// checkMessages: every folder of records has its folder state and a
// matching message index (when built), every record decodes, and every
// index has records.
func checkMessages(tx *bolt.Tx) []error {
	var errs []error
	_ = tx.Bucket(bMessages).ForEach(func(user, _ []byte) error {
		fb := sub(tx, bFolders, string(user))
		return sub(tx, bMessages, string(user)).ForEach(func(folder, _ []byte) error {
			if fb == nil || fb.Get(folder) == nil {
				errs = append(errs, fmt.Errorf("messages/%s/%s has no folder state", user, folder))
			}
			errs = append(errs, checkIndex(tx, string(user), string(folder))...)
			return sub(tx, bMessages, string(user), string(folder)).ForEach(func(k, v []byte) error {
				if len(k) != 4 {
					errs = append(errs, fmt.Errorf("messages/%s/%s: bad UID key", user, folder))
				} else if _, err := decodeMessage(binary.BigEndian.Uint32(k), v); err != nil {
					errs = append(errs, fmt.Errorf("messages/%s/%s/%d: %v", user, folder, binary.BigEndian.Uint32(k), err))
				}
				return nil
			})
		})
	})
	_ = tx.Bucket(bMsgIndex).ForEach(func(user, _ []byte) error {
		return sub(tx, bMsgIndex, string(user)).ForEach(func(folder, _ []byte) error {
			if sub(tx, bMessages, string(user), string(folder)) == nil {
				errs = append(errs, fmt.Errorf("msgindex/%s/%s indexes no records", user, folder))
			}
			return nil
		})
	})
	return errs
}

// checkIndexes: the batch-users and due indexes match the users, both
// ways.
func checkIndexes(tx *bolt.Tx) []error {
	var errs []error
	users := tx.Bucket(bUsers)
	_ = tx.Bucket(bBatchUsers).ForEach(func(batch, _ []byte) error {
		return sub(tx, bBatchUsers, string(batch)).ForEach(func(k, v []byte) error {
			var u User
			switch {
			case getJSON(users, string(k), &u) != nil || u.Batch != string(batch):
				errs = append(errs, fmt.Errorf("batchusers/%s/%s does not match a user of that batch", batch, k))
			case string(v) != string(u.Status):
				errs = append(errs, fmt.Errorf("batchusers/%s/%s has status %q, the user is %s", batch, k, v, u.Status))
			}
			return nil
		})
	})
	due := tx.Bucket(bDue)
	_ = due.ForEach(func(k, _ []byte) error {
		var u User
		if len(k) < 8 || getJSON(users, string(k[8:]), &u) != nil || !bytes.Equal(dueKey(u), k) {
			errs = append(errs, fmt.Errorf("due index entry %x does not match its user", k))
		}
		return nil
	})
	_ = users.ForEach(func(k, v []byte) error {
		var u User
		if json.Unmarshal(v, &u) != nil {
			return nil
		}
		if b := sub(tx, bBatchUsers, u.Batch); b == nil || b.Get(k) == nil {
			errs = append(errs, fmt.Errorf("user %s is missing from the index of batch %q", k, u.Batch))
		}
		if dk := dueKey(u); dk != nil && due.Get(dk) == nil {
			errs = append(errs, fmt.Errorf("user %s (%s) is missing from the due index", k, u.Status))
		}
		return nil
	})
	return errs
}
