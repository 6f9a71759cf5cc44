package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
)

// exitError carries a process exit code through the command functions.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes one command line and returns the process exit code: 0, 1 for
// a failure, 2 for a usage error (no or unknown command).
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	root := newRoot(stdin, stdout, stderr)
	root.SetArgs(normalizeArgs(root, args))
	err := root.ExecuteContext(ctx)
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	case strings.HasPrefix(err.Error(), "unknown command"):
		fmt.Fprintln(stderr, "imapmig:", err)
		fmt.Fprintln(stderr, "Run 'imapmig --help' for the commands.")
		return 2
	default:
		fmt.Fprintln(stderr, "imapmig:", err)
		return 1
	}
}
