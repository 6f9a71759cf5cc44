package cutover

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// NotSwitchedError refuses to complete a batch while MX of one of its
// users' domains still points at the old provider: mail arriving there
// after completion would never be copied.
type NotSwitchedError struct {
	Batch, Domain string
	State         MXState
	MX            []MX
	Advice        string
}

// Code is the API's error code.
func (e *NotSwitchedError) Code() string { return "MXNotSwitched" }

func (e *NotSwitchedError) Error() string {
	what := "still points at the old provider"
	if e.State == MXMixed {
		what = "still includes the old provider's hosts"
	}
	return fmt.Sprintf("not completing batch %s: MX of %s %s (%s); mail arriving there after completion would not be copied. %s Give Force (--force) to complete anyway.",
		e.Batch, e.Domain, what, mxHosts(e.MX), e.Advice)
}

// GuardComplete checks MX of every domain before a batch is completed. It
// returns a *NotSwitchedError when MX of a domain still points at the old
// provider (or mixes it with Exchange Online). A domain whose MX cannot be
// read (timeout, SERVFAIL, no MX) does not refuse: it is returned as a
// warning to be logged.
func GuardComplete(ctx context.Context, res *Resolver, batch string, addresses []string) (warnings []string, err error) {
	for _, d := range Domains(addresses) {
		mx, lerr := res.LookupMX(ctx, d)
		if lerr != nil {
			warnings = append(warnings, "MX of "+d+" not checked before completion: "+lerr.Error())
			continue
		}
		switch st := ClassifyMX(mx); st {
		case MXNone:
			warnings = append(warnings, "MX of "+d+" not checked before completion: the domain has no MX record")
		case MXProvider, MXMixed:
			adv := "Switch MX to 0 " + ExpectedMX(d) + " (only that host) first, then run `imapmig batch syncnow " + batch + "` and complete."
			return warnings, &NotSwitchedError{Batch: batch, Domain: d, State: st, MX: mx, Advice: adv}
		}
	}
	return warnings, nil
}

// Domains are the distinct domains of addresses, sorted.
func Domains(addresses []string) []string {
	var out []string
	for _, a := range addresses {
		if d := DomainOf(a); d != "" && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return out
}

// UsersOn are the addresses on domain.
func UsersOn(addresses []string, domain string) []string {
	var out []string
	for _, a := range addresses {
		if strings.EqualFold(DomainOf(a), domain) {
			out = append(out, a)
		}
	}
	return out
}
