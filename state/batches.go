package state

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/imapmig/imapmig/migrate/model"
	bolt "go.etcd.io/bbolt"
)

// NewUser is a user to add to a batch, with its password in plain text; the
// store seals it before writing.
type NewUser struct {
	EmailAddress string
	UserName     string
	Password     string
	UserRoot     string
}

// String hides the password.
func (u NewUser) String() string { return "NewUser{" + u.EmailAddress + "}" }

// GoString hides the password.
func (u NewUser) GoString() string { return u.String() }

// PutEndpoint stores an endpoint declared in config.
func (s *Store) PutEndpoint(e Endpoint) error {
	return s.db.Update(func(tx *bolt.Tx) error { return putJSON(tx.Bucket(bEndpoints), e.Name, e) })
}

// Endpoints lists the stored endpoints.
func (s *Store) Endpoints() ([]Endpoint, error) { return listJSON[Endpoint](s, bEndpoints) }

// PutTenant stores a tenant declared in config.
func (s *Store) PutTenant(t Tenant) error {
	return s.db.Update(func(tx *bolt.Tx) error { return putJSON(tx.Bucket(bTenants), t.Name, t) })
}

// Tenants lists the stored tenants.
func (s *Store) Tenants() ([]Tenant, error) { return listJSON[Tenant](s, bTenants) }

func listJSON[T any](s *Store, bucket []byte) ([]T, error) {
	var out []T
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, v []byte) error {
			var t T
			if err := json.Unmarshal(v, &t); err != nil {
				return fmt.Errorf("%w: %s/%s: %v", ErrCorrupt, bucket, k, err)
			}
			out = append(out, t)
			return nil
		})
	})
	return out, err
}

// CreateBatch stores a new batch with its users in one transaction. It fails
// with ErrExists when the batch exists, and with a *DuplicateUserError when a
// user is already in another batch; nothing is written then.
func (s *Store) CreateBatch(b Batch, users []NewUser) error {
	now := s.now().UTC()
	if b.CreatedAt.IsZero() {
		b.CreatedAt = now
	}
	if b.Status == "" {
		b.Status = model.BatchCreated
	}
	sealed, err := s.sealUsers(b.Name, users, now)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		bb := tx.Bucket(bBatches)
		if bb.Get([]byte(b.Name)) != nil {
			return fmt.Errorf("batch %q: %w", b.Name, ErrExists)
		}
		if err := putUsers(tx, b.Name, sealed); err != nil {
			return err
		}
		return putJSON(bb, b.Name, b)
	})
}

// AddUsers adds users to an existing batch, with the same rules as
// CreateBatch.
func (s *Store) AddUsers(batch string, users []NewUser) error {
	now := s.now().UTC()
	sealed, err := s.sealUsers(batch, users, now)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bBatches).Get([]byte(batch)) == nil {
			return fmt.Errorf("batch %q: %w", batch, ErrNotFound)
		}
		return putUsers(tx, batch, sealed)
	})
}

func (s *Store) sealUsers(batch string, users []NewUser, now time.Time) ([]User, error) {
	out := make([]User, 0, len(users))
	for _, nu := range users {
		key := UserKey(nu.EmailAddress)
		sealed, err := s.sealer.Seal(nu.Password, key)
		if err != nil {
			return nil, err
		}
		out = append(out, User{
			EmailAddress:   nu.EmailAddress,
			Batch:          batch,
			UserName:       nu.UserName,
			PasswordSealed: sealed,
			UserRoot:       nu.UserRoot,
			Status:         model.UserCreated,
			CreatedAt:      now,
		})
	}
	return out, nil
}

// putUsers writes new users, refusing any that exists in this or another
// batch.
func putUsers(tx *bolt.Tx, batch string, users []User) error {
	ub := tx.Bucket(bUsers)
	for _, u := range users {
		key := UserKey(u.EmailAddress)
		var old User
		if err := getJSON(ub, key, &old); err == nil {
			if old.Batch == batch {
				return fmt.Errorf("user %s in batch %q: %w", u.EmailAddress, batch, ErrExists)
			}
			return &DuplicateUserError{EmailAddress: u.EmailAddress, OtherBatch: old.Batch}
		}
		if err := putJSON(ub, key, u); err != nil {
			return err
		}
		if err := indexUser(tx, batch, key); err != nil {
			return err
		}
		if err := reindexUser(tx, nil, &u); err != nil {
			return err
		}
	}
	return nil
}

// Batch returns one batch.
func (s *Store) Batch(name string) (Batch, error) {
	var b Batch
	err := s.db.View(func(tx *bolt.Tx) error { return getJSON(tx.Bucket(bBatches), name, &b) })
	if err != nil {
		return b, fmt.Errorf("batch %q: %w", name, err)
	}
	return b, nil
}

// Batches lists all batches, by name.
func (s *Store) Batches() ([]Batch, error) { return listJSON[Batch](s, bBatches) }

// UpdateBatch changes a batch under fn; fn may run more than once.
func (s *Store) UpdateBatch(name string, fn func(*Batch) error) (Batch, error) {
	var out Batch
	err := s.db.Batch(func(tx *bolt.Tx) error {
		bb := tx.Bucket(bBatches)
		var b Batch
		if err := getJSON(bb, name, &b); err != nil {
			return fmt.Errorf("batch %q: %w", name, err)
		}
		if err := fn(&b); err != nil {
			return err
		}
		b.UpdatedAt = s.now().UTC()
		out = b
		return putJSON(bb, name, b)
	})
	return out, err
}

// RemoveBatch deletes a batch, its users and all their sync state and
// events. Target mail is not touched (state only).
func (s *Store) RemoveBatch(name string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		bb := tx.Bucket(bBatches)
		if bb.Get([]byte(name)) == nil {
			return fmt.Errorf("batch %q: %w", name, ErrNotFound)
		}
		var keys []string
		if idx := sub(tx, bBatchUsers, name); idx != nil {
			if err := idx.ForEach(func(k, _ []byte) error {
				keys = append(keys, string(k))
				return nil
			}); err != nil {
				return err
			}
		}
		for _, k := range keys {
			if err := removeUser(tx, k); err != nil {
				return err
			}
		}
		if err := deleteSub(tx, bBatchUsers, name); err != nil {
			return err
		}
		if err := deleteSub(tx, bEvents, name); err != nil {
			return err
		}
		return bb.Delete([]byte(name))
	})
}
