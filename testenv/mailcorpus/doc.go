// Package mailcorpus finds a corpus of real-world mail that nobody in this
// project wrote: the test messages shipped inside well-known Go mail modules
// (the testdata of github.com/jhillyerd/enmime, a parser built for malformed
// mail) and Go's own mime/multipart testdata. The modules are fetched with
// `go mod download` into the module cache, so the corpus is found on a fresh
// machine that can reach the module proxy.
//
// Its test (corpus_test.go) appends every message into a real Dovecot,
// migrates it with imapsrc and graphdst into the Graph emulator, and checks
// each item against an independent parse of the source by enmime (the
// product parses with mailparse and go-message; the oracle shares no code
// with it). docs/FIDELITY.md gives the counts.
//
// It is test tooling: no product package may import it.
package mailcorpus
