package imapsrc_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/imapmig/imapmig/imapsrc"
	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/testenv/imapfault"
	"github.com/imapmig/imapmig/testenv/mailgen"
)

// pipelineCount messages make four 500-UID chunks (the last one short),
// more than the three Metas keeps in flight.
const pipelineCount = 1800

// TestMetas_CutInPipelinedChunksResumes: the connection is cut (or the
// server says BYE) while several metadata chunk FETCHes are in flight.
// Metas reconnects and hands every UID of the folder to the callback once,
// in order: no gap, no duplicate.
func TestMetas_CutInPipelinedChunksResumes(t *testing.T) {
	srv, u := dovecotUser(t)
	msgs := make([]mailgen.Message, 0, pipelineCount)
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range pipelineCount {
		raw := fmt.Appendf(nil, "From: a%d@example.org\r\nTo: b@example.org\r\nSubject: pipelined %d\r\nDate: Mon, 02 Jan 2006 15:04:05 +0000\r\nMessage-ID: <%d@pipe.example.org>\r\n\r\nbody %d\r\n", i, i, i, i)
		msgs = append(msgs, mailgen.Message{Raw: raw, InternalDate: base.Add(time.Duration(i) * time.Minute)})
	}
	if err := srv.WriteMaildir(u.Name, []string{"Pipe"}, msgs); err != nil {
		t.Fatal(err)
	}
	// Each FETCH response is some 300 bytes (about 150 KB a chunk): the
	// faults below fire in the second or third chunk, with the later
	// ones already requested.
	for _, tc := range []struct {
		name  string
		fault imapfault.Fault
	}{
		{"cut", imapfault.Fault{Action: imapfault.Cut, After: 230 << 10}},
		{"bye", imapfault.Fault{Action: imapfault.Bye, After: 330 << 10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startProxy(t, srv)
			src := connectUser(t, newConnector(t, proxiedConfig(p, 30*time.Second)), u)
			pipe := folderOf(t, src, "Pipe")
			want, err := src.UIDs(context.Background(), pipe)
			if err != nil {
				t.Fatal(err)
			}
			if len(want) != pipelineCount {
				t.Fatalf("%d UIDs in Pipe, want %d", len(want), pipelineCount)
			}
			if n := p.Apply(tc.fault); n != 1 {
				t.Fatalf("%d connections open, want 1", n)
			}
			var got []uint32
			subjects := map[string]bool{}
			err = src.Metas(context.Background(), pipe, 1, 0, func(m migrate.MessageMeta) error {
				got = append(got, m.UID)
				subjects[m.Subject] = true
				if m.HeaderHash == "" {
					t.Errorf("UID %d without a header hash", m.UID)
				}
				return nil
			})
			if err != nil {
				t.Fatalf("Metas: %v (proxy events %v)", err, p.Events())
			}
			if p.Fired(tc.name) != 1 || p.Accepted() != 2 || imapsrc.Reconnects(src) != 1 {
				t.Fatalf("%d %s faults, %d connections, %d reconnects; want 1, 2, 1 (events %v)",
					p.Fired(tc.name), tc.name, p.Accepted(), imapsrc.Reconnects(src), p.Events())
			}
			if ev := p.Events()[0]; ev.At < 150<<10 {
				t.Fatalf("the fault fired after %d bytes, before the second chunk", ev.At)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("delivered %d UIDs (%s), want the folder's %d in order once each", len(got), uidGaps(got, want), len(want))
			}
			if len(subjects) != pipelineCount {
				t.Fatalf("%d distinct subjects, want %d", len(subjects), pipelineCount)
			}
		})
	}
}

// uidGaps describes how got differs from want: the first duplicate or out
// of order UID and the first missing one.
func uidGaps(got, want []uint32) string {
	seen := map[uint32]bool{}
	s := ""
	for i, u := range got {
		if seen[u] || (i > 0 && u < got[i-1]) {
			s += fmt.Sprintf("UID %d repeated or out of order at %d; ", u, i)
			break
		}
		seen[u] = true
	}
	for _, u := range want {
		if !seen[u] {
			s += fmt.Sprintf("UID %d missing", u)
			break
		}
	}
	return s
}
