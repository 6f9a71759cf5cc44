package cutover

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Checker runs the checks.
type Checker struct {
	Resolver *Resolver
	// Directory is the tenant (nil: DNS checks only).
	Directory Directory
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Request says what to check.
type Request struct {
	Domain string
	// Tenant names the tenant (for the report; with a Directory).
	Tenant string
	// Users are the addresses of the migration users on the domain, whose
	// routing addresses are checked (with a Directory).
	Users []string
}

// ErrNoDomain: the request names no domain.
var ErrNoDomain = errors.New("cutover: no domain given")

// Check runs every check for the domain.
func (c *Checker) Check(ctx context.Context, req Request) (*Report, error) {
	d := canon(req.Domain)
	if d == "" || strings.ContainsAny(d, " /@") {
		return nil, ErrNoDomain
	}
	if c.Resolver == nil {
		c.Resolver = &Resolver{}
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	r := &Report{Domain: d, Tenant: req.Tenant, Resolver: c.Resolver.Name(), At: now().UTC(), Status: OK}
	c.checkMX(ctx, r)
	c.checkSPF(ctx, r)
	c.checkAutodiscover(ctx, r)
	if c.Directory != nil {
		c.checkTenant(ctx, r, req.Users)
	}
	c.checkDKIM(ctx, r)
	c.checkDMARC(ctx, r)
	return r, nil
}

// DomainOf is the domain of an address, in lower case.
func DomainOf(address string) string {
	_, d, ok := strings.Cut(address, "@")
	if !ok {
		return ""
	}
	return canon(d)
}
