package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imapmig/imapmig/cutover"
	"github.com/imapmig/imapmig/testenv/dnszone"
	"github.com/imapmig/imapmig/testenv/graphemu"
	"github.com/imapmig/imapmig/testenv/mailgen"
)

// The domain before the switch: MX at the old provider with a day's TTL,
// SPF with both includes but ~all, no autodiscover, no DKIM, no DMARC.
const zoneBeforeSwitch = `contoso.example. 3600 MX 10 mx1.oldhost.net.
contoso.example. TXT "v=spf1 include:spf.oldhost.net include:spf.protection.outlook.com ~all"
spf.oldhost.net. TXT "v=spf1 ip4:192.0.2.0/24 -all"
spf.protection.outlook.com. TXT "v=spf1 ip4:40.92.0.0/15 -all"
`

// The real binary and daemon, a real DNS server (dns_resolver in the
// config) and the emulator: check with and without the tenant, forwarding,
// plan, and `batch complete` refused before the MX switch and allowed after
// it (and with --force before it).
func TestCutover_CheckForwardingPlanAndGuardedComplete(t *testing.T) {
	e := newE2E(t, "cut", 3, mailgen.Options{Messages: 5}, graphemu.Options{})
	dns := dnszone.Start(t, zoneBeforeSwitch)
	e.appendConfig("dns_resolver: " + dns.Addr + "\n")
	e.start()
	u0, u1 := e.users[0].email, e.users[1].email

	check := func(wantCode int, args ...string) cutover.Report {
		t.Helper()
		out, errOut, code := runCLI(t, e.env, append([]string{"cutover", "check", "--domain", "contoso.example", "-o", "json"}, args...)...)
		if code != wantCode {
			t.Fatalf("cutover check %v: exit %d, want %d\n%s%s", args, code, wantCode, out, errOut)
		}
		var r cutover.Report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return r
	}
	finding := func(r cutover.Report, name string) cutover.Finding {
		t.Helper()
		f, ok := r.Finding(name)
		if !ok {
			t.Fatalf("no %s finding: %+v", name, r.Findings)
		}
		return f
	}

	// DNS only: warnings (old provider, ~all, no autodiscover/DKIM/DMARC)
	// exit 0; --strict makes them exit 1.
	r := check(0)
	if r.Status != cutover.Warn || r.MXState != cutover.MXProvider || r.MXTTL != 3600 || finding(r, "SPF all").Status != cutover.Warn {
		t.Fatalf("DNS-only check: %+v", r)
	}
	check(1, "--strict")
	if out, _, code := runCLI(t, e.env, "cutover", "check", "--domain", "contoso.example"); code != 0 ||
		!strings.Contains(out, "MX points at the old provider") || !strings.Contains(out, "300 s is ideal") {
		t.Errorf("table output: exit %d\n%s", code, out)
	}

	// Three batches of one user each, synced.
	lines := strings.Split(strings.TrimSpace(string(must2(os.ReadFile(filepath.Join(e.dir, "users.csv"))))), "\n")
	for i, name := range []string{"cut0", "cut1", "cut2"} {
		p := writeFile(t, filepath.Join(e.dir, name+".csv"), lines[0]+"\n"+lines[i+1]+"\n")
		e.cli("batch", "new", name, "--endpoint", "dovecot", "--tenant", "contoso", "--csv", p, "--autostart")
	}
	for _, name := range []string{"cut0", "cut1", "cut2"} {
		if v := e.waitSynced(name, 3*time.Minute); v.Status != "Synced" {
			t.Fatalf("batch %s: %s", name, v.Status)
		}
	}

	// With the tenant: verified, expected records, routing addresses.
	r = check(0, "--tenant", "contoso")
	if f := finding(r, "Tenant domain"); f.Status != cutover.OK {
		t.Errorf("tenant domain: %+v", f)
	}
	if f := finding(r, "Routing addresses"); f.Status != cutover.OK || !strings.Contains(f.Evidence, "3 of 3") {
		t.Errorf("routing addresses: %+v", f)
	}
	if f := finding(r, "Expected MX"); f.Status != cutover.Warn || !strings.Contains(f.Evidence, "contoso-example.mail.protection.outlook.com") {
		t.Errorf("expected MX before the switch: %+v", f)
	}
	e.emu.SetProxyAddresses(u1, []string{"SMTP:" + u1})
	r = check(1, "--tenant", "contoso")
	if f := finding(r, "Routing addresses"); f.Status != cutover.Fail || !strings.Contains(f.Evidence, "missing: "+u1) {
		t.Errorf("mailbox without its onmicrosoft address: %+v", f)
	}
	e.emu.SetDomain(graphemu.Domain{Name: "contoso.example", IsVerified: false})
	r = check(1, "--tenant", "contoso")
	if f := finding(r, "Tenant domain"); f.Status != cutover.Fail || !strings.Contains(f.Evidence, "not verified") {
		t.Errorf("unverified domain: %+v", f)
	}
	e.emu.SetDomain(graphemu.Domain{Name: "contoso.example", IsVerified: true})

	// Forwarding: the mailbox's own onmicrosoft address, or a note.
	out := e.cli("cutover", "forwarding", "--batch", "cut0", "-o", "csv")
	if want := u0 + "," + strings.Split(u0, "@")[0] + "@" + graphemu.DefaultInitialDomain + ","; !strings.Contains(out, want) || !strings.HasPrefix(out, "Source,ForwardTo,Note\n") {
		t.Errorf("forwarding csv:\n%s\nwant a line %q", out, want)
	}
	out = e.cli("cutover", "forwarding", "--batch", "cut1", "-o", "json")
	if !strings.Contains(out, "not an address of the mailbox yet") {
		t.Errorf("forwarding of a mailbox without the address:\n%s", out)
	}
	out = e.cli("cutover", "forwarding", "--batch", "cut1", "--routing-domain", "contoso.mail.onmicrosoft.com")
	if !strings.Contains(out, strings.Split(u1, "@")[0]+"@contoso.mail.onmicrosoft.com") {
		t.Errorf("forwarding with --routing-domain:\n%s", out)
	}

	// Plan before the switch: the TTL is next.
	var p cutover.Plan
	must(t, json.Unmarshal([]byte(e.cli("cutover", "plan", "--domain", "contoso.example", "-o", "json")), &p))
	if len(p.Steps) != 7 || !p.Steps[0].Next || p.Steps[0].State != cutover.StepTodo || p.Steps[2].State != cutover.StepDone || p.Steps[3].State != cutover.StepTodo {
		t.Errorf("plan before the switch: %+v", p.Steps)
	}
	if len(p.Report.Batches) != 3 {
		t.Errorf("plan's batches: %+v", p.Report.Batches)
	}

	// Complete before the switch: refused with the reason and the advice.
	out, errOut, code := runCLI(t, e.env, "batch", "complete", "cut0", "--yes")
	if code != 1 || !strings.Contains(errOut, "MXNotSwitched") || !strings.Contains(errOut, "mx1.oldhost.net") ||
		!strings.Contains(errOut, "contoso-example.mail.protection.outlook.com") || !strings.Contains(errOut, "--force") {
		t.Fatalf("complete before the switch: exit %d\n%s%s", code, out, errOut)
	}
	if v := e.batch("cut0"); v.Status != "Synced" {
		t.Fatalf("a refused complete changed the batch: %s", v.Status)
	}
	// --force overrides.
	e.cli("batch", "complete", "cut1", "--yes", "--force")
	e.waitCompleted("cut1")

	// MX that cannot be read (SERVFAIL) does not refuse; the event log
	// says it was not checked.
	dns.SetMode(dnszone.ServFail)
	e.cli("batch", "complete", "cut2", "--yes")
	e.waitCompleted("cut2")
	if ev := e.cli("batch", "events", "cut2"); !strings.Contains(ev, "MX of contoso.example not checked before completion") || !strings.Contains(ev, "SERVFAIL") {
		t.Errorf("events of a completion without an MX answer:\n%s", ev)
	}
	dns.SetMode(dnszone.Answer)

	// The switch; complete is allowed.
	must(t, dns.SetZone(strings.Replace(zoneBeforeSwitch, "3600 MX 10 mx1.oldhost.net.", "300 MX 0 contoso-example.mail.protection.outlook.com.", 1)))
	e.cli("batch", "complete", "cut0", "--yes")
	e.waitCompleted("cut0")
	must(t, json.Unmarshal([]byte(e.cli("cutover", "plan", "--domain", "contoso.example", "-o", "json")), &p))
	var states []string
	for _, s := range p.Steps {
		states = append(states, string(s.State))
	}
	if got := strings.Join(states, " "); got != "done done done done done done todo" || !p.Steps[6].Next {
		t.Errorf("plan after completion: %s", got)
	}
}

func (e *e2e) waitCompleted(name string) {
	e.t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		v := e.batch(name)
		if strings.HasPrefix(string(v.Status), "Completed") {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("batch %s not completed: %+v", name, v)
		}
	}
}

func must2[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
