package cutover

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// exchangeMXSuffix is the suffix of Exchange Online Protection's MX hosts
// (contoso-com.mail.protection.outlook.com).
const exchangeMXSuffix = ".mail.protection.outlook.com"

// IsExchangeMX says whether host is an Exchange Online MX host.
func IsExchangeMX(host string) bool { return strings.HasSuffix(canon(host), exchangeMXSuffix) }

// ExpectedMX is the MX host Exchange Online gives a domain
// (contoso.com → contoso-com.mail.protection.outlook.com), unless the
// tenant says otherwise (serviceConfigurationRecords).
func ExpectedMX(domain string) string {
	return strings.ReplaceAll(canon(domain), ".", "-") + exchangeMXSuffix
}

// TTL thresholds (seconds).
const (
	// IdealTTL is the MX TTL to have during the switch.
	IdealTTL = 300
	// MaxTTL is the highest MX TTL that is fine before the switch.
	MaxTTL = 3600
)

// ClassifyMX says where mail for a domain goes.
func ClassifyMX(mx []MX) MXState {
	if len(mx) == 0 {
		return MXNone
	}
	var ex, other int
	for _, m := range mx {
		if IsExchangeMX(m.Host) {
			ex++
		} else {
			other++
		}
	}
	switch {
	case other == 0:
		return MXExchange
	case ex == 0:
		return MXProvider
	}
	return MXMixed
}

func mxHosts(mx []MX) string {
	s := make([]string, 0, len(mx))
	for _, m := range mx {
		s = append(s, fmt.Sprintf("%d %s", m.Preference, m.Host))
	}
	return strings.Join(s, ", ")
}

// checkMX looks up and judges MX and its TTL.
func (c *Checker) checkMX(ctx context.Context, r *Report) {
	mx, err := c.Resolver.LookupMX(ctx, r.Domain)
	if err != nil {
		r.MXState = MXUnknown
		r.add(Finding{Check: "MX", Status: Fail, Evidence: "MX lookup failed: " + err.Error(),
			Advice: "The MX record could not be read, so where mail goes is unknown (this is not \"no record\"). Check the resolver (--resolver HOST:PORT or dns_resolver) and run the check again."})
		return
	}
	slices.SortFunc(mx, func(a, b MX) int { return int(a.Preference) - int(b.Preference) })
	r.MX, r.MXState = mx, ClassifyMX(mx)
	for _, m := range mx {
		r.MXTTL = max(r.MXTTL, m.TTL)
	}
	want := ExpectedMX(r.Domain)
	switch r.MXState {
	case MXNone:
		r.add(Finding{Check: "MX", Status: Fail, Evidence: "no MX record for " + r.Domain,
			Advice: "Without MX, senders try the domain's A record. Publish MX 0 " + want + " once the mailboxes are ready."})
		return
	case MXProvider:
		r.add(Finding{Check: "MX", Status: Warn, Evidence: "MX points at the old provider: " + mxHosts(mx),
			Advice: "Mail still arrives at the old provider. When the batches are synced and forwarding is in place, switch MX to 0 " + want + " (a single record) and remove the old hosts."})
	case MXMixed:
		r.add(Finding{Check: "MX", Status: Fail, Evidence: "MX mixes Exchange Online and other hosts: " + mxHosts(mx),
			Advice: "Senders deliver to either set of hosts, so some mail keeps arriving at the old provider and is lost after completion. Keep only MX 0 " + want + "."})
	case MXExchange:
		ev := "MX points at Exchange Online: " + mxHosts(mx)
		st, adv := OK, ""
		for _, m := range mx {
			if m.Host != want && c.Directory == nil {
				adv = "Exchange Online usually expects " + want + "; compare with the record the tenant lists (check with --tenant)."
			}
		}
		r.add(Finding{Check: "MX", Status: st, Evidence: ev, Advice: adv})
	}
	r.add(judgeTTL(r.MXState, r.MXTTL))
}

// judgeTTL judges the MX TTL for the MX state.
func judgeTTL(state MXState, ttl uint32) Finding {
	f := Finding{Check: "MX TTL", Status: OK, Evidence: fmt.Sprintf("MX TTL %d s", ttl)}
	if state == MXExchange {
		if ttl < MaxTTL {
			f.Advice = fmt.Sprintf("After the batches are completed, raise the MX TTL again (for example to %d s).", MaxTTL)
		}
		return f
	}
	switch {
	case ttl > MaxTTL:
		f.Status = Warn
		f.Advice = fmt.Sprintf("Lower the MX TTL to %d s (at most %d s), at least %d s (one current TTL) before the switch, so that resolvers pick up the new MX quickly.", IdealTTL, MaxTTL, ttl)
	case ttl > IdealTTL:
		f.Advice = fmt.Sprintf("Fine; %d s is ideal for the switch. Lower it at least %d s before the switch.", IdealTTL, ttl)
	}
	return f
}
