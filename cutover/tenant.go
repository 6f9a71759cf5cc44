package cutover

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrDomainNotFound: the tenant does not have the domain.
var ErrDomainNotFound = errors.New("domain not found in the tenant")

// TenantDomain is a domain of the tenant (Graph's domain resource).
type TenantDomain struct {
	Name              string   `json:"Name"`
	IsVerified        bool     `json:"IsVerified"`
	IsInitial         bool     `json:"IsInitial"`
	IsDefault         bool     `json:"IsDefault"`
	SupportedServices []string `json:"SupportedServices,omitempty"`
}

// ExpectedRecord is a DNS record Microsoft expects for a service of the
// domain (Graph's serviceConfigurationRecords).
type ExpectedRecord struct {
	// Type is Mx, Txt, CName or Srv (as Graph writes recordType).
	Type    string `json:"Type"`
	Label   string `json:"Label"`
	Value   string `json:"Value"` // mailExchange, text, canonicalName or nameTarget
	TTL     int    `json:"TTL"`
	Service string `json:"Service"` // supportedService: Email, OfficeCommunicationsOnline, …
	// Optional is Graph's isOptional.
	Optional bool `json:"Optional"`
}

// Directory is what the check needs of the tenant (implemented by
// graphdst.Directory over Microsoft Graph, permission Domain.Read.All and
// User.Read.All).
type Directory interface {
	// Domain is GET /domains/{name}; ErrDomainNotFound when the tenant
	// does not have it.
	Domain(ctx context.Context, name string) (TenantDomain, error)
	// Domains is GET /domains.
	Domains(ctx context.Context) ([]TenantDomain, error)
	// ServiceRecords is GET /domains/{name}/serviceConfigurationRecords.
	ServiceRecords(ctx context.Context, name string) ([]ExpectedRecord, error)
	// ProxyAddresses is the user's proxyAddresses ("SMTP:primary",
	// "smtp:alias").
	ProxyAddresses(ctx context.Context, user string) ([]string, error)
}

// InitialDomain is the tenant's initial (tenant.onmicrosoft.com) domain.
func InitialDomain(ctx context.Context, dir Directory) (string, error) {
	ds, err := dir.Domains(ctx)
	if err != nil {
		return "", err
	}
	for _, d := range ds {
		if d.IsInitial {
			return canon(d.Name), nil
		}
	}
	for _, d := range ds {
		if strings.HasSuffix(canon(d.Name), ".onmicrosoft.com") && !strings.HasSuffix(canon(d.Name), ".mail.onmicrosoft.com") {
			return canon(d.Name), nil
		}
	}
	return "", errors.New("the tenant lists no initial (onmicrosoft.com) domain")
}

// RoutingAddress is the user's address on the routing domain among its
// proxy addresses ("" when it has none).
func RoutingAddress(proxies []string, routingDomain string) string {
	for _, p := range proxies {
		typ, addr, ok := strings.Cut(p, ":")
		if !ok || !strings.EqualFold(typ, "smtp") {
			continue
		}
		if _, dom, ok := strings.Cut(addr, "@"); ok && strings.EqualFold(dom, routingDomain) {
			return addr
		}
	}
	return ""
}

// checkTenant judges what the tenant says about the domain and the
// mailboxes (users: the addresses of the batches' users on the domain).
func (c *Checker) checkTenant(ctx context.Context, r *Report, users []string) {
	dir := c.Directory
	d, err := dir.Domain(ctx, r.Domain)
	switch {
	case errors.Is(err, ErrDomainNotFound):
		r.add(Finding{Check: "Tenant domain", Status: Fail, Evidence: r.Domain + " is not a domain of tenant " + r.Tenant,
			Advice: "Add " + r.Domain + " to the tenant (Microsoft 365 admin center, Settings, Domains) and verify it with the TXT record it shows."})
	case err != nil:
		r.add(Finding{Check: "Tenant domain", Status: Fail, Evidence: "Graph GET /domains/" + r.Domain + " failed: " + err.Error(),
			Advice: "The app needs the Domain.Read.All application permission (with admin consent)."})
	case !d.IsVerified:
		r.add(Finding{Check: "Tenant domain", Status: Fail, Evidence: r.Domain + " is in tenant " + r.Tenant + " but not verified",
			Advice: "Publish the verification TXT record the admin center shows (MS=ms…) and verify the domain: Exchange Online accepts no mail for an unverified domain."})
	default:
		ev := r.Domain + " is verified in tenant " + r.Tenant
		if len(d.SupportedServices) > 0 {
			ev += " (services: " + strings.Join(d.SupportedServices, ", ") + ")"
		}
		r.add(Finding{Check: "Tenant domain", Status: OK, Evidence: ev})
	}
	if err == nil {
		c.checkExpected(ctx, r)
	}
	initial, ierr := InitialDomain(ctx, dir)
	if ierr != nil {
		r.add(Finding{Check: "Routing addresses", Status: Fail, Evidence: "cannot read the tenant's domains: " + ierr.Error()})
		return
	}
	r.InitialDomain = initial
	c.checkRouting(ctx, r, users)
}

// checkExpected compares DNS with the Email records the tenant expects.
func (c *Checker) checkExpected(ctx context.Context, r *Report) {
	recs, err := c.Directory.ServiceRecords(ctx, r.Domain)
	if err != nil {
		r.add(Finding{Check: "Expected records", Status: Fail, Evidence: "Graph GET /domains/" + r.Domain + "/serviceConfigurationRecords failed: " + err.Error()})
		return
	}
	n := 0
	for _, e := range recs {
		if !strings.EqualFold(e.Service, "Email") {
			continue
		}
		n++
		label := canon(e.Label)
		want := canon(e.Value)
		switch strings.ToLower(e.Type) {
		case "mx":
			f := Finding{Check: "Expected MX", Evidence: fmt.Sprintf("the tenant expects MX %s at %s", want, label)}
			var hosts []string
			found := false
			for _, m := range r.MX {
				hosts = append(hosts, m.Host)
				found = found || m.Host == want
			}
			switch {
			case r.MXState == MXUnknown:
				f.Status, f.Evidence = Fail, f.Evidence+"; the MX lookup failed"
			case found && r.MXState == MXExchange:
				f.Status = OK
			case found:
				f.Status, f.Advice = Warn, "Remove the other MX hosts ("+strings.Join(hosts, ", ")+") at the switch."
			case r.MXState == MXExchange:
				f.Status, f.Evidence = Fail, f.Evidence+"; DNS has "+strings.Join(hosts, ", ")
				f.Advice = "MX points at Exchange Online but not at the host this tenant expects; mail may go to another tenant. Set MX 0 " + want + "."
			default:
				f.Status, f.Evidence = Warn, f.Evidence+"; DNS still has "+orNone(hosts)
				f.Advice = "This is the switch: set MX 0 " + want + " when the batches are ready (see `imapmig cutover plan`)."
			}
			r.add(f)
		case "txt":
			f := Finding{Check: "Expected TXT", Evidence: fmt.Sprintf("the tenant expects TXT \"%s\" at %s", e.Value, label)}
			if sf, ok := r.Finding("SPF include"); ok && sf.Status == OK {
				f.Status = OK
				f.Evidence += "; the SPF record includes " + ExchangeSPFInclude
			} else {
				f.Status = Fail
				f.Advice = "Add include:" + ExchangeSPFInclude + " to the one SPF record of " + label + " (see the SPF findings)."
			}
			r.add(f)
		case "cname":
			f := Finding{Check: "Expected CNAME", Evidence: fmt.Sprintf("the tenant expects %s CNAME %s", label, want)}
			got, err := c.Resolver.LookupCNAME(ctx, label)
			switch {
			case err != nil:
				f.Status, f.Evidence = Fail, f.Evidence+"; lookup failed: "+err.Error()
			case got == want:
				f.Status = OK
			case r.MXState == MXExchange:
				f.Status, f.Evidence = Fail, f.Evidence+"; DNS has "+orNone([]string{got})
				f.Advice = "Set " + label + " CNAME " + want + "."
			default:
				f.Status, f.Evidence = Warn, f.Evidence+"; DNS has "+orNone([]string{got})
				f.Advice = "Set " + label + " CNAME " + want + " with the MX switch."
			}
			r.add(f)
		default:
			r.add(Finding{Check: "Expected " + e.Type, Status: OK, Evidence: fmt.Sprintf("the tenant lists %s %s %s (not checked)", label, e.Type, e.Value)})
		}
	}
	if n == 0 {
		r.add(Finding{Check: "Expected records", Status: Warn, Evidence: "the tenant lists no Email records for " + r.Domain,
			Advice: "Enable the Email service for the domain in the admin center (Domains, DNS records)."})
	}
}

func orNone(s []string) string {
	var out []string
	for _, v := range s {
		if v != "" {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return "no record"
	}
	return strings.Join(out, ", ")
}

// maxListed bounds the addresses named in one finding.
const maxListed = 20

// checkRouting checks that each mailbox has its address on the initial
// domain, which forwarding from the old provider sends to.
func (c *Checker) checkRouting(ctx context.Context, r *Report, users []string) {
	if len(users) == 0 {
		r.add(Finding{Check: "Routing addresses", Status: OK, Evidence: "no migration users on " + r.Domain + " (nothing to check)"})
		return
	}
	var missing, failed []string
	for _, u := range users {
		px, err := c.Directory.ProxyAddresses(ctx, u)
		if err != nil {
			failed = append(failed, u+" ("+err.Error()+")")
			continue
		}
		if RoutingAddress(px, r.InitialDomain) == "" {
			missing = append(missing, u)
		}
	}
	ok := len(users) - len(missing) - len(failed)
	f := Finding{Check: "Routing addresses", Status: OK,
		Evidence: fmt.Sprintf("%d of %d mailboxes have an @%s address", ok, len(users), r.InitialDomain)}
	if len(missing) > 0 {
		f.Status = Fail
		f.Evidence += "; missing: " + listed(missing)
		f.Advice = "Forwarding from the old provider goes to user@" + r.InitialDomain + "; add that address to these mailboxes (Exchange adds it by default; it was removed or the email address policy differs)."
	}
	if len(failed) > 0 {
		f.Status = Fail
		f.Evidence += "; could not read: " + listed(failed)
		if f.Advice == "" {
			f.Advice = "The app needs User.Read.All to read proxyAddresses."
		}
	}
	r.add(f)
}

func listed(s []string) string {
	if len(s) > maxListed {
		return strings.Join(s[:maxListed], ", ") + fmt.Sprintf(" and %d more", len(s)-maxListed)
	}
	return strings.Join(s, ", ")
}
