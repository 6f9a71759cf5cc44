package migrate_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/state"
)

// phaseClock sums the wall time a pass spends in each Source call, by
// phase, so a delta benchmark can say where its wall time goes: the
// calls are the IMAP round trips (connect and login, LIST-STATUS, the
// SELECT and new messages' metadata, CHANGEDSINCE, the UID set, the body
// fetches, LOGOUT); what is left is the engine's own (state reads and
// commits, target writes) and the scheduler's.
type phaseClock struct {
	mu    sync.Mutex
	start time.Time // the benchmark's SyncNow call
	first time.Time // the pass's Connect call
	last  time.Time // the end of the pass's Close
	d     map[string]time.Duration
	n     map[string]int
}

func newPhaseClock() *phaseClock {
	return &phaseClock{d: map[string]time.Duration{}, n: map[string]int{}}
}

// begin marks the benchmark's SyncNow call.
func (c *phaseClock) begin() {
	c.mu.Lock()
	c.start, c.first, c.last = time.Now(), time.Time{}, time.Time{}
	c.mu.Unlock()
}

// end adds the time from begin to the pass's first Source call and from
// its Close to now (the pass's end seen by the Observer).
func (c *phaseClock) end() {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.first.IsZero() || c.last.IsZero() {
		return
	}
	c.d["0 wake-up, status writes, before connect"] += c.first.Sub(c.start)
	c.d["9 after LOGOUT: folder and user writes"] += now.Sub(c.last)
	c.d["total"] += now.Sub(c.start)
}

func (c *phaseClock) time(phase string, t0 time.Time) {
	now := time.Now()
	c.mu.Lock()
	c.d[phase] += now.Sub(t0)
	c.n[phase]++
	if c.first.IsZero() {
		c.first = t0
	}
	if strings.HasSuffix(phase, "LOGOUT") {
		c.last = now
	}
	c.mu.Unlock()
}

// report logs the phases per delta and reports the engine's remainder.
func (c *phaseClock) report(b *testing.B, runs int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if runs == 0 || c.d["total"] == 0 {
		return
	}
	var names []string
	var inCalls time.Duration
	for k := range c.d {
		names = append(names, k)
		if k != "total" && !strings.HasPrefix(k, "0 ") && !strings.HasPrefix(k, "9 ") {
			inCalls += c.d[k]
		}
	}
	slices.Sort(names)
	per := func(d time.Duration) string {
		return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000/float64(runs))
	}
	var sb strings.Builder
	for _, k := range names {
		fmt.Fprintf(&sb, "; %s %s", k, per(c.d[k]))
		if n := c.n[k]; n > 1*runs {
			fmt.Fprintf(&sb, " (%d calls)", n/runs)
		}
	}
	between := c.d["total"] - inCalls - c.d["0 wake-up, status writes, before connect"] - c.d["9 after LOGOUT: folder and user writes"]
	fmt.Fprintf(&sb, "; between source calls (state, plan, target) %s", per(between))
	b.Logf("phases per delta (wall, %d deltas)%s", runs, sb.String())
	b.ReportMetric(float64(c.d["1 connect+login"].Microseconds())/1000/float64(runs), "connect-ms/op")
}

// timedConnector hands out Sources whose calls are timed by clock.
type timedConnector struct {
	c     migrate.SourceConnector
	clock *phaseClock
}

func (t timedConnector) Connect(ctx context.Context, l migrate.Login) (migrate.Source, error) {
	t0 := time.Now()
	s, err := t.c.Connect(ctx, l)
	t.clock.time("1 connect+login", t0)
	if err != nil {
		return nil, err
	}
	return timedSource{s, t.clock}, nil
}

type timedSource struct {
	s     migrate.Source
	clock *phaseClock
}

func (t timedSource) Folders(ctx context.Context) ([]migrate.Folder, error) {
	defer t.clock.time("2 LIST-STATUS", time.Now())
	return t.s.Folders(ctx)
}

func (t timedSource) Metas(ctx context.Context, f migrate.Folder, from, to uint32, fn func(migrate.MessageMeta) error) error {
	defer t.clock.time("3 SELECT, new messages' metadata", time.Now())
	return t.s.Metas(ctx, f, from, to, fn)
}

func (t timedSource) ChangedSince(ctx context.Context, f migrate.Folder, modseq uint64, fn func(migrate.MessageMeta) error) error {
	defer t.clock.time("4 CHANGEDSINCE", time.Now())
	return t.s.ChangedSince(ctx, f, modseq, fn)
}

func (t timedSource) UIDs(ctx context.Context, f migrate.Folder) ([]uint32, error) {
	defer t.clock.time("5 UID set (ESEARCH)", time.Now())
	return t.s.UIDs(ctx, f)
}

func (t timedSource) Fetch(ctx context.Context, f migrate.Folder, uid uint32) (migrate.Body, error) {
	defer t.clock.time("6 body fetches", time.Now())
	return t.s.Fetch(ctx, f, uid)
}

func (t timedSource) Close() error {
	defer t.clock.time("8 LOGOUT", time.Now())
	return t.s.Close()
}

// UIDRanges and ChangedSinceBelow pass the Source's optional interfaces
// on (the engine uses them where a Source has them).
func (t timedSource) UIDRanges(ctx context.Context, f migrate.Folder) ([]migrate.UIDRange, error) {
	defer t.clock.time("5 UID set (ESEARCH)", time.Now())
	if r, ok := t.s.(migrate.UIDRanger); ok {
		return r.UIDRanges(ctx, f)
	}
	uids, err := t.s.UIDs(ctx, f)
	return state.UIDRanges(uids), err
}

func (t timedSource) ChangedSinceBelow(ctx context.Context, f migrate.Folder, modseq uint64, below uint32, fn func(migrate.MessageMeta) error) error {
	defer t.clock.time("4 CHANGEDSINCE", time.Now())
	if cb, ok := t.s.(migrate.ChangedBelower); ok {
		return cb.ChangedSinceBelow(ctx, f, modseq, below, fn)
	}
	return t.s.ChangedSince(ctx, f, modseq, fn)
}

func (t timedSource) FetchBodies(ctx context.Context, f migrate.Folder, uids []uint32, fn func(uint32, migrate.Body) error) error {
	defer t.clock.time("6 body fetches", time.Now())
	if bb, ok := t.s.(migrate.BodyBatcher); ok {
		return bb.FetchBodies(ctx, f, uids, fn)
	}
	return nil // none delivered: the caller fetches each with Fetch
}
