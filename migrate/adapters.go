package migrate

import (
	"context"
	"errors"
	"fmt"

	"github.com/imapmig/imapmig/state"
)

// The adapters of the registry: one IMAP connector per endpoint and one
// Graph target per tenant, shared by every pass. A batch starts many
// passes at once, and each asks for its endpoint's connector and its
// tenant's target in its first milliseconds; they are built once (a
// single flight per name) and the others wait for that one. Built per
// pass, 200 passes held 200 targets, each with its own HTTP/2
// connection, token and throttling state, and 200 copies of the system
// certificate pool.

// cachedAdapter returns m[name], building it with build when it is not
// there, once however many passes ask at the same time. A build that
// started before ForgetAdapters dropped name is handed to the passes that
// waited for it but not kept. When the pass whose context ran the build
// was stopped meanwhile, a pass still running builds its own.
func cachedAdapter[T any](ctx context.Context, r *registry, kind string, m map[string]T, name string, build func(context.Context) (T, error)) (T, error) {
	r.mu.Lock()
	v, ok := m[name]
	r.mu.Unlock()
	if ok {
		return v, nil
	}
	res, err, _ := r.flight.Do(kind+"\x00"+name, func() (any, error) {
		r.mu.Lock()
		gen := r.gen
		v, ok := m[name]
		r.mu.Unlock()
		if ok {
			return v, nil
		}
		v, err := build(ctx)
		if err != nil {
			return nil, err
		}
		r.mu.Lock()
		if r.gen == gen {
			m[name] = v
		}
		r.mu.Unlock()
		return v, nil
	})
	if err != nil {
		if ctx.Err() == nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
			return build(ctx)
		}
		var zero T
		return zero, err
	}
	return res.(T), nil
}

func (e *Engine) targetFor(ctx context.Context, tenant string) (Target, error) {
	if e.opts.Targets == nil {
		return nil, Fatal(errors.New("this daemon has no Graph target configured"))
	}
	return cachedAdapter(ctx, e.reg(), "tenant", e.reg().targets, tenant, func(ctx context.Context) (Target, error) {
		ts, err := e.store.Tenants()
		if err != nil {
			return nil, Fatal(err)
		}
		for _, tn := range ts {
			if tn.Name == tenant {
				return e.opts.Targets(ctx, tn)
			}
		}
		return nil, FailUser("TenantNotFound", fmt.Errorf("no tenant named %q", tenant))
	})
}

func (e *Engine) sourceFor(ctx context.Context, ep state.Endpoint) (SourceConnector, error) {
	if e.opts.Sources == nil {
		return nil, Fatal(errors.New("this daemon has no IMAP connector configured"))
	}
	return cachedAdapter(ctx, e.reg(), "endpoint", e.reg().sources, ep.Name, func(ctx context.Context) (SourceConnector, error) {
		return e.opts.Sources(ctx, ep)
	})
}
