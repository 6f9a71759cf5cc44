package graphdst_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imapmig/imapmig/cutover"
	"github.com/imapmig/imapmig/testenv/dnszone"
	"github.com/imapmig/imapmig/testenv/graphemu"
)

func TestDirectory_DomainsRecordsAndProxyAddresses(t *testing.T) {
	f := start(t, graphemu.Options{}, nil)
	dir := f.target.Directory()
	ctx := context.Background()

	d, err := dir.Domain(ctx, "contoso.test")
	if err != nil || !d.IsVerified || d.IsInitial || !slices.Contains(d.SupportedServices, "Email") {
		t.Fatalf("contoso.test: %+v, %v", d, err)
	}
	if _, err := dir.Domain(ctx, "fabrikam.test"); !errors.Is(err, cutover.ErrDomainNotFound) {
		t.Fatalf("unknown domain: %v, want ErrDomainNotFound", err)
	}
	f.emu.SetDomain(graphemu.Domain{Name: "fabrikam.test"})
	if d, err := dir.Domain(ctx, "fabrikam.test"); err != nil || d.IsVerified {
		t.Fatalf("unverified domain: %+v, %v", d, err)
	}
	initial, err := cutover.InitialDomain(ctx, dir)
	if err != nil || initial != graphemu.DefaultInitialDomain {
		t.Fatalf("initial domain %q, %v", initial, err)
	}
	recs, err := dir.ServiceRecords(ctx, "contoso.test")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range recs {
		if r.Service == "Email" {
			got[r.Type+" "+r.Label] = r.Value
		}
	}
	wantRecs := map[string]string{
		"Mx contoso.test":                 "contoso-test.mail.protection.outlook.com",
		"Txt contoso.test":                "v=spf1 include:spf.protection.outlook.com -all",
		"CName autodiscover.contoso.test": "autodiscover.outlook.com",
	}
	for k, v := range wantRecs {
		if got[k] != v {
			t.Errorf("%s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	px, err := dir.ProxyAddresses(ctx, user)
	if err != nil || cutover.RoutingAddress(px, initial) != "alice@"+initial {
		t.Fatalf("proxyAddresses %v, %v", px, err)
	}
	f.emu.SetProxyAddresses(user, []string{"SMTP:" + user})
	if px, err := dir.ProxyAddresses(ctx, user); err != nil || cutover.RoutingAddress(px, initial) != "" {
		t.Fatalf("after removing the routing address: %v, %v", px, err)
	}
	if _, err := dir.ProxyAddresses(ctx, missing); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("missing user: %v", err)
	}
}

// The tenant checks: an unverified domain, a mailbox without its
// onmicrosoft address, DNS against the records the tenant expects.
func TestCheck_TenantFindings(t *testing.T) {
	f := start(t, graphemu.Options{Mailboxes: []string{"bob@contoso.test"}}, nil)
	zone := `contoso.test. 300 MX 0 contoso-test.mail.protection.outlook.com.
contoso.test. TXT "v=spf1 include:spf.protection.outlook.com -all"
spf.protection.outlook.com. TXT "v=spf1 ip4:40.92.0.0/15 -all"
autodiscover.contoso.test. CNAME autodiscover.outlook.com.
`
	srv := dnszone.Start(t, zone)
	c := &cutover.Checker{Resolver: &cutover.Resolver{Server: srv.Addr, Timeout: 2 * time.Second}, Directory: f.target.Directory()}
	req := cutover.Request{Domain: "contoso.test", Tenant: "t1", Users: []string{user, "bob@contoso.test"}}
	run := func() *cutover.Report {
		t.Helper()
		r, err := c.Check(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	status := func(r *cutover.Report, check string) cutover.Finding {
		t.Helper()
		fd, ok := r.Finding(check)
		if !ok {
			t.Fatalf("no %s finding: %+v", check, r.Findings)
		}
		return fd
	}
	r := run()
	for _, check := range []string{"Tenant domain", "Expected MX", "Expected TXT", "Expected CNAME", "Routing addresses"} {
		if fd := status(r, check); fd.Status != cutover.OK {
			t.Errorf("%s: %s (%s)", check, fd.Status, fd.Evidence)
		}
	}
	if r.InitialDomain != graphemu.DefaultInitialDomain {
		t.Errorf("InitialDomain %q", r.InitialDomain)
	}

	f.emu.SetProxyAddresses("bob@contoso.test", []string{"SMTP:bob@contoso.test"})
	r = run()
	if fd := status(r, "Routing addresses"); fd.Status != cutover.Fail || !strings.Contains(fd.Evidence, "missing: bob@contoso.test") ||
		!strings.Contains(fd.Evidence, "1 of 2") {
		t.Errorf("mailbox without its onmicrosoft address: %+v", fd)
	}

	f.emu.SetDomain(graphemu.Domain{Name: "contoso.test", IsVerified: false})
	r = run()
	if fd := status(r, "Tenant domain"); fd.Status != cutover.Fail || !strings.Contains(fd.Evidence, "not verified") {
		t.Errorf("unverified domain: %+v", fd)
	}
	f.emu.RemoveDomain("contoso.test")
	r = run()
	if fd := status(r, "Tenant domain"); fd.Status != cutover.Fail || !strings.Contains(fd.Evidence, "not a domain of tenant") {
		t.Errorf("domain not in the tenant: %+v", fd)
	}

	// MX at Exchange Online but at another tenant's host.
	f.emu.SetDomain(graphemu.Domain{Name: "contoso.test", IsVerified: true})
	if err := srv.SetZone(strings.Replace(zone, "contoso-test.mail", "contoso-test01b.mail", 1)); err != nil {
		t.Fatal(err)
	}
	r = run()
	if fd := status(r, "Expected MX"); fd.Status != cutover.Fail || !strings.Contains(fd.Evidence, "contoso-test01b") {
		t.Errorf("wrong Exchange MX host: %+v", fd)
	}
}
