package graphemu

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
)

// Crash points. A test arms a Gate with Server.Hold; the first request it
// matches runs to completion (its effect is in the mailbox) and is then
// held before its answer goes out. The test waits for it (Gate.Wait),
// kills the client (a SIGKILLed daemon never learns the outcome), and
// releases it. No clock is involved: the kill lands exactly between the
// effect and the answer.

// HeldRequest is a request a Gate stopped, after the emulator handled it.
type HeldRequest struct {
	Method string
	Path   string // URL path, e.g. /v1.0/users/a@b/messages or /upload/…
	// Body is the request body (a $batch's JSON, an upload chunk).
	Body []byte
	// ContentRange is an upload chunk's Content-Range header.
	ContentRange string
	// Status is what the emulator answered (the effect is done when it is
	// 2xx).
	Status int
}

// Gate stops one request. Its zero value is not usable; see Server.Hold.
type Gate struct {
	match   func(HeldRequest) bool
	held    chan HeldRequest
	release chan struct{}
	once    sync.Once
	// answer, when set by ReleaseWith, replaces the emulator's answer.
	answer int
}

// holds is the Server's armed gates.
type holds struct {
	mu    sync.Mutex
	gates []*Gate
}

// Hold arms a gate: the first request from now on for which match is true
// is held after it took effect, until Release. match sees the request and
// the status the emulator answered.
func (s *Server) Hold(match func(HeldRequest) bool) *Gate {
	g := &Gate{match: match, held: make(chan HeldRequest, 1), release: make(chan struct{})}
	s.holds.mu.Lock()
	s.holds.gates = append(s.holds.gates, g)
	s.holds.mu.Unlock()
	return g
}

// Wait returns the held request once there is one, or ctx's error.
func (g *Gate) Wait(ctx context.Context) (HeldRequest, error) {
	select {
	case r := <-g.held:
		g.held <- r // Wait may be called again
		return r, nil
	case <-ctx.Done():
		return HeldRequest{}, ctx.Err()
	}
}

// Held returns the held request without waiting.
func (g *Gate) Held() (HeldRequest, bool) {
	select {
	case r := <-g.held:
		g.held <- r
		return r, true
	default:
		return HeldRequest{}, false
	}
}

// Release lets the held request answer (to a client that may be gone) and
// disarms the gate if nothing was held yet.
func (g *Gate) Release() { g.once.Do(func() { close(g.release) }) }

// ReleaseWith lets the held request answer status (a 5xx with Graph's
// error body) instead of what the emulator answered: the request took
// effect, the client hears it failed. This is the fault a client must not
// repeat blindly (a sent mail sent twice, a create made twice).
func (g *Gate) ReleaseWith(status int) {
	g.once.Do(func() {
		g.answer = status
		close(g.release)
	})
}

// claim returns the armed gate that holds r, disarming it.
func (h *holds) claim(r HeldRequest) *Gate {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, g := range h.gates {
		select {
		case <-g.release: // released before it held anything
			continue
		default:
		}
		if g.match(r) {
			h.gates = append(h.gates[:i:i], h.gates[i+1:]...)
			return g
		}
	}
	return nil
}

func (h *holds) armed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.gates) > 0
}

// holding wraps the emulator's handler: while a gate is armed, each
// request is handled into a recorder, offered to the gates, and answered
// after a gate that took it is released.
func (s *Server) holding(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.holds.armed() {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			writeError(w, 400, "BadRequest", "could not read the request body")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		hr := HeldRequest{Method: r.Method, Path: r.URL.Path, Body: body, ContentRange: r.Header.Get("Content-Range"), Status: rec.Code}
		g := s.holds.claim(hr)
		if g != nil {
			s.log.Debug("request held", "method", hr.Method, "path", hr.Path, "status", hr.Status)
			g.held <- hr
			select {
			case <-g.release:
			case <-r.Context().Done(): // the client is gone (killed)
			}
		}
		if g != nil {
			select {
			case <-g.release: // g.answer is set before release is closed
				if g.answer != 0 {
					writeError(w, g.answer, faultCode(g.answer), "Injected after the request took effect.")
					return
				}
			default:
			}
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

// faultCode is Graph's error code for an injected 5xx.
func faultCode(status int) string {
	switch status {
	case http.StatusServiceUnavailable:
		return "ServiceUnavailable"
	case http.StatusGatewayTimeout:
		return "UnknownError"
	}
	return "InternalServerError"
}
