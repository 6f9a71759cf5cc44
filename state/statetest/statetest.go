package statetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/imapmig/imapmig/state"
)

// Key is a fixed sealing key for tests.
var Key = bytes.Repeat([]byte{7}, 32)

// MustOpen opens a store in a temp dir; at cleanup it runs Store.Check and
// closes the store.
func MustOpen(t testing.TB) *state.Store {
	t.Helper()
	return MustOpenDir(t, t.TempDir())
}

// MustOpenDir is MustOpen on a given directory (to reopen a store).
func MustOpenDir(t testing.TB, dir string) *state.Store {
	t.Helper()
	s, err := state.Open(dir, Key, &state.Options{NoSync: true, MaxBatchDelay: time.Millisecond})
	if err != nil {
		t.Fatalf("open state: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Check(); err != nil {
			t.Errorf("state invariants: %v", err)
		}
		_ = s.Close()
	})
	return s
}

// PutEndpoint saves the endpoint "ep" on host, allowing conc migrations and
// conc incremental syncs, and the tenant "tn": the pair an engine test's
// batches name.
func PutEndpoint(t testing.TB, st *state.Store, host string, conc int) {
	t.Helper()
	if err := st.PutEndpoint(state.Endpoint{Name: "ep", Host: host, MaxConcurrentMigrations: conc, MaxConcurrentIncrementalSyncs: conc}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutTenant(state.Tenant{Name: "tn"}); err != nil {
		t.Fatal(err)
	}
}
