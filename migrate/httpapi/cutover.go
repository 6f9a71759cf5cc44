package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/imapmig/imapmig/cutover"
)

// Cutover is what the cutover endpoints need; the daemon implements it
// with its resolver (dns_resolver), its tenants and its batches.
type Cutover interface {
	// Check runs `imapmig cutover check` (and fills Report.Batches).
	Check(ctx context.Context, req CutoverRequest) (*cutover.Report, error)
	// Forwarding lists a batch's forwards (routingDomain "" = the batch
	// tenant's onmicrosoft.com domain).
	Forwarding(ctx context.Context, batch, routingDomain string) (*cutover.Forwarding, error)
	// GuardComplete returns a *cutover.NotSwitchedError while MX of a
	// domain of the batch's users still points at the old provider.
	GuardComplete(ctx context.Context, batch string) error
}

// CutoverRequest is the body of POST /v1/cutover/check and /v1/cutover/plan.
type CutoverRequest struct {
	Domain string `json:"Domain"`
	// Tenant (a config tenant name) adds the Graph checks.
	Tenant string `json:"Tenant,omitempty"`
	// Resolver is HOST:PORT of the DNS resolver to ask ("" = the daemon's
	// dns_resolver, else the system resolver).
	Resolver string `json:"Resolver,omitempty"`
}

// CompleteRequest is the optional body of POST /v1/batches/{name}/complete.
type CompleteRequest struct {
	// Force completes even while MX still points at the old provider.
	Force bool `json:"Force"`
}

// SetCutover enables the cutover endpoints and the MX guard of complete.
// Call it before serving.
func (s *Server) SetCutover(c Cutover) { s.cutover = c }

// codedError is an error with its own status and code.
type codedError struct {
	status    int
	code, msg string
}

func (e *codedError) Error() string   { return e.msg }
func (e *codedError) Code() string    { return e.code }
func (e *codedError) HTTPStatus() int { return e.status }

var errNoCutover = &codedError{http.StatusNotImplemented, "NotImplemented", "this daemon has no cutover checks configured"}

// cutoverRoutes registers the cutover endpoints.
func (s *Server) cutoverRoutes(h func(string, func(*http.Request) (any, error))) {
	check := func(r *http.Request) (*cutover.Report, error) {
		if s.cutover == nil {
			return nil, errNoCutover
		}
		var req CutoverRequest
		if err := decode(r, &req); err != nil {
			return nil, err
		}
		if req.Domain == "" {
			return nil, &badRequest{"want Domain"}
		}
		rep, err := s.cutover.Check(r.Context(), req)
		if errors.Is(err, cutover.ErrNoDomain) {
			return nil, &badRequest{err.Error()}
		}
		return rep, withEchoes(err, req.Domain, req.Tenant, req.Resolver)
	}
	h("POST /v1/cutover/check", func(r *http.Request) (any, error) { return check(r) })
	h("POST /v1/cutover/plan", func(r *http.Request) (any, error) {
		rep, err := check(r)
		if err != nil {
			return nil, err
		}
		return cutover.PlanFor(rep), nil
	})
	h("GET /v1/batches/{name}/forwarding", func(r *http.Request) (any, error) {
		if s.cutover == nil {
			return nil, errNoCutover
		}
		f, err := s.cutover.Forwarding(r.Context(), r.PathValue("name"), r.URL.Query().Get("routingDomain"))
		if errors.Is(err, cutover.ErrNoRoutingDomain) {
			return nil, &badRequest{err.Error()}
		}
		return f, err
	})
}

// completeBatch is POST /v1/batches/{name}/complete: unless Force, MX of
// the batch's domains is checked first (409 MXNotSwitched while it still
// points at the old provider), then the engine completes the batch.
func (s *Server) completeBatch(r *http.Request) (any, error) {
	var req CompleteRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	name := r.PathValue("name")
	if !req.Force && s.cutover != nil {
		if err := s.cutover.GuardComplete(r.Context(), name); err != nil {
			var ns *cutover.NotSwitchedError
			if errors.As(err, &ns) {
				return nil, &codedError{http.StatusConflict, ns.Code(), ns.Error()}
			}
			return nil, err
		}
	}
	return nil, s.eng.CompleteBatch(r.Context(), name)
}
