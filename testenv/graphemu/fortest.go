package graphemu

// TB is the part of testing.TB that StartForTest uses (graphemu is also
// linked into the imapmig binary, for `imapmig demo`, so it does not import
// package testing).
type TB interface {
	Helper()
	Fatal(args ...any)
	Cleanup(func())
}

// StartForTest is New and Start for a test: it fails tb when the emulator
// cannot start and closes it when the test ends.
func StartForTest(tb TB, opts Options) *Server {
	tb.Helper()
	s, err := New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}
