package interop_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// BenchmarkListing_1000Folders measures what the two ways of listing a
// user's folders with their status cost the server, for a user with 1,000
// folders, each op on a fresh session: one LIST-STATUS, or (as imapsrc does
// on Dovecot and without LIST-STATUS) STATUS INBOX, a plain LIST and a
// STATUS per other folder with window STATUS commands in flight (window 1
// is the old sequential fallback). It reports the server's CPU per op
// (server-cpu-ms/op), which does not depend on the machine's load as the
// wall time does. IMAPMIG_BENCH_FOLDERS changes the folder count.
func BenchmarkListing_1000Folders(b *testing.B) {
	folders := envInt("IMAPMIG_BENCH_FOLDERS", 1000)
	for _, name := range []string{"dovecot-full", "cyrus-alt"} {
		b.Run(name, func(b *testing.B) {
			s := serverNamed(b, name)
			user, _ := s.NewUser(b)
			ctx := context.Background()
			err := s.Seeder.With(ctx, user, func(c *imapclient.Client) error {
				for i := 0; i < folders; i++ {
					if err := c.Create(s.Layout.Name(fmt.Sprintf("Ordner %04d", i)), nil).Wait(); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			statusOpts := &imap.StatusOptions{NumMessages: true, UIDNext: true, UIDValidity: true, HighestModSeq: s.CondStore}
			// The server's first look at the new folders (building its
			// list index, opening each folder once) is not timed.
			err = s.Seeder.With(ctx, user, func(c *imapclient.Client) error {
				for _, window := range []int{0, 64} {
					if _, err := listWith(c, window, statusOpts); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			for _, v := range []struct {
				name   string
				window int // 0: LIST-STATUS
			}{{"list-status", 0}, {"pipelined-1", 1}, {"pipelined-64", 64}} {
				b.Run(v.name, func(b *testing.B) {
					var cpu float64
					for b.Loop() {
						b.StopTimer()
						c, err := s.Seeder.Dial(ctx, user)
						if err != nil {
							b.Fatal(err)
						}
						c0, err := s.CPU()
						if err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
						n, err := listWith(c, v.window, statusOpts)
						if err != nil {
							b.Fatal(err)
						}
						b.StopTimer()
						if n < folders {
							b.Fatalf("%d statuses for %d folders", n, folders)
						}
						c.Logout().Wait()
						c.Close()
						c1, err := s.CPU()
						if err != nil {
							b.Fatal(err)
						}
						cpu += c1 - c0
						b.StartTimer()
					}
					b.ReportMetric(cpu*1000/float64(b.N), "server-cpu-ms/op")
				})
			}
		})
	}
}

// listWith lists c's folders with their status: by LIST-STATUS when window
// is 0, else STATUS INBOX, a plain LIST, and STATUS for the others with
// window commands in flight. It returns how many statuses came back.
func listWith(c *imapclient.Client, window int, opts *imap.StatusOptions) (int, error) {
	if window == 0 {
		l, err := c.List("", "*", &imap.ListOptions{ReturnStatus: opts}).Collect()
		n := 0
		for _, d := range l {
			if d.Status != nil {
				n++
			}
		}
		return n, err
	}
	inbox := c.Status("INBOX", opts)
	l, err := c.List("", "*", nil).Collect()
	if err != nil {
		return 0, err
	}
	if _, err := inbox.Wait(); err != nil {
		return 0, err
	}
	n := 1
	var queue []*imapclient.StatusCommand
	for _, d := range l {
		if d.Mailbox == "INBOX" {
			continue
		}
		if len(queue) == window {
			if _, err := queue[0].Wait(); err != nil {
				return n, err
			}
			queue, n = queue[1:], n+1
		}
		queue = append(queue, c.Status(d.Mailbox, opts))
	}
	for _, cmd := range queue {
		if _, err := cmd.Wait(); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// serverNamed is the matrix server called name, started on first use.
func serverNamed(tb testing.TB, name string) *server {
	tb.Helper()
	for _, m := range matrix {
		if m.name == name {
			return m.get(tb)
		}
	}
	tb.Fatalf("no server %q in the matrix", name)
	return nil
}

// envInt is the environment variable name as a number, or def.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
