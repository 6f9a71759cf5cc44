package cutover

import (
	"context"
	"errors"
	"strings"
)

// ForwardingRow is one forward to set at the old provider.
type ForwardingRow struct {
	Source string `json:"Source"`
	Target string `json:"Target"`
	// Note says when Target is not (yet) one of the mailbox's addresses.
	Note string `json:"Note,omitempty"`
}

// Forwarding is the list of forwards for a batch.
type Forwarding struct {
	Batch         string          `json:"Batch"`
	RoutingDomain string          `json:"RoutingDomain"`
	Rows          []ForwardingRow `json:"Rows"`
}

// ErrNoRoutingDomain: neither given nor readable from the tenant.
var ErrNoRoutingDomain = errors.New("no routing domain: give --routing-domain, or configure the batch's tenant so that its onmicrosoft.com domain can be read")

// BuildForwarding lists source → routing address for users. With a
// Directory the target is the mailbox's own address on the routing domain
// (its proxyAddresses), else user@routingDomain.
func BuildForwarding(ctx context.Context, dir Directory, batch string, users []string, routingDomain string) (*Forwarding, error) {
	routingDomain = canon(routingDomain)
	if routingDomain == "" {
		if dir == nil {
			return nil, ErrNoRoutingDomain
		}
		d, err := InitialDomain(ctx, dir)
		if err != nil {
			return nil, err
		}
		routingDomain = d
	}
	f := &Forwarding{Batch: batch, RoutingDomain: routingDomain, Rows: []ForwardingRow{}}
	for _, u := range users {
		local, _, _ := strings.Cut(u, "@")
		row := ForwardingRow{Source: u, Target: local + "@" + routingDomain}
		if dir != nil {
			px, err := dir.ProxyAddresses(ctx, u)
			switch {
			case err != nil:
				row.Note = "proxyAddresses not readable: " + err.Error()
			case RoutingAddress(px, routingDomain) != "":
				row.Target = RoutingAddress(px, routingDomain)
			default:
				row.Note = "not an address of the mailbox yet: add it before forwarding"
			}
		}
		f.Rows = append(f.Rows, row)
	}
	return f, nil
}
