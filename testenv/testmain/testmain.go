package testmain

import (
	"os"
	"testing"
)

// Closer is a shared server (its Close stops it if it was started).
type Closer interface{ Close() }

// Run runs the package's tests, closes servers and exits with the tests'
// code:
//
//	var dc dovecot.Shared
//	func TestMain(m *testing.M) { testmain.Run(m, &dc) }
func Run(m *testing.M, servers ...Closer) {
	os.Exit(run(m, servers))
}

func run(m interface{ Run() int }, servers []Closer) int {
	code := m.Run()
	for _, s := range servers {
		s.Close()
	}
	return code
}
