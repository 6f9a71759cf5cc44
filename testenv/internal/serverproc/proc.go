package serverproc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// watchdog runs a program and stops it (SIGTERM) when fd 0, a pipe from the
// test process, closes: at Close, or when the test process dies (a timed-out
// test never runs its cleanup). The shell exits when the program does.
// A shell is used rather than a parent-death signal because a server that
// drops privileges clears that signal; the shell keeps the caller's identity.
const watchdog = `exec 3<&0; "$0" "$@" </dev/null & m=$!; (read _ <&3; kill -TERM $m 2>/dev/null) & wait $m`

// Spec describes the program Start runs.
type Spec struct {
	// Args is the program and its arguments.
	Args []string
	// Dir is the working directory; default: the caller's.
	Dir string
	// Env is the environment; default: the caller's.
	Env []string
	// Output is the file that receives stdout and stderr (children the
	// server forks inherit it); it is created or truncated.
	Output string
	// ProcessGroup puts the shell and the server in their own process
	// group, so that KillGroup reaches every process the server forked.
	ProcessGroup bool
}

// Proc is a server running under the watchdog shell.
type Proc struct {
	cmd    *exec.Cmd
	stdin  io.Closer
	exited chan struct{}
}

// Start starts spec's program under the watchdog shell.
func Start(spec Spec) (*Proc, error) {
	if len(spec.Args) == 0 {
		return nil, fmt.Errorf("serverproc: no program")
	}
	out, err := os.Create(spec.Output)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	cmd := exec.Command("/bin/sh", append([]string{"-c", watchdog}, spec.Args...)...)
	cmd.Dir = spec.Dir
	cmd.Env = spec.Env
	cmd.Stdout, cmd.Stderr = out, out
	if spec.ProcessGroup {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Proc{cmd: cmd, stdin: stdin, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(p.exited) }()
	return p, nil
}

// Exited is closed when the shell (and so the server) has exited.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// State is the shell's exit state; nil before Exited is closed.
func (p *Proc) State() *os.ProcessState {
	select {
	case <-p.exited:
		return p.cmd.ProcessState
	default:
		return nil
	}
}

// Close asks the server to stop (SIGTERM through the watchdog) and waits up
// to timeout for it to exit. It reports whether it exited.
func (p *Proc) Close(timeout time.Duration) bool {
	p.stdin.Close()
	select {
	case <-p.exited:
		return true
	case <-time.After(timeout):
		return false
	}
}

// KillGroup sends SIGKILL to the process group (Spec.ProcessGroup).
func (p *Proc) KillGroup() {
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
}

// ListenError is returned by WaitListening.
type ListenError struct {
	// Port is the port that did not accept a connection.
	Port int
	// Exited is true when the server exited before listening, false when
	// the wait timed out or ctx ended.
	Exited bool
	// Err is the last dial error.
	Err error
}

func (e *ListenError) Error() string {
	if e.Exited {
		return fmt.Sprintf("exited before listening on port %d", e.Port)
	}
	return fmt.Sprintf("did not listen on port %d: %v", e.Port, e.Err)
}

func (e *ListenError) Unwrap() error { return e.Err }

// WaitListening waits until every port on host accepts a TCP connection,
// the server exits, timeout passes or ctx ends (a *ListenError).
func (p *Proc) WaitListening(ctx context.Context, host string, timeout time.Duration, ports ...int) error {
	deadline := time.Now().Add(timeout)
	for _, port := range ports {
		for {
			c, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(port)), time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-p.exited:
				return &ListenError{Port: port, Exited: true, Err: err}
			default:
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return &ListenError{Port: port, Err: err}
			}
			// A polled predicate with a deadline: nothing signals "listening".
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// RandomHex returns n random bytes in hex (for passwords and names).
func RandomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// tailBytes is how much of a log Tail shows.
const tailBytes = 4000

// Tail returns, for failure messages, the last bytes of each named file in
// dir that exists and is not empty, each as "\n<name>:\n<tail>".
func Tail(dir string, names ...string) string {
	var s string
	for _, f := range names {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || len(data) == 0 {
			continue
		}
		if len(data) > tailBytes {
			data = data[len(data)-tailBytes:]
		}
		s += "\n" + f + ":\n" + string(data)
	}
	return s
}

// ChownTree gives root and everything below it to uid:gid when running as
// root (the servers' processes run unprivileged); otherwise it does nothing.
func ChownTree(root string, uid, gid int) error {
	if os.Geteuid() != 0 {
		return nil
	}
	return filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}
