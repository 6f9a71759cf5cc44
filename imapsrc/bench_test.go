package imapsrc_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/imapmig/imapmig/imapsrc"
	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/testenv/dovecot"
	"github.com/imapmig/imapmig/testenv/mailgen"
)

// BenchmarkFetch_35MB streams a 35 MB message into a file spool; allocs/op
// must stay well under 1 MB.
func BenchmarkFetch_35MB(b *testing.B) {
	srv, u := dovecotUser(b)
	raw := bigMessage("big", 35<<20)
	if err := srv.WriteMaildir(u.Name, []string{"INBOX"}, []mailgen.Message{{Raw: raw, InternalDate: time.Now()}}); err != nil {
		b.Fatal(err)
	}
	raw = nil
	cfg := dovecotConfig(srv, imapsrc.SecuritySSL)
	cfg.SpoolDir = b.TempDir()
	s := connectUser(b, newConnector(b, cfg), u)
	ctx := context.Background()
	inbox := folderOf(b, s, "INBOX")
	// Warm up: select the folder and let Dovecot index it.
	if _, err := s.UIDs(ctx, inbox); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(35 << 20)
	b.ReportAllocs()
	for b.Loop() {
		body, err := s.Fetch(ctx, inbox, 1)
		if err != nil {
			b.Fatal(err)
		}
		if imapsrc.SpoolPath(body) == "" || body.Size() < 35<<20-100 {
			b.Fatalf("not spooled to a file: size %d", body.Size())
		}
		body.Close()
	}
}

var big100k struct {
	once sync.Once
	user *dovecot.User
	err  error
}

const bigCount = 100_000

// seed100k writes 100,000 small messages into one folder as maildir files.
func seed100k(b *testing.B, srv *dovecot.Server) *dovecot.User {
	big100k.once.Do(func() {
		u, err := srv.NewUser("big", dovecot.LayoutSlash)
		if err != nil {
			big100k.err = err
			return
		}
		msgs := make([]mailgen.Message, 0, 10_000)
		base := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := 0; i < bigCount; i++ {
			raw := fmt.Appendf(nil, "From: a%d@example.org\r\nTo: b@example.org\r\nSubject: message %d\r\nDate: Mon, 02 Jan 2006 15:04:05 +0000\r\nMessage-ID: <%d@big.example.org>\r\n\r\nbody %d\r\n", i%97, i, i, i)
			msgs = append(msgs, mailgen.Message{Raw: raw, Flags: []string{`\Seen`}, InternalDate: base.Add(time.Duration(i) * time.Minute)})
			if len(msgs) == cap(msgs) {
				if err := srv.WriteMaildir(u.Name, []string{"Big"}, msgs); err != nil {
					big100k.err = err
					return
				}
				msgs = msgs[:0]
			}
		}
		// Let Dovecot index the folder once, as a real server has.
		c, err := srv.Client(context.Background(), u.Name)
		if err != nil {
			big100k.err = err
			return
		}
		defer c.Close()
		if _, err := c.Select("Big", nil).Wait(); err != nil {
			big100k.err = err
			return
		}
		big100k.user = u
	})
	if big100k.err != nil {
		b.Fatal(big100k.err)
	}
	return big100k.user
}

// BenchmarkFolders_100k lists folders with status (LIST-STATUS) of a
// mailbox holding a 100,000-message folder.
func BenchmarkFolders_100k(b *testing.B) {
	srv := dc.Get(b)
	u := seed100k(b, srv)
	s := connectUser(b, newConnector(b, dovecotConfig(srv, imapsrc.SecuritySSL)), u)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		fs, err := s.Folders(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if f := findFolder(b, fs, "Big"); f.Messages != bigCount {
			b.Fatalf("Big has %d messages", f.Messages)
		}
	}
}

// BenchmarkMetas_100k reads the metadata (UID, FLAGS, INTERNALDATE, SIZE,
// MODSEQ, header hash) of all 100,000 messages of one folder.
func BenchmarkMetas_100k(b *testing.B) {
	srv := dc.Get(b)
	u := seed100k(b, srv)
	cfg := dovecotConfig(srv, imapsrc.SecuritySSL)
	cfg.CommandTimeout = 2 * time.Minute // the daemon's default: a loaded machine's cold Dovecot may be silent for 30 s
	s := connectUser(b, newConnector(b, cfg), u)
	ctx := context.Background()
	big := folderOf(b, s, "Big")
	b.ReportAllocs()
	// The first read is cold (Dovecot has only indexed the folder); the
	// others are warm. Wall time and Dovecot's CPU of each are reported.
	var coldWall, dovecotCold, dovecotWarm float64
	first := true
	for b.Loop() {
		d0, err := srv.CPUSeconds()
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		n := 0
		if err := s.Metas(ctx, big, 1, 0, func(m migrate.MessageMeta) error {
			if n == 0 && first {
				b.ReportMetric(time.Since(t0).Seconds(), "cold-first-meta-s")
			}
			n++
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		if n != bigCount {
			b.Fatalf("%d metas, want %d", n, bigCount)
		}
		d1, err := srv.CPUSeconds()
		if err != nil {
			b.Fatal(err)
		}
		if first {
			coldWall, dovecotCold, first = time.Since(t0).Seconds(), d1-d0, false
		} else {
			dovecotWarm += d1 - d0
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/bigCount, "ns/msg")
	b.ReportMetric(coldWall, "cold-s")
	b.ReportMetric(dovecotCold, "dovecot-cold-cpu-s")
	if b.N > 1 {
		b.ReportMetric(dovecotWarm/float64(b.N-1), "dovecot-warm-cpu-s/op")
	}
}

// BenchmarkFolders_INBOX100k lists, on a fresh session per op as a delta
// pass does, the folders of a user whose INBOX holds 100,000 messages:
// "dovecot" the way imapsrc lists on Dovecot (STATUS INBOX first, plain
// LIST, pipelined STATUS), "list-status" the way it lists on a server that
// has LIST-STATUS and does not name itself Dovecot (here Dovecot behind a
// proxy that drops its ID answer). It reports Dovecot's CPU per op
// (connection, login and listing; dovecot-cpu-ms/op) and the wall time of
// Folders alone (folders-ms/op).
func BenchmarkFolders_INBOX100k(b *testing.B) {
	srv := dc.Get(b)
	u := seedINBOX100k(b, srv)
	for _, tc := range []struct {
		name string
		q    quirks
	}{{"dovecot", quirks{}}, {"list-status", quirks{noID: true}}} {
		b.Run(tc.name, func(b *testing.B) {
			p := startQuirkProxy(b, srv.Addr(), tc.q)
			conn := newConnector(b, quirkConfig(p))
			ctx := context.Background()
			var folders time.Duration
			d0, err := srv.CPUSeconds()
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				s, err := conn.Connect(ctx, migrate.Login{UserName: u.Name, Password: u.Password})
				if err != nil {
					b.Fatal(err)
				}
				t0 := time.Now()
				fs, err := s.Folders(ctx)
				folders += time.Since(t0)
				if err != nil {
					b.Fatal(err)
				}
				if f := findFolder(b, fs, "INBOX"); f.Messages != bigCount {
					b.Fatalf("INBOX has %d messages", f.Messages)
				}
				s.Close()
			}
			d1, err := srv.CPUSeconds()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric((d1-d0)*1000/float64(b.N), "dovecot-cpu-ms/op")
			b.ReportMetric(float64(folders.Microseconds())/1000/float64(b.N), "folders-ms/op")
		})
	}
}

var inbox100k struct {
	once sync.Once
	user *dovecot.User
	err  error
}

// seedINBOX100k writes 100,000 small messages into a new user's INBOX as
// maildir files, creates a few other folders and lets Dovecot index INBOX.
func seedINBOX100k(b *testing.B, srv *dovecot.Server) *dovecot.User {
	inbox100k.once.Do(func() {
		u, err := srv.NewUser("inbox", dovecot.LayoutSlash)
		if err != nil {
			inbox100k.err = err
			return
		}
		ctx := context.Background()
		for i := 0; i < 10; i++ {
			if err := srv.CreateFolder(ctx, u.Name, fmt.Sprintf("Ordner %d", i)); err != nil {
				inbox100k.err = err
				return
			}
		}
		msgs := make([]mailgen.Message, 0, 10_000)
		base := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := 0; i < bigCount; i++ {
			raw := fmt.Appendf(nil, "From: a%d@example.org\r\nTo: b@example.org\r\nSubject: message %d\r\nMessage-ID: <%d@inbox.example.org>\r\n\r\nbody %d\r\n", i%97, i, i, i)
			msgs = append(msgs, mailgen.Message{Raw: raw, Flags: []string{`\Seen`}, InternalDate: base.Add(time.Duration(i) * time.Minute)})
			if len(msgs) == cap(msgs) {
				if err := srv.WriteMaildir(u.Name, []string{"INBOX"}, msgs); err != nil {
					inbox100k.err = err
					return
				}
				msgs = msgs[:0]
			}
		}
		c, err := srv.Client(ctx, u.Name)
		if err != nil {
			inbox100k.err = err
			return
		}
		defer c.Close()
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			inbox100k.err = err
			return
		}
		inbox100k.user = u
	})
	if inbox100k.err != nil {
		b.Fatal(inbox100k.err)
	}
	return inbox100k.user
}
