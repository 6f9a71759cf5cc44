package state_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/imapmig/imapmig/migrate/model"
	"github.com/imapmig/imapmig/state"
	"github.com/imapmig/imapmig/state/statetest"
)

// store50k opens a store with ten batches of 5,000 users.
func store50k(b *testing.B) *state.Store {
	b.Helper()
	s := statetest.MustOpen(b)
	for i := 0; i < 10; i++ {
		if err := s.CreateBatch(state.Batch{Name: fmt.Sprintf("wave%d", i)}, users(5000, fmt.Sprintf("w%d-", i))); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// BenchmarkUsers_50000 lists every user of a 50,000-user store: what the
// scheduler and `user list` pay.
func BenchmarkUsers_50000(b *testing.B) { benchUsers(b, "", 50000) }

// BenchmarkUsersOfBatch_5000Of50000 lists one batch's 5,000 users in a
// 50,000-user store (the batch index at work).
func BenchmarkUsersOfBatch_5000Of50000(b *testing.B) { benchUsers(b, "wave3", 5000) }

// benchUsers lists the users of batch ("": all) in a 50,000-user store;
// there must be want.
func benchUsers(b *testing.B, batch string, want int) {
	s := store50k(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		us, err := s.Users(batch)
		if err != nil || len(us) != want {
			b.Fatal(len(us), err)
		}
	}
}

// BenchmarkDue_First20Of50000Queued is what one scheduler look costs when
// 50,000 users wait in the queue and 20 slots are free.
func BenchmarkDue_First20Of50000Queued(b *testing.B) {
	s := store50k(b)
	us, _ := s.Users("")
	t0 := time.Now().Add(-time.Hour)
	for i, u := range us {
		if _, err := s.UpdateUser(u.EmailAddress, func(u *state.User) error {
			u.Status, u.QueuedAt = model.UserQueued, t0.Add(time.Duration(i)*time.Millisecond)
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		if err := s.Due(time.Now(), func(state.User) bool { n++; return n < 20 }); err != nil || n != 20 {
			b.Fatal(n, err)
		}
	}
}

// BenchmarkUpdateBatchUsers_50000 queues one batch of 50,000 users: what
// `batch start` costs (a chunk of users per transaction).
func BenchmarkUpdateBatchUsers_50000(b *testing.B) {
	s := statetest.MustOpen(b)
	if err := s.CreateBatch(state.Batch{Name: "big"}, users(50000, "u")); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		want := model.UserQueued
		if i%2 == 1 {
			want = model.UserCreated
		}
		n, err := s.UpdateBatchUsers("big", func(u *state.User) bool { u.Status = want; return true })
		if err != nil || n != 50000 {
			b.Fatal(n, err)
		}
	}
}

// BenchmarkUpdateUser_2000OneByOne is one transaction per user, as `batch
// start` did before UpdateBatchUsers (2,000 users: 50,000 take minutes).
func BenchmarkUpdateUser_2000OneByOne(b *testing.B) {
	s := statetest.MustOpen(b)
	if err := s.CreateBatch(state.Batch{Name: "big"}, users(2000, "u")); err != nil {
		b.Fatal(err)
	}
	us, _ := s.Users("big")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, u := range us {
			if _, err := s.UpdateUser(u.EmailAddress, func(u *state.User) error { u.Status = model.UserQueued; return nil }); err != nil {
				b.Fatal(err)
			}
		}
	}
}
