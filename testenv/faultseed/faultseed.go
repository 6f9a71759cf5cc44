package faultseed

import (
	"hash/fnv"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
)

// Default is the seed when IMAPMIG_FAULT_SEED is not set.
const Default = 14

// Rand returns the test's own stream of the seed, and logs the seed.
func Rand(t testing.TB) *rand.Rand {
	t.Helper()
	seed := uint64(Default)
	if s := os.Getenv("IMAPMIG_FAULT_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("IMAPMIG_FAULT_SEED=%q: %v", s, err)
		}
		seed = n
	}
	t.Logf("fault positions from seed %d (replay with IMAPMIG_FAULT_SEED=%d)", seed, seed)
	h := fnv.New64a()
	h.Write([]byte(t.Name()))
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}
