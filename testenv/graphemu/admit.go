package graphemu

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Request plumbing: admission, throttling windows and injected faults.

// releaseWriter frees the concurrency slot as soon as the status line is
// written, so a client that waits for the response never sees its own
// finished request counted as in flight.
type releaseWriter struct {
	http.ResponseWriter
	once    sync.Once
	release func()
	status  int
}

func (rw *releaseWriter) WriteHeader(code int) {
	rw.once.Do(func() {
		if rw.release != nil {
			rw.release()
		}
	})
	if rw.status == 0 {
		rw.status = code
	}
	rw.ResponseWriter.WriteHeader(code)
}

func (rw *releaseWriter) Write(b []byte) (int, error) {
	if rw.status == 0 {
		rw.WriteHeader(200)
	}
	return rw.ResponseWriter.Write(b)
}

func (rw *releaseWriter) done() {
	rw.once.Do(func() {
		if rw.release != nil {
			rw.release()
		}
	})
}

// readBody reads at most limit bytes; tooBig reports a larger body.
func readBody(r *http.Request, limit int64) (body []byte, tooBig bool, err error) {
	var buf bytes.Buffer
	return readBodyInto(&buf, r, limit)
}

// chunkBuffers hold upload-session chunks while they are read: a chunk is
// copied into its session's data, so its buffer serves the next one
// (allocating and clearing 4 MB per chunk was a tenth of the emulator's
// CPU in the mbsync bench).
var chunkBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// readChunk is readBody into a pooled buffer; put gives the buffer back,
// after which body must not be used.
func readChunk(r *http.Request, limit int64) (body []byte, put func(), tooBig bool, err error) {
	buf := chunkBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	body, tooBig, err = readBodyInto(buf, r, limit)
	return body, func() { chunkBuffers.Put(buf) }, tooBig, err
}

// readBodyInto is readBody into buf.
func readBodyInto(buf *bytes.Buffer, r *http.Request, limit int64) (body []byte, tooBig bool, err error) {
	if r.ContentLength > limit {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 64<<20))
		return nil, true, nil
	}
	// A body of known length is read into a buffer of that size (plus
	// the room ReadFrom wants to see the end, or a body that runs over):
	// growing a buffer from 512 bytes to a create's megabytes was a sixth
	// of the emulator's CPU in the mbsync bench. The emulator's answers
	// are the same either way.
	if n := r.ContentLength; n > 0 {
		buf.Grow(int(n) + bytes.MinRead)
	}
	_, err = buf.ReadFrom(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, false, err
	}
	b := buf.Bytes()
	if int64(len(b)) > limit {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 64<<20))
		return nil, true, nil
	}
	return b, false, nil
}

func isUpload(method string) bool {
	return method == http.MethodPost || method == http.MethodPatch || method == http.MethodPut
}

// admit applies fault-free throttling for one request against app+mailbox.
// It returns a release func (nil when throttled) and writes the 429 itself.
func (s *Server) admit(w http.ResponseWriter, clientID, mailboxID, method string, bodyLen int64) func() {
	s.stats.requests.Add(1)
	if s.opts.DisableThrottling {
		up := int64(0)
		if isUpload(method) {
			up = bodyLen
			s.stats.uploadBytes.Add(bodyLen)
		}
		return s.flights.begin(mailboxID, up)
	}
	key := clientID + "|" + mailboxID
	now := time.Now()
	s.tmu.Lock()
	ts := s.throttle[key]
	if ts == nil {
		ts = &throttleState{}
		s.throttle[key] = ts
	}
	up := int64(0)
	if isUpload(method) {
		up = bodyLen
	}
	kind, wait := ts.admit(now, s.limits, s.scaled(s.limits.RequestWindow), s.scaled(s.limits.UploadWindow), up)
	s.tmu.Unlock()
	switch kind {
	case throttleNone:
		if up > 0 {
			s.stats.uploadBytes.Add(up)
		}
		end := s.flights.begin(mailboxID, up)
		var once sync.Once
		return func() {
			once.Do(func() {
				s.tmu.Lock()
				ts.inflight--
				s.tmu.Unlock()
				end()
			})
		}
	case throttleConcurrency:
		s.stats.thrConc.Add(1)
		s.stats.throttled.Add(1)
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(wait)))
		writeError(w, 429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.")
	case throttleRate:
		s.stats.thrRate.Add(1)
		s.stats.throttled.Add(1)
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(wait)))
		writeError(w, 429, "ApplicationThrottled", "Application is over its MailboxRequestRate limit.")
	case throttleUpload:
		s.stats.thrUpload.Add(1)
		s.stats.throttled.Add(1)
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(wait)))
		writeError(w, 429, "ApplicationThrottled", "Application is over its MailboxUploadSize limit.")
	}
	return nil
}

type throttleKind int

const (
	throttleNone throttleKind = iota
	throttleConcurrency
	throttleRate
	throttleUpload
)

type upEntry struct {
	at time.Time
	n  int64
}

// throttleState is the sliding-window state of one app+mailbox pair.
type throttleState struct {
	inflight int
	reqs     []time.Time // admitted and throttled requests in the window
	ups      []upEntry
	upSum    int64
}

func (t *throttleState) admit(now time.Time, l Limits, reqWin, upWin time.Duration, up int64) (throttleKind, time.Duration) {
	// prune
	i := 0
	for i < len(t.reqs) && now.Sub(t.reqs[i]) >= reqWin {
		i++
	}
	t.reqs = t.reqs[i:]
	j := 0
	for j < len(t.ups) && now.Sub(t.ups[j].at) >= upWin {
		t.upSum -= t.ups[j].n
		j++
	}
	t.ups = t.ups[j:]

	// every request counts, throttled or not
	t.reqs = append(t.reqs, now)
	if t.inflight >= l.Concurrency {
		return throttleConcurrency, time.Second
	}
	if len(t.reqs) > l.Requests {
		over := len(t.reqs) - l.Requests
		return throttleRate, t.reqs[over-1].Add(reqWin).Sub(now)
	}
	if up > 0 && t.upSum+up > l.UploadBytes {
		need := t.upSum + up - l.UploadBytes
		var freed int64
		wait := upWin
		for _, e := range t.ups {
			freed += e.n
			if freed >= need {
				wait = e.at.Add(upWin).Sub(now)
				break
			}
		}
		return throttleUpload, wait
	}
	t.inflight++
	if up > 0 {
		t.ups = append(t.ups, upEntry{at: now, n: up})
		t.upSum += up
	}
	return throttleNone, 0
}

// fault decides on injected faults for an admitted request: 0 none,
// 1 plain fault (503/504 without effect), 2 ambiguous (effect, then 504).
func (s *Server) fault(isCreate bool) (int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.FaultRate > 0 && s.rng.Float64() < s.opts.FaultRate {
		if s.rng.IntN(2) == 0 {
			return 1, 503
		}
		return 1, 504
	}
	if isCreate && s.opts.AmbiguousRate > 0 && s.rng.Float64() < s.opts.AmbiguousRate {
		return 2, 504
	}
	return 0, 0
}
