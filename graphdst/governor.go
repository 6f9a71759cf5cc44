package graphdst

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imapmig/imapmig/migrate"
)

// errWaitStopped is returned, wrapping the stop's error (context.Canceled),
// when a wait for the budget, the fence or a backoff ended because the pass
// was stopped (migrate.WithStop): nothing was sent.
var errWaitStopped = errors.New("graphdst: stopped while waiting for the mailbox's Graph budget")

// Budget sets the per-mailbox governor's limits. Exchange Online allows, per
// app and mailbox, 4 concurrent requests, 10,000 requests per 10 minutes and
// 150 MB of upload (POST/PATCH/PUT bodies) per 5 minutes; the defaults stay
// 5% under the two windows: enough for the emulator's and Exchange's later
// count of a request (after its body arrived), little enough that a
// mailbox uses over 90% of each budget (docs/BENCHMARKS.md, "One mailbox's
// Graph slots and budget").
type Budget struct {
	Concurrency   int
	Requests      int
	RequestWindow time.Duration
	UploadBytes   int64
	UploadWindow  time.Duration
	// MinBackoff is the first wait after a 5xx or transport error (doubled
	// per attempt, capped at 64×), and after a 429 without Retry-After.
	MinBackoff time.Duration
	// MaxAttempts bounds retries of one request after 5xx or transport
	// errors (429s are waited out without limit: the governor owns waiting).
	MaxAttempts int
}

// DefaultBudget is Exchange Online's limits with a 5% margin (it was 10%,
// which capped a mailbox at 90% of its budget before any loss).
func DefaultBudget() Budget {
	return Budget{
		Concurrency:   4,
		Requests:      9500,
		RequestWindow: 10 * time.Minute,
		UploadBytes:   150 << 20 * 95 / 100,
		UploadWindow:  5 * time.Minute,
		MinBackoff:    time.Second,
		MaxAttempts:   8,
	}
}

// Scaled divides the windows and the backoff by f (for tests against an
// emulator with the same time scale).
func (b Budget) Scaled(f float64) Budget {
	if f <= 1 {
		return b
	}
	b.RequestWindow = time.Duration(float64(b.RequestWindow) / f)
	b.UploadWindow = time.Duration(float64(b.UploadWindow) / f)
	b.MinBackoff = time.Duration(float64(b.MinBackoff) / f)
	return b
}

func (b Budget) withDefaults() Budget {
	d := DefaultBudget()
	b.Concurrency = positiveOr(b.Concurrency, d.Concurrency)
	b.Requests = positiveOr(b.Requests, d.Requests)
	b.RequestWindow = positiveOr(b.RequestWindow, d.RequestWindow)
	b.UploadBytes = positiveOr(b.UploadBytes, d.UploadBytes)
	b.UploadWindow = positiveOr(b.UploadWindow, d.UploadWindow)
	b.MinBackoff = positiveOr(b.MinBackoff, d.MinBackoff)
	b.MaxAttempts = positiveOr(b.MaxAttempts, d.MaxAttempts)
	return b
}

// positiveOr is v, or def where v is zero or negative (not set).
func positiveOr[T int | int64 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// GovernorStats are one mailbox's counters.
type GovernorStats struct {
	Requests    int64         // requests sent
	Throttled   int64         // 429s received
	Retried     int64         // retries after 5xx or transport errors
	Ambiguous   int64         // creates resolved by a source-key lookup
	UploadBytes int64         // bytes of POST/PATCH/PUT bodies sent
	Waited      time.Duration // total time requests waited for budget or a fence
}

// A grant is one admitted request in the governor's windows: when it
// counts from and its upload bytes. It counts from its acquisition until
// its response arrives, and from then on from the response's time: Exchange
// (and the emulator) count a request when its body has arrived, which on a
// loaded machine or for a 4 MB chunk is later than the send, so a window
// entry that started at the send would expire early and the next request
// would be throttled.
type grant struct {
	at time.Time
	n  int64
}

// governor keeps one mailbox's requests under Exchange's limits: a
// semaphore for concurrency, sliding windows for request count and upload
// bytes (the same accounting Exchange does), and a fence raised by a 429
// that holds every request until Retry-After has passed.
type governor struct {
	b   Budget
	sem chan struct{}

	mu    sync.Mutex
	reqs  []*grant // one per request counted, oldest first (nearly: see release)
	ups   []*grant
	upSum int64
	fence time.Time
	// pacing is until when an upload waits for a window (or the fence)
	// to free; read through Mailbox.PacingUntil.
	pacing time.Time

	requests, throttled, retried, ambiguous, uploadBytes, waited atomic.Int64

	obs Observer // nil = none
}

func newGovernor(b Budget) *governor {
	return &governor{b: b, sem: make(chan struct{}, b.Concurrency)}
}

// acquire waits for a concurrency slot, the fence, and room in both
// windows, then records the request as cost requests (a $batch counts as
// each request in it, as Exchange counts it). release must be called when
// the response has been received.
func (g *governor) acquire(ctx context.Context, upload int64, cost int) (release func(), err error) {
	cost = min(max(cost, 1), g.b.Requests)
	start := time.Now()
	var gr *grant
	stop, stopErr := migrate.StopWaiting(ctx)
	stopped := func() error { return fmt.Errorf("%w: %w", errWaitStopped, stopErr()) }
	// A slot or budget free right now is taken even after a stop (a
	// permanentDelete of an incomplete item still goes out); only waiting
	// ends with the stop.
	select {
	case g.sem <- struct{}{}:
	default:
		select {
		case g.sem <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-stop:
			return nil, stopped()
		}
	}
	for {
		g.mu.Lock()
		now := time.Now()
		wait := g.fence.Sub(now)
		if wait <= 0 {
			i := 0
			for i < len(g.reqs) && now.Sub(g.reqs[i].at) >= g.b.RequestWindow {
				i++
			}
			g.reqs = g.reqs[i:]
			j := 0
			for j < len(g.ups) && now.Sub(g.ups[j].at) >= g.b.UploadWindow {
				g.upSum -= g.ups[j].n
				j++
			}
			g.ups = g.ups[j:]
			switch {
			case len(g.reqs)+cost > g.b.Requests:
				wait = g.reqs[len(g.reqs)+cost-g.b.Requests-1].at.Add(g.b.RequestWindow).Sub(now)
				// Released grants move later, so the order is nearly, not
				// strictly, by time: never go on while over the budget.
				wait = max(wait, time.Millisecond)
			case upload > 0 && g.upSum+upload > g.b.UploadBytes && len(g.ups) > 0:
				need := g.upSum + upload - g.b.UploadBytes
				var freed int64
				for _, e := range g.ups {
					freed += e.n
					if freed >= need {
						wait = max(e.at.Add(g.b.UploadWindow).Sub(now), time.Millisecond)
						break
					}
				}
			}
		}
		if wait <= 0 {
			gr = &grant{at: now, n: upload}
			for range cost {
				g.reqs = append(g.reqs, gr)
			}
			if upload > 0 {
				g.ups = append(g.ups, gr)
				g.upSum += upload
			}
			g.mu.Unlock()
			break
		}
		if until := now.Add(wait); until.After(g.pacing) {
			g.pacing = until
		}
		g.mu.Unlock()
		t := time.NewTimer(wait + time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			<-g.sem
			return nil, ctx.Err()
		case <-stop:
			t.Stop()
			<-g.sem
			return nil, stopped()
		}
	}
	g.waited.Add(int64(time.Since(start)))
	if g.obs != nil {
		g.obs.Waited(time.Since(start))
	}
	g.requests.Add(int64(cost))
	g.uploadBytes.Add(upload)
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			gr.at = time.Now()
			g.mu.Unlock()
			<-g.sem
		})
	}, nil
}

// throttle raises the fence for d.
func (g *governor) throttle(d time.Duration) {
	g.throttled.Add(1)
	if g.obs != nil {
		g.obs.Throttled()
	}
	g.mu.Lock()
	if until := time.Now().Add(d); until.After(g.fence) {
		g.fence = until
	}
	g.mu.Unlock()
}

func (g *governor) stats() GovernorStats {
	return GovernorStats{
		Requests: g.requests.Load(), Throttled: g.throttled.Load(), Retried: g.retried.Load(),
		Ambiguous: g.ambiguous.Load(), UploadBytes: g.uploadBytes.Load(), Waited: time.Duration(g.waited.Load()),
	}
}

// pacingUntil is until when a request waits for the budget (zero or past
// when none waits).
func (g *governor) pacingUntil() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.pacing
}
