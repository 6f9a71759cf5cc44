package graphemu

import (
	"sync"
	"time"
)

// Per-mailbox load figures for benchmarks: how many requests a mailbox had
// in flight over time (time-weighted), and when each admitted request came
// with how many upload bytes (for budget use per window).

// Flight is one mailbox's time-weighted in-flight figures. A request is in
// flight from its admission (after the throttling check, so 429s never
// count) until its status line is written: the span during which it holds
// one of the mailbox's concurrency slots.
type Flight struct {
	Requests int64 // admitted requests
	// RequestTime is the integral of the in-flight count over time: the
	// sum of the admitted requests' durations.
	RequestTime time.Duration
	// BusyTime is the time with at least one request in flight.
	BusyTime time.Duration
	// First is the first admission, Last the last release (or the time of
	// the snapshot while requests are in flight).
	First, Last time.Time
	Current     int // in flight at the snapshot
	Max         int // the most in flight at once
}

// Average is the time-weighted mean of requests in flight between the
// first admission and the last release, gaps included.
func (f Flight) Average() float64 {
	span := f.Last.Sub(f.First)
	if span <= 0 {
		return 0
	}
	return float64(f.RequestTime) / float64(span)
}

// Since is the mean in flight between an earlier snapshot and f (the
// snapshots' RequestTime difference over the time between them).
func (f Flight) Since(earlier Flight, from, to time.Time) float64 {
	if !to.After(from) {
		return 0
	}
	return float64(f.RequestTime-earlier.RequestTime) / float64(to.Sub(from))
}

// Admission is one admitted request of a mailbox.
type Admission struct {
	At     time.Time
	Done   time.Time // its answer's status line (zero while in flight)
	Upload int64     // request body bytes counted against the upload budget
}

type flightState struct {
	Flight
	changed time.Time // last change of Current
	log     []Admission
}

// advance integrates up to now.
func (f *flightState) advance(now time.Time) {
	if f.Current > 0 {
		d := now.Sub(f.changed)
		f.RequestTime += time.Duration(f.Current) * d
		f.BusyTime += d
	}
	f.changed = now
}

type flights struct {
	mu sync.Mutex
	by map[string]*flightState // mailbox id
}

// begin records an admitted request of mailbox id; the returned func ends it.
func (fl *flights) begin(id string, upload int64) func() {
	now := time.Now()
	fl.mu.Lock()
	if fl.by == nil {
		fl.by = map[string]*flightState{}
	}
	f := fl.by[id]
	if f == nil {
		f = &flightState{}
		f.First = now
		fl.by[id] = f
	}
	f.advance(now)
	f.Current++
	f.Max = max(f.Max, f.Current)
	f.Requests++
	f.log = append(f.log, Admission{At: now, Upload: upload})
	i := len(f.log) - 1
	fl.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			now := time.Now()
			fl.mu.Lock()
			f.advance(now)
			f.Current--
			f.Last = now
			f.log[i].Done = now
			fl.mu.Unlock()
		})
	}
}

func (fl *flights) get(id string) (Flight, []Admission) {
	now := time.Now()
	fl.mu.Lock()
	defer fl.mu.Unlock()
	f := fl.by[id]
	if f == nil {
		return Flight{}, nil
	}
	f.advance(now)
	out := f.Flight
	if out.Current > 0 {
		out.Last = now
	}
	return out, append([]Admission(nil), f.log...)
}

// InFlight returns the time-weighted in-flight figures of the mailbox at
// address (zero when it has had no admitted request).
func (s *Server) InFlight(address string) Flight {
	f, _ := s.flights.get(s.mailboxID(address))
	return f
}

// Admissions returns the mailbox's admitted requests in order, with their
// upload bytes (budget use per window in benchmarks).
func (s *Server) Admissions(address string) []Admission {
	_, log := s.flights.get(s.mailboxID(address))
	return log
}

func (s *Server) mailboxID(address string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if mb := s.mailboxLocked(address); mb != nil {
		return mb.id
	}
	return ""
}
