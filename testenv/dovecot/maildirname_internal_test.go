package dovecot

import (
	"strings"
	"testing"
)

// elfHash is Dovecot's maildir_filename_base_hash: the ELF hash of a file
// name up to its info part (':').
func elfHash(s string) uint32 {
	var h uint32
	for i := 0; i < len(s) && s[i] != ':'; i++ {
		h = h<<4 + uint32(s[i])
		if g := h & 0xf0000000; g != 0 {
			h ^= g >> 24
			h ^= g
		}
	}
	return h
}

// TestMaildirName_HashesEvenly checks that a seeded folder of 100,000
// files spreads over Dovecot's file-name hash table (one bucket per file,
// the size Dovecot's hash table grows to) as its own deliveries do: about
// two probes per lookup, for process ids of every length. The earlier
// names (the sequence number twice) needed 100–400 for most 5-digit pids.
func TestMaildirName_HashesEvenly(t *testing.T) {
	const n = 100000
	size := uint32(100003) // a prime, as Dovecot's tables are
	for _, pid := range []int{777, 4242, 18306, 19857, 31337, 99999, 123456, 4194303} {
		buckets := make([]int, size)
		base := int64(1796102518)
		for i := int64(1); i <= n; i++ {
			name := maildirName(base+(i-1)/10000, i, pid, 180, "S")
			if !strings.HasSuffix(name, ":2,S") {
				t.Fatalf("name %q has no info part", name)
			}
			buckets[elfHash(name)%size]++
		}
		var sq int
		for _, c := range buckets {
			sq += c * c
		}
		if probes := float64(sq) / n; probes > 3 {
			t.Errorf("pid %d: %.1f probes per lookup in Dovecot's file-name hash (want about 2)", pid, probes)
		}
	}
}
