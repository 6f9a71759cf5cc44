package graphemu

import (
	"net/http"
	"strconv"
	"time"
)

// A Graph outage: while it lasts, every Graph request (/v1.0 and upload
// sessions) is answered 503 ServiceUnavailable before it has any effect,
// with Retry-After when the outage says so. The token endpoint (Entra ID,
// another service) keeps working.

type outage struct {
	on         bool
	retryAfter time.Duration // 0: no Retry-After header
}

// SetOutage starts (on) or ends a Graph outage. retryAfter > 0 adds
// Retry-After (whole seconds, at least 1, not time-scaled) to each 503.
func (s *Server) SetOutage(on bool, retryAfter time.Duration) {
	s.mu.Lock()
	s.outage = outage{on: on, retryAfter: retryAfter}
	s.mu.Unlock()
}

// refuseInOutage answers 503 during an outage and reports whether it did.
func (s *Server) refuseInOutage(w http.ResponseWriter) bool {
	s.mu.Lock()
	o := s.outage
	s.mu.Unlock()
	if !o.on {
		return false
	}
	s.stats.requests.Add(1)
	s.stats.unavailable.Add(1)
	if o.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(o.retryAfter)))
	}
	writeError(w, http.StatusServiceUnavailable, "ServiceUnavailable", "The service is temporarily unavailable. Please retry later.")
	return true
}
