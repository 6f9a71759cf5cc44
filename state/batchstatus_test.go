package state

import (
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/imapmig/imapmig/migrate/model"
	bolt "go.etcd.io/bbolt"
)

// statusesTheSlowWay counts a batch's users by status from the users.
func statusesTheSlowWay(t *testing.T, s *Store, batch string) (map[UserStatus]int, int) {
	t.Helper()
	us, err := s.Users(batch)
	mustDo(t, err)
	c := map[UserStatus]int{}
	for _, u := range us {
		c[u.Status]++
	}
	return c, len(us)
}

// The batch index's statuses follow every user write (one user, a whole
// batch, a removal, users added) and equal the users' own.
func TestBatchUserStatuses_FollowEveryWrite(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	var us []NewUser
	for i := range 12 {
		us = append(us, NewUser{EmailAddress: fmt.Sprintf("U%d@x.org", i), UserName: "u", Password: "p"})
	}
	mustDo(t, s.CreateBatch(Batch{Name: "a"}, us[:10]))
	mustDo(t, s.CreateBatch(Batch{Name: "b"}, us[10:]))
	same := func(step string) {
		t.Helper()
		for _, batch := range []string{"a", "b", "none"} {
			got, n, err := s.BatchUserStatuses(batch)
			mustDo(t, err)
			want, wn := statusesTheSlowWay(t, s, batch)
			if n != wn || !maps.Equal(got, want) {
				t.Fatalf("%s: batch %s: %v (%d users), the users say %v (%d)", step, batch, got, n, want, wn)
			}
		}
		mustDo(t, s.Check())
	}
	same("created")
	statuses := []UserStatus{model.UserQueued, model.UserSyncing, model.UserSynced, model.UserFailed, model.UserSyncing}
	for i := range 10 {
		_, err := s.UpdateUser(fmt.Sprintf("u%d@x.org", i), func(u *User) error { u.Status = statuses[i%len(statuses)]; return nil })
		mustDo(t, err)
	}
	same("each updated")
	_, err := s.UpdateUser("u3@x.org", func(u *User) error { u.SyncedItemCount++; return nil }) // the status stays
	mustDo(t, err)
	same("figures updated")
	n, err := s.UpdateBatchUsers("a", func(u *User) bool {
		if u.Status != model.UserSyncing {
			return false
		}
		u.Status = model.UserSynced
		return true
	})
	mustDo(t, err)
	if n != 4 {
		t.Fatalf("UpdateBatchUsers changed %d users, want 4", n)
	}
	same("batch updated")
	mustDo(t, s.RemoveUser("u0@x.org"))
	mustDo(t, s.AddUsers("b", []NewUser{{EmailAddress: "new@x.org", UserName: "n", Password: "p"}}))
	same("removed and added")
	mustDo(t, s.RemoveBatch("b"))
	same("batch removed")
}

// Check finds a status in the batch index that is not the user's.
func TestCheck_FindsBatchIndexStatusDrift(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	mustDo(t, s.CreateBatch(Batch{Name: "a"}, []NewUser{{EmailAddress: "u@x.org", UserName: "u", Password: "p"}}))
	mustDo(t, s.Check())
	mustDo(t, s.db.Update(func(tx *bolt.Tx) error {
		return sub(tx, bBatchUsers, "a").Put([]byte("u@x.org"), []byte(model.UserSynced))
	}))
	if err := s.Check(); err == nil || !strings.Contains(err.Error(), `has status "Synced", the user is Created`) {
		t.Fatalf("Check after breaking the batch index's status: %v", err)
	}
}

// A schema-5 file has no statuses in its batch index: opening it fills
// them in.
func TestOpen_UpgradesSchema5BatchIndexStatuses(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	mustDo(t, s.CreateBatch(Batch{Name: "a"}, []NewUser{{EmailAddress: "u@x.org", UserName: "u", Password: "p"}, {EmailAddress: "v@x.org", UserName: "v", Password: "p"}}))
	_, err := s.UpdateUser("v@x.org", func(u *User) error { u.Status = model.UserSynced; return nil })
	mustDo(t, err)
	mustDo(t, s.db.Update(func(tx *bolt.Tx) error {
		idx := sub(tx, bBatchUsers, "a")
		for _, k := range []string{"u@x.org", "v@x.org"} {
			if err := idx.Put([]byte(k), nil); err != nil {
				return err
			}
		}
		return tx.Bucket(bMeta).Put([]byte("schema"), u64(5))
	}))
	mustDo(t, s.Close())
	s = openTest(t, dir)
	defer s.Close()
	mustDo(t, s.Check())
	got, n, err := s.BatchUserStatuses("a")
	mustDo(t, err)
	if n != 2 || got[model.UserCreated] != 1 || got[model.UserSynced] != 1 {
		t.Fatalf("statuses after the upgrade: %v (%d users)", got, n)
	}
}
