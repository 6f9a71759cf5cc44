package webui

import (
	"sync"
	"time"

	"github.com/imapmig/imapmig/migrate"
)

// Sample is a batch's copied items and bytes at one moment.
type Sample struct {
	At           time.Time
	Items, Bytes int64
}

// Rate is the throughput between two samples, at the later one.
type Rate struct {
	At                       time.Time
	ItemsPerSec, BytesPerSec float64
}

// Sampler keeps, per batch, a bounded ring of samples (at most keep/every
// + 1 of them), from which it derives rates. It is safe for concurrent
// use.
type Sampler struct {
	keep  time.Duration
	size  int
	mu    sync.Mutex
	rings map[string]*ring
}

// NewSampler keeps samples for keep, taken about every every.
func NewSampler(keep, every time.Duration) *Sampler {
	n := int(keep/every) + 2
	return &Sampler{keep: keep, size: n, rings: map[string]*ring{}}
}

type ring struct {
	buf   []Sample
	start int
	n     int
}

func (r *ring) push(s Sample) {
	if r.n < len(r.buf) {
		r.buf[(r.start+r.n)%len(r.buf)] = s
		r.n++
		return
	}
	r.buf[r.start] = s
	r.start = (r.start + 1) % len(r.buf)
}

func (r *ring) at(i int) Sample { return r.buf[(r.start+i)%len(r.buf)] }

// Add records every batch's figures at t; batches that are gone are
// forgotten.
func (s *Sampler) Add(t time.Time, views []migrate.BatchView) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := make(map[string]bool, len(views))
	for _, v := range views {
		seen[v.Name] = true
		r := s.rings[v.Name]
		if r == nil {
			r = &ring{buf: make([]Sample, s.size)}
			s.rings[v.Name] = r
		}
		if r.n > 0 && !t.After(r.at(r.n-1).At) {
			continue // the clock went back or two samples at once
		}
		r.push(Sample{At: t, Items: v.SyncedItemCount, Bytes: v.SyncedBytes})
	}
	for name := range s.rings {
		if !seen[name] {
			delete(s.rings, name)
		}
	}
}

// Len is the number of samples held for batch.
func (s *Sampler) Len(batch string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.rings[batch]; r != nil {
		return r.n
	}
	return 0
}

// Samples returns batch's samples, oldest first.
func (s *Sampler) Samples(batch string) []Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rings[batch]
	if r == nil {
		return nil
	}
	out := make([]Sample, r.n)
	for i := range out {
		out[i] = r.at(i)
	}
	return out
}

// Series returns the rates between consecutive samples of batch, oldest
// first. A counter that went down (users removed) counts as no progress.
func (s *Sampler) Series(batch string) []Rate {
	return rates(s.Samples(batch))
}

func rates(ss []Sample) []Rate {
	if len(ss) < 2 {
		return nil
	}
	out := make([]Rate, 0, len(ss)-1)
	for i := 1; i < len(ss); i++ {
		out = append(out, between(ss[i-1], ss[i]))
	}
	return out
}

func between(a, b Sample) Rate {
	dt := b.At.Sub(a.At).Seconds()
	r := Rate{At: b.At}
	if dt <= 0 {
		return r
	}
	r.ItemsPerSec = float64(max(b.Items-a.Items, 0)) / dt
	r.BytesPerSec = float64(max(b.Bytes-a.Bytes, 0)) / dt
	return r
}

// Recent is the rate over about the last window (from the newest sample
// back to the newest one at least window older, or the oldest held); ok is
// false with fewer than two samples.
func (s *Sampler) Recent(batch string, window time.Duration) (Rate, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rings[batch]
	if r == nil || r.n < 2 {
		return Rate{}, false
	}
	last := r.at(r.n - 1)
	from := r.at(0)
	for i := r.n - 2; i >= 0; i-- {
		if x := r.at(i); last.At.Sub(x.At) >= window {
			from = x
			break
		}
	}
	return between(from, last), true
}

// span is how long samples are kept.
func (s *Sampler) span() time.Duration { return s.keep }
