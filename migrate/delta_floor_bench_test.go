package migrate_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// BenchmarkDeltaFloor_DovecotSettled100k is the IMAP a 1% delta of a
// 100,000-message Dovecot INBOX cannot do without, sent by a bare client
// after BenchmarkDeltaEngine_OnePercentChangedIMAPSettled100k's changes
// (made through IMAP, the maildir then left alone for two seconds): STATUS
// INBOX, LIST, SELECT (CONDSTORE), the new messages' UIDs, their flags,
// dates and sizes, their header blocks, and every UID (the expunges).
// It times each command, so the engine's delta can be set against what
// the server itself costs. Dovecot does its expensive work once per
// delta, in whichever command needs it first: bringing its index up to
// the directory (a read of the whole 100,000-entry cur/ and uidlist) at
// the first command about INBOX, and again when it first opens one of
// the new messages' files (their names changed when the first session to
// see them moved them from new/ to cur/).
func BenchmarkDeltaFloor_DovecotSettled100k(b *testing.B) {
	srv := dc.Get(b)
	bs := dovecotBench{srv}
	user, _ := bs.newUser(b, "bfloor")
	bs.seed(b, user, benchMessages(100000))
	dir, err := srv.MaildirDir(user, []string{"INBOX"})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	sums := map[string]time.Duration{}
	var order []string
	var srvCPU float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		mutateIMAP(b, bs, user, i)
		waitMaildirSettled(b, dir, 2*time.Second)
		waitSessionsGone(b, bs)
		c, err := bs.client(ctx, user)
		if err != nil {
			b.Fatal(err)
		}
		d0, _ := srv.CPUSeconds()
		b.StartTimer()
		step := func(name string, f func() error) {
			t0 := time.Now()
			if err := f(); err != nil {
				b.Fatalf("%s: %v", name, err)
			}
			if _, ok := sums[name]; !ok {
				order = append(order, name)
			}
			sums[name] += time.Since(t0)
		}
		var st *imap.StatusData
		step("STATUS INBOX", func() (err error) {
			st, err = c.Status("INBOX", &imap.StatusOptions{NumMessages: true, UIDNext: true, UIDValidity: true, HighestModSeq: true}).Wait()
			return err
		})
		step("LIST", func() error { _, err := c.List("", "*", nil).Collect(); return err })
		step("SELECT", func() error {
			_, err := c.Select("INBOX", &imap.SelectOptions{CondStore: true}).Wait()
			return err
		})
		var uids []imap.UID
		step("UID SEARCH new", func() error {
			d, err := c.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{{imap.UIDRange{Start: st.UIDNext - 250}}}}, &imap.SearchOptions{ReturnAll: true}).Wait()
			if err == nil {
				all, _ := d.All.(imap.UIDSet)
				uids, _ = all.Nums()
			}
			return err
		})
		fetch := func(name string, o *imap.FetchOptions) {
			step(name, func() error {
				msgs, err := c.Fetch(imap.UIDSetNum(uids...), o).Collect()
				if err == nil && len(msgs) != len(uids) {
					err = fmt.Errorf("%d answers for %d UIDs", len(msgs), len(uids))
				}
				return err
			})
		}
		fetch("FETCH new FLAGS MODSEQ", &imap.FetchOptions{UID: true, Flags: true, ModSeq: true})
		fetch("FETCH new INTERNALDATE RFC822.SIZE", &imap.FetchOptions{UID: true, InternalDate: true, RFC822Size: true})
		fetch("FETCH new BODY.PEEK[HEADER]", &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Specifier: imap.PartSpecifierHeader, Peek: true}}})
		step("UID SEARCH ALL", func() error {
			_, err := c.UIDSearch(&imap.SearchCriteria{}, &imap.SearchOptions{ReturnAll: true}).Wait()
			return err
		})
		b.StopTimer()
		d1, _ := srv.CPUSeconds()
		srvCPU += d1 - d0
		if len(uids) != 250 {
			b.Fatalf("%d new messages, want 250", len(uids))
		}
		c.Logout().Wait()
		c.Close()
		b.StartTimer()
	}
	b.StopTimer()
	var sb strings.Builder
	for _, name := range order {
		fmt.Fprintf(&sb, "; %s %.1f ms", name, float64(sums[name].Microseconds())/1e3/float64(b.N))
	}
	b.Logf("per delta (wall, %d deltas)%s", b.N, sb.String())
	b.ReportMetric(srvCPU*1000/float64(b.N), "dovecot-cpu-ms/op")
}
