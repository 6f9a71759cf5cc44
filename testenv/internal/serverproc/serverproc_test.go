package serverproc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// A generous bound for a loaded 2-core machine; nothing waits for it to pass.
const patience = 60 * time.Second

func TestProc_CloseStopsTheServer(t *testing.T) {
	p, err := Start(Spec{Args: []string{"sleep", "600"}, Output: filepath.Join(t.TempDir(), "out")})
	if err != nil {
		t.Fatal(err)
	}
	if p.State() != nil {
		t.Fatal("State before exit is not nil")
	}
	if !p.Close(patience) {
		t.Fatal("the watchdog did not stop the program when its stdin closed")
	}
	if p.State() == nil {
		t.Fatal("no State after exit")
	}
}

func TestWaitListening(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	free, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()

	p, err := Start(Spec{Args: []string{"sleep", "600"}, Output: filepath.Join(dir, "sleep.out")})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(patience)
	if err := p.WaitListening(context.Background(), "127.0.0.1", patience, port); err != nil {
		t.Fatalf("listening port: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var le *ListenError
	if err := p.WaitListening(ctx, "127.0.0.1", patience, port, free); !errors.As(err, &le) || le.Port != free || le.Exited {
		t.Fatalf("closed port, ended ctx: %v, want a ListenError for port %d, not exited", err, free)
	}

	q, err := Start(Spec{Args: []string{"sh", "-c", "echo started; exit 3"}, Output: filepath.Join(dir, "exit.out")})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.WaitListening(context.Background(), "127.0.0.1", patience, free); !errors.As(err, &le) || !le.Exited {
		t.Fatalf("exiting program: %v, want a ListenError with Exited", err)
	}
	if st := q.State(); st == nil || st.ExitCode() != 3 {
		t.Errorf("exit state %v, want code 3", st)
	}
	if got := Tail(dir, "exit.out"); got != "\nexit.out:\nstarted\n" {
		t.Errorf("output %q", got)
	}
}

func TestTail(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("a", 10) + strings.Repeat("b", tailBytes)
	os.WriteFile(filepath.Join(dir, "long.log"), []byte(long), 0o644)
	os.WriteFile(filepath.Join(dir, "empty.log"), nil, 0o644)
	got := Tail(dir, "missing.log", "empty.log", "long.log")
	if want := "\nlong.log:\n" + strings.Repeat("b", tailBytes); got != want {
		t.Errorf("Tail = %d bytes starting %q, want the last %d bytes of long.log only", len(got), got[:min(len(got), 20)], tailBytes)
	}
}

func TestWorkdir(t *testing.T) {
	d, own, err := Workdir("", "serverproc-test-")
	if err != nil || !own {
		t.Fatalf("Workdir(\"\") = %q, %v, %v", d, own, err)
	}
	defer os.RemoveAll(d)
	if fi, err := os.Stat(d); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("temp dir mode %v, %v", fi, err)
	}
	given := t.TempDir()
	if d, own, err := Workdir(given, "x"); d != given || own || err != nil {
		t.Errorf("Workdir(given) = %q, %v, %v", d, own, err)
	}
}

type fakeServer struct{ stops int }

func (f *fakeServer) Stop() error { f.stops++; return nil }

// recTB records how Get ended the test; Skipf and Fatalf end the goroutine
// like the real ones.
type recTB struct {
	testing.TB
	how string
}

func (r *recTB) Helper() {}
func (r *recTB) Skipf(format string, args ...any) {
	r.how = "skip: " + fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recTB) Fatalf(format string, args ...any) {
	r.how = "fatal: " + fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func getIn(t *testing.T, l *Lazy[*fakeServer], spec LazySpec[*fakeServer]) (*fakeServer, string) {
	r := &recTB{TB: t}
	var srv *fakeServer
	done := make(chan struct{})
	go func() { defer close(done); srv = l.Get(r, spec) }()
	<-done
	return srv, r.how
}

func TestLazy(t *testing.T) {
	errMissing := errors.New("not installed")
	starts := 0
	spec := LazySpec[*fakeServer]{
		Timeout:      patience,
		NotInstalled: errMissing,
		Needs:        "a fake",
		Name:         "Fake",
	}

	t.Run("StartsOnce", func(t *testing.T) {
		var l Lazy[*fakeServer]
		spec := spec
		spec.Start = func(context.Context) (*fakeServer, error) { starts++; return &fakeServer{}, nil }
		a, how := getIn(t, &l, spec)
		b, _ := getIn(t, &l, spec)
		if how != "" || a == nil || a != b || starts != 1 {
			t.Fatalf("Get: %v %p %p, %d starts", how, a, b, starts)
		}
		l.Close()
		if a.stops != 1 {
			t.Errorf("Close stopped it %d times", a.stops)
		}
	})
	t.Run("NotInstalled", func(t *testing.T) {
		spec := spec
		spec.Start = func(context.Context) (*fakeServer, error) { return nil, fmt.Errorf("x: %w", errMissing) }
		for _, tc := range []struct {
			ci   string
			skip bool
			want string
		}{
			{"", true, "skip: this test needs a fake (skipped because CI is not set): x: not installed"},
			{"false", true, "skip: this test needs a fake (skipped because CI is not set)"},
			{"true", true, "fatal: this test needs a fake: x: not installed"},
			{"", false, "fatal: this test needs a fake: x: not installed"},
		} {
			t.Setenv("CI", tc.ci)
			spec.SkipOutsideCI = tc.skip
			var l Lazy[*fakeServer]
			if _, how := getIn(t, &l, spec); !strings.HasPrefix(how, tc.want) {
				t.Errorf("CI=%q skip=%v: %q, want %q", tc.ci, tc.skip, how, tc.want)
			}
			l.Close() // never started: must not call Stop on a nil server
		}
	})
	t.Run("OtherError", func(t *testing.T) {
		spec := spec
		spec.Start = func(context.Context) (*fakeServer, error) { return nil, errors.New("port in use") }
		var l Lazy[*fakeServer]
		if _, how := getIn(t, &l, spec); how != "fatal: starting Fake: port in use" {
			t.Errorf("got %q", how)
		}
	})
}

func TestSetUp(t *testing.T) {
	d, own, err := Workdir("", "serverproc-setup-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(d)
	var ran []int
	step := func(i int, err error) func() error { return func() error { ran = append(ran, i); return err } }
	if err := SetUp(d, own, step(1, nil), step(2, nil)); err != nil || len(ran) != 2 {
		t.Fatalf("SetUp = %v, ran %v", err, ran)
	}
	if _, err := os.Stat(d); err != nil {
		t.Fatalf("dir gone after success: %v", err)
	}
	ran = nil
	boom := errors.New("boom")
	if err := SetUp(d, false, step(1, boom), step(2, nil)); err != boom || len(ran) != 1 {
		t.Fatalf("SetUp = %v, ran %v; want boom after step 1", err, ran)
	}
	if _, err := os.Stat(d); err != nil {
		t.Fatalf("a dir the caller does not own was removed: %v", err)
	}
	if err := SetUp(d, own, step(3, boom)); err != boom {
		t.Fatalf("SetUp = %v", err)
	}
	if _, err := os.Stat(d); !os.IsNotExist(err) {
		t.Fatalf("own dir not removed after a failed step: %v", err)
	}
}
