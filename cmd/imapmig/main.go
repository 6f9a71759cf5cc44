// Command imapmig migrates IMAP mailboxes into Exchange Online through
// Microsoft Graph and keeps them in sync until cutover.
//
// One binary: `imapmig serve` runs the daemon (HTTP API, scheduler); the
// other verbs are the operator's CLI and talk to the daemon's API, except
// `csv validate` (offline), `demo` and `emulator`.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// exitError carries a process exit code through the command functions.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

const usage = `imapmig migrates IMAP mailboxes into Exchange Online (Microsoft Graph).

Daemon:
  imapmig serve --config FILE                run the daemon (API, scheduler)

Batches (talk to the daemon):
  imapmig batch new NAME --endpoint E --tenant T --csv FILE [--autostart] [--skip-invalid-rows]
                [--exclude-folders A,B] [--include-folders A,B] [--received-after DATE]
                [--start-after TIME] [--complete-after TIME] [--sync-interval 24h]
                [--notification-emails a@x,b@y] [--migrate-deleted-items=false]
  imapmig batch list|get NAME [-o json]
  imapmig batch watch NAME [--interval 2s] [--follow]   live progress
  imapmig batch start|stop|syncnow|complete|remove|approve NAME
  imapmig batch add-users NAME --csv FILE [--skip-invalid-rows]
  imapmig batch events NAME [--last N] [-o json]

Users:
  imapmig user list [--batch NAME] [-o json]
  imapmig user get EMAIL [-o json]
  imapmig user syncnow|stop|remove|approve EMAIL
  imapmig user skipped EMAIL [-o json|csv]
  imapmig user verify EMAIL [-o json]        compare source and target now; exit 1 on differences

Other:
  imapmig endpoint list [-o json]
  imapmig endpoint test NAME [--user EMAIL] [-o json]
  imapmig stats [-o json]
  imapmig csv validate FILE                  offline; exit 0 when valid, 1 otherwise
  imapmig demo [--users N] [--messages N]    run everything locally with generated mail
  imapmig emulator graph [--listen ADDR]     run the Graph emulator (demo, docker-compose)

Client flags (any verb that talks to the daemon):
  --config FILE   read listen address and data_dir from the daemon's config
                  (default $IMAPMIG_CONFIG, else ./imapmig.yaml when present)
  --api URL       daemon URL (default $IMAPMIG_API_URL, else from the config,
                  else http://127.0.0.1:8470)
  Token: $IMAPMIG_API_TOKEN, else the api.token file in the config's data_dir.
`

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	var ee exitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		os.Exit(ee.code)
	default:
		fmt.Fprintln(os.Stderr, "imapmig:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError{2}
	}
	verb, rest := args[0], args[1:]
	switch verb {
	case "serve":
		return cmdServe(rest, stderr)
	case "batch":
		return cmdBatch(rest, stdout)
	case "user":
		return cmdUser(rest, stdout)
	case "endpoint":
		return cmdEndpoint(rest, stdout)
	case "stats":
		return cmdStats(rest, stdout)
	case "csv":
		return cmdCSV(rest, stdout, stderr)
	case "demo":
		return cmdDemo(rest, stdout, stderr)
	case "emulator":
		return cmdEmulator(rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "unknown command %q\n\n%s", verb, usage)
	return exitError{2}
}

// parseFlags parses flags anywhere among the arguments (`get NAME -o json`
// as well as `get -o json NAME`) and returns the positional ones.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, fmt.Errorf("%s: %w", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// needArgs checks the number of positional arguments.
func needArgs(pos []string, n int, what string) error {
	if len(pos) != n {
		return fmt.Errorf("want %s, got %q", what, strings.Join(pos, " "))
	}
	return nil
}
