package cutover

import (
	"context"
	"fmt"
	"strings"
)

// AutodiscoverTarget is where autodiscover.D must point for Exchange Online.
const AutodiscoverTarget = "autodiscover.outlook.com"

// checkAutodiscover judges autodiscover.D. Before the MX switch a missing
// or other record is a warning (it is changed with the switch); after it, a
// failure (Outlook cannot set up profiles).
func (c *Checker) checkAutodiscover(ctx context.Context, r *Report) {
	name := "autodiscover." + r.Domain
	target, err := c.Resolver.LookupCNAME(ctx, name)
	bad := Warn
	if r.MXState == MXExchange {
		bad = Fail
	}
	switch {
	case err != nil:
		r.add(Finding{Check: "Autodiscover", Status: Fail, Evidence: "CNAME lookup failed: " + err.Error(),
			Advice: "The record could not be read (this is not \"no record\"); check the resolver and run the check again."})
	case target == AutodiscoverTarget:
		r.add(Finding{Check: "Autodiscover", Status: OK, Evidence: name + " CNAME " + target})
	case target == "":
		r.add(Finding{Check: "Autodiscover", Status: bad, Evidence: "no CNAME record for " + name,
			Advice: "Create " + name + " CNAME " + AutodiscoverTarget + " with the MX switch, so that Outlook finds the new mailboxes."})
	default:
		r.add(Finding{Check: "Autodiscover", Status: bad, Evidence: name + " CNAME " + target,
			Advice: "Point " + name + " at " + AutodiscoverTarget + " with the MX switch (it points elsewhere, probably at the old provider)."})
	}
}

// dkimTarget is the CNAME target Microsoft 365 gives a selector
// (selector1-contoso-com._domainkey.contoso.onmicrosoft.com); the tenant's
// DKIM page shows the exact one.
func dkimTarget(selector, domain, initial string) string {
	if initial == "" {
		initial = "<tenant>.onmicrosoft.com"
	}
	return selector + "-" + strings.ReplaceAll(domain, ".", "-") + "._domainkey." + initial
}

// checkDKIM judges selector1 and selector2.
func (c *Checker) checkDKIM(ctx context.Context, r *Report) {
	for _, sel := range []string{"selector1", "selector2"} {
		name := sel + "._domainkey." + r.Domain
		check := "DKIM " + sel
		target, err := c.Resolver.LookupCNAME(ctx, name)
		switch {
		case err != nil:
			r.add(Finding{Check: check, Status: Fail, Evidence: "CNAME lookup failed: " + err.Error(),
				Advice: "The record could not be read (this is not \"no record\"); check the resolver and run the check again."})
		case target == "":
			r.add(Finding{Check: check, Status: Warn, Evidence: "no CNAME record for " + name,
				Advice: fmt.Sprintf("Create %s CNAME %s (the exact target is on the tenant's DKIM page), then enable DKIM signing for %s.", name, dkimTarget(sel, r.Domain, r.InitialDomain), r.Domain)})
		default:
			r.add(Finding{Check: check, Status: OK, Evidence: name + " CNAME " + target})
		}
	}
}

// checkDMARC judges _dmarc.D.
func (c *Checker) checkDMARC(ctx context.Context, r *Report) {
	name := "_dmarc." + r.Domain
	txts, err := c.Resolver.LookupTXT(ctx, name)
	if err != nil {
		r.add(Finding{Check: "DMARC", Status: Fail, Evidence: "TXT lookup failed: " + err.Error(),
			Advice: "The record could not be read (this is not \"no record\"); check the resolver and run the check again."})
		return
	}
	var recs []string
	for _, t := range txts {
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(t)), "v=dmarc1") {
			recs = append(recs, t)
		}
	}
	switch len(recs) {
	case 0:
		r.add(Finding{Check: "DMARC", Status: Warn, Evidence: "no v=DMARC1 record at " + name,
			Advice: "Publish \"v=DMARC1; p=none; rua=mailto:…\" at " + name + " to see who sends as " + r.Domain + ", then tighten to p=quarantine or p=reject."})
	case 1:
		f := Finding{Check: "DMARC", Status: OK, Evidence: name + " \"" + recs[0] + "\""}
		if strings.Contains(strings.ReplaceAll(strings.ToLower(recs[0]), " ", ""), "p=none") {
			f.Advice = "p=none only reports; tighten to p=quarantine or p=reject once SPF and DKIM pass for all senders."
		}
		r.add(f)
	default:
		r.add(Finding{Check: "DMARC", Status: Fail, Evidence: fmt.Sprintf("%d v=DMARC1 records at %s", len(recs), name),
			Advice: "Receivers ignore DMARC when there is more than one record; keep one."})
	}
}
