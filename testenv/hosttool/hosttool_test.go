package hosttool

import (
	"path/filepath"
	"runtime"
	"testing"
)

// TestNeed_FindsAPresentProgram: the first of the names that is there
// (sh is on every machine the tests run on).
func TestNeed_FindsAPresentProgram(t *testing.T) {
	if got := Need(t, "dash", "imapmig-no-such-program", "sh"); !filepath.IsAbs(got) || filepath.Base(got) != "sh" {
		t.Fatalf("Need = %q, want the path of sh", got)
	}
}

// TestNeed_SkipsOrFailsWithoutIt: without the program the test is skipped
// outside CI and fails in CI.
func TestNeed_SkipsOrFailsWithoutIt(t *testing.T) {
	for _, ci := range []string{"", "1"} {
		t.Run("CI="+ci, func(t *testing.T) {
			t.Setenv("CI", ci)
			rec := &recorder{TB: t}
			done := make(chan struct{})
			go func() { // Skipf and Fatalf end the goroutine that calls them
				defer close(done)
				Need(rec, "nothing", "imapmig-no-such-program")
			}()
			<-done
			if ci == "" && rec.how != "skip" || ci != "" && rec.how != "fatal" {
				t.Errorf("CI=%q: %q, want %s", ci, rec.how, map[bool]string{true: "skip", false: "fatal"}[ci == ""])
			}
		})
	}
}

// recorder notes whether Need skipped or failed instead of doing it.
type recorder struct {
	testing.TB
	how string
}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(string, ...any) {
	r.how = "skip"
	runtime.Goexit()
}
func (r *recorder) Fatalf(string, ...any) {
	r.how = "fatal"
	runtime.Goexit()
}
