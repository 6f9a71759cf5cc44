package migrate

import (
	"sync"
	"time"

	"github.com/imapmig/imapmig/state"
)

// progress tracks a running pass: counts, rate over a sliding window, and
// when it last moved (for stall detection).
type progress struct {
	mu                   sync.Mutex
	now                  func() time.Time
	start                time.Time
	estItems, estBytes   int64
	baseItems, baseBytes int64 // in the target before this pass
	items, bytes         int64 // copied or found in the target this pass
	copiedN              int64
	deletedN             int64
	movedN, flaggedN     int64
	samples              []sample // for the rate, oldest first
	lastMove             time.Time
	lastPersist          time.Time
}

type sample struct {
	t            time.Time
	items, bytes int64
}

const rateWindow = time.Minute

func newProgress(now func() time.Time, baseItems, baseBytes int64) *progress {
	t := now()
	return &progress{now: now, start: t, lastMove: t, baseItems: baseItems, baseBytes: baseBytes}
}

func (p *progress) setEstimate(n, b int64) {
	p.mu.Lock()
	p.estItems, p.estBytes = n, b
	p.mu.Unlock()
}

func (p *progress) add(items, bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.items += items
	p.bytes += bytes
	t := p.now()
	p.lastMove = t
	p.samples = append(p.samples, sample{t, p.items, p.bytes})
	for len(p.samples) > 2 && t.Sub(p.samples[0].t) > rateWindow {
		p.samples = p.samples[1:]
	}
}

func (p *progress) copied(size int64) {
	p.mu.Lock()
	p.copiedN++
	p.mu.Unlock()
	p.add(1, size)
}

func (p *progress) matched(size int64) { p.add(1, size) }

func (p *progress) moved() {
	p.mu.Lock()
	p.movedN++
	p.lastMove = p.now()
	p.mu.Unlock()
}

func (p *progress) flagged() {
	p.mu.Lock()
	p.flaggedN++
	p.lastMove = p.now()
	p.mu.Unlock()
}

func (p *progress) deleted() {
	p.mu.Lock()
	p.deletedN++
	p.lastMove = p.now()
	p.mu.Unlock()
}

// snapshot is what the views show of a running pass.
type snapshot struct {
	SyncedItems, SyncedBytes        int64
	ItemsPerSec, BytesPerSec        float64
	SecondsLeft                     *float64
	LastProgress, Started           time.Time
	Copied, Moved, Flagged, Deleted int64
}

func (p *progress) snapshot() snapshot {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := snapshot{
		SyncedItems: p.baseItems + p.items - p.deletedN, SyncedBytes: p.baseBytes + p.bytes,
		LastProgress: p.lastMove, Started: p.start,
		Copied: p.copiedN, Moved: p.movedN, Flagged: p.flaggedN, Deleted: p.deletedN,
	}
	// The rate is over the window that ends now, not at the last sample:
	// while nothing moves it decays, and after a window without progress
	// it is 0 (a pass waiting for Graph's budget shows no stale speed).
	if n := len(p.samples); n >= 2 {
		now := p.now()
		base := p.samples[0]
		for _, smp := range p.samples {
			if now.Sub(smp.t) < rateWindow {
				break
			}
			base = smp
		}
		last := p.samples[n-1]
		if dt := now.Sub(base.t).Seconds(); dt > 0 && last.t.After(base.t) {
			s.ItemsPerSec = float64(last.items-base.items) / dt
			s.BytesPerSec = float64(last.bytes-base.bytes) / dt
		}
	}
	// The ETA is the larger of what the bytes and the items left need at
	// their current rates: a few large messages early (newest first) must
	// not promise an end that thousands of small ones will not keep.
	var left float64
	if s.BytesPerSec > 0 {
		left = float64(max(p.estBytes-s.SyncedBytes, 0)) / s.BytesPerSec
	}
	if s.ItemsPerSec > 0 {
		left = max(left, float64(max(p.estItems-s.SyncedItems, 0))/s.ItemsPerSec)
	}
	if s.BytesPerSec > 0 || s.ItemsPerSec > 0 {
		s.SecondsLeft = &left
	}
	return s
}

// persist writes the running figures to the user record, at most once a
// second.
func (p *progress) persist(st *state.Store, email string) {
	p.mu.Lock()
	t := p.now()
	if t.Sub(p.lastPersist) < time.Second {
		p.mu.Unlock()
		return
	}
	p.lastPersist = t
	p.mu.Unlock()
	s := p.snapshot()
	_, _ = st.UpdateUser(email, func(u *state.User) error {
		u.SyncedItemCount, u.SyncedBytes = s.SyncedItems, s.SyncedBytes
		return nil
	})
}
