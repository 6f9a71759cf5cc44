package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/imapmig/imapmig/cutover"
	"github.com/imapmig/imapmig/graphdst"
	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/httpapi"
	"github.com/imapmig/imapmig/migrate/model"
)

// cutoverService is the daemon's side of the cutover endpoints: the
// resolver from dns_resolver, Graph through the config's tenants, users
// from the engine.
type cutoverService struct{ d *daemon }

var _ httpapi.Cutover = cutoverService{}

// guardTimeout bounds one MX lookup of the completion guard.
const guardTimeout = 2 * time.Second

func (s cutoverService) resolver(override string) *cutover.Resolver {
	server := override
	if server == "" {
		server = s.d.cfg.Load().DNSResolver
	}
	return &cutover.Resolver{Server: server}
}

// directory is the Graph directory of a config tenant.
func (s cutoverService) directory(ctx context.Context, tenant string) (cutover.Directory, error) {
	ct, ok := s.d.cfg.Load().Tenant(tenant)
	if !ok {
		return nil, &migrate.RefError{Kind: "tenant", Name: tenant}
	}
	tgt, err := newTarget(ctx, ct, nil, s.d.log, s.d.metrics, 0)
	if err != nil {
		return nil, err
	}
	g, ok := tgt.(*graphdst.Target)
	if !ok {
		return nil, fmt.Errorf("tenant %s: not a Graph target", tenant)
	}
	return g.Directory(), nil
}

// batchesOn are the batches with users on domain, and those users.
func (s cutoverService) batchesOn(domain, tenant string) ([]cutover.BatchState, []string, error) {
	bs, err := s.d.engine.Batches()
	if err != nil {
		return nil, nil, err
	}
	var states []cutover.BatchState
	var users []string
	for _, b := range bs {
		us, err := s.d.engine.Users(b.Name)
		if err != nil {
			return nil, nil, err
		}
		var on []string
		for _, u := range us {
			if cutover.DomainOf(u.EmailAddress) == domain {
				on = append(on, u.EmailAddress)
			}
		}
		if len(on) == 0 {
			continue
		}
		states = append(states, cutover.BatchState{Name: b.Name, Status: string(b.Status), Users: len(on), LastSynced: b.LastSyncedDateTime})
		if tenant == "" || b.Tenant == tenant {
			users = append(users, on...)
		}
	}
	return states, users, nil
}

// Check runs the checks for the domain.
func (s cutoverService) Check(ctx context.Context, req httpapi.CutoverRequest) (*cutover.Report, error) {
	domain := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(req.Domain), "."))
	batches, users, err := s.batchesOn(domain, req.Tenant)
	if err != nil {
		return nil, err
	}
	c := &cutover.Checker{Resolver: s.resolver(req.Resolver)}
	if req.Tenant != "" {
		if c.Directory, err = s.directory(ctx, req.Tenant); err != nil {
			return nil, err
		}
	}
	rep, err := c.Check(ctx, cutover.Request{Domain: domain, Tenant: req.Tenant, Users: users})
	if err != nil {
		return nil, err
	}
	rep.Batches = batches
	return rep, nil
}

// Forwarding lists the batch's forwards.
func (s cutoverService) Forwarding(ctx context.Context, batch, routingDomain string) (*cutover.Forwarding, error) {
	b, err := s.d.engine.Batch(batch)
	if err != nil {
		return nil, err
	}
	us, err := s.d.engine.Users(batch)
	if err != nil {
		return nil, err
	}
	var dir cutover.Directory
	if d, err := s.directory(ctx, b.Tenant); err == nil {
		dir = d
	} else if routingDomain == "" {
		return nil, fmt.Errorf("%w (%v)", cutover.ErrNoRoutingDomain, err)
	}
	addrs := make([]string, 0, len(us))
	for _, u := range us {
		addrs = append(addrs, u.EmailAddress)
	}
	return cutover.BuildForwarding(ctx, dir, batch, addrs, routingDomain)
}

// GuardComplete refuses while MX of a domain of the batch's users still
// points at the old provider; a domain whose MX cannot be read is logged
// in the batch's events and does not refuse.
func (s cutoverService) GuardComplete(ctx context.Context, batch string) error {
	us, err := s.d.engine.Users(batch)
	if err != nil {
		return err
	}
	if _, err := s.d.engine.Batch(batch); err != nil {
		return err
	}
	addrs := make([]string, 0, len(us))
	for _, u := range us {
		addrs = append(addrs, u.EmailAddress)
	}
	res := s.resolver("")
	res.Timeout = guardTimeout
	warnings, err := cutover.GuardComplete(ctx, res, batch, addrs)
	for _, w := range warnings {
		s.d.log.Warn(w, "batch", batch)
		_ = s.d.store.AppendEvent(batch, model.Event{Level: "warn", Message: w})
	}
	if err != nil {
		s.d.log.Warn("batch complete refused: MX not switched", "batch", batch, "err", err)
	}
	return err
}

// guardedEngine is the engine as the web console sees it: its complete
// checks MX first, like the API's (the console has no Force).
type guardedEngine struct {
	*migrate.Engine
	cut cutoverService
}

// CompleteBatch refuses while MX still points at the old provider.
func (g guardedEngine) CompleteBatch(ctx context.Context, name string) error {
	if err := g.cut.GuardComplete(ctx, name); err != nil {
		return err
	}
	return g.Engine.CompleteBatch(ctx, name)
}
