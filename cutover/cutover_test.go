package cutover_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/imapmig/imapmig/cutover"
	"github.com/imapmig/imapmig/testenv/dnszone"
)

// Zone pieces shared by the cases. The old provider is oldhost.net.
const (
	oldSPF = `spf.oldhost.net. TXT "v=spf1 ip4:192.0.2.0/24 -all"
spf.protection.outlook.com. TXT "v=spf1 ip4:40.92.0.0/15 ip4:40.107.0.0/16 -all"
`
	goodRest = `contoso.com. TXT "v=spf1 include:spf.oldhost.net include:spf.protection.outlook.com -all"
autodiscover.contoso.com. CNAME autodiscover.outlook.com.
selector1._domainkey.contoso.com. CNAME selector1-contoso-com._domainkey.contoso.onmicrosoft.com.
selector2._domainkey.contoso.com. CNAME selector2-contoso-com._domainkey.contoso.onmicrosoft.com.
_dmarc.contoso.com. TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@contoso.com"
` + oldSPF
	providerMX = "contoso.com. 300 MX 10 mx1.oldhost.net.\ncontoso.com. 300 MX 20 mx2.oldhost.net.\n"
	exchangeMX = "contoso.com. 300 MX 0 contoso-com.mail.protection.outlook.com.\n"
)

func check(t *testing.T, zone string) *cutover.Report {
	t.Helper()
	srv := dnszone.Start(t, zone)
	c := &cutover.Checker{Resolver: &cutover.Resolver{Server: srv.Addr, Timeout: 2 * time.Second}}
	r, err := c.Check(context.Background(), cutover.Request{Domain: "contoso.com"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func finding(t *testing.T, r *cutover.Report, check string) cutover.Finding {
	t.Helper()
	f, ok := r.Finding(check)
	if !ok {
		t.Fatalf("no %q finding; findings: %+v", check, r.Findings)
	}
	return f
}

func want(t *testing.T, r *cutover.Report, check string, st cutover.Status, evidence ...string) cutover.Finding {
	t.Helper()
	f := finding(t, r, check)
	if f.Status != st {
		t.Errorf("%s: status %s, want %s (%s; %s)", check, f.Status, st, f.Evidence, f.Advice)
	}
	for _, e := range evidence {
		if !strings.Contains(f.Evidence+" | "+f.Advice, e) {
			t.Errorf("%s: %q not in %q | %q", check, e, f.Evidence, f.Advice)
		}
	}
	return f
}

func TestCheck_ProviderMX(t *testing.T) {
	r := check(t, providerMX+goodRest)
	if r.MXState != cutover.MXProvider {
		t.Fatalf("MXState %s, want provider", r.MXState)
	}
	want(t, r, "MX", cutover.Warn, "mx1.oldhost.net", "contoso-com.mail.protection.outlook.com")
	want(t, r, "MX TTL", cutover.OK, "300 s")
	want(t, r, "SPF", cutover.OK)
	want(t, r, "SPF include", cutover.OK)
	want(t, r, "SPF old provider", cutover.OK, "include:spf.oldhost.net")
	want(t, r, "SPF all", cutover.OK)
	want(t, r, "SPF lookups", cutover.OK, "2 of 10")
	want(t, r, "Autodiscover", cutover.OK)
	want(t, r, "DKIM selector1", cutover.OK)
	want(t, r, "DKIM selector2", cutover.OK)
	want(t, r, "DMARC", cutover.OK)
	if r.Status != cutover.Warn {
		t.Errorf("report status %s, want warn", r.Status)
	}
}

func TestCheck_ExchangeMX(t *testing.T) {
	r := check(t, exchangeMX+goodRest)
	if r.MXState != cutover.MXExchange {
		t.Fatalf("MXState %s, want exchange", r.MXState)
	}
	want(t, r, "MX", cutover.OK, "contoso-com.mail.protection.outlook.com")
	want(t, r, "MX TTL", cutover.OK, "raise the MX TTL again")
	if _, ok := r.Finding("SPF old provider"); ok {
		t.Error("SPF old provider judged after the switch")
	}
	if r.Status != cutover.OK {
		t.Errorf("report status %s, want ok: %+v", r.Status, r.Findings)
	}
}

func TestCheck_MixedMX(t *testing.T) {
	r := check(t, "contoso.com. 300 MX 0 contoso-com.mail.protection.outlook.com.\ncontoso.com. 300 MX 10 mx1.oldhost.net.\n"+goodRest)
	if r.MXState != cutover.MXMixed {
		t.Fatalf("MXState %s, want mixed", r.MXState)
	}
	want(t, r, "MX", cutover.Fail, "mx1.oldhost.net", "Keep only MX 0 contoso-com.mail.protection.outlook.com")
}

func TestCheck_HighTTL(t *testing.T) {
	r := check(t, "contoso.com. 86400 MX 10 mx1.oldhost.net.\n"+goodRest)
	f := want(t, r, "MX TTL", cutover.Warn, "86400 s", "300 s")
	if !strings.Contains(f.Advice, "at least 86400 s") {
		t.Errorf("advice does not say to wait one TTL: %q", f.Advice)
	}
	// 3600 is fine, with the advice that 300 is ideal.
	r = check(t, "contoso.com. 3600 MX 10 mx1.oldhost.net.\n"+goodRest)
	want(t, r, "MX TTL", cutover.OK, "3600 s", "300 s is ideal")
}

func TestCheck_SPFMissingInclude(t *testing.T) {
	zone := providerMX + strings.Replace(goodRest, " include:spf.protection.outlook.com", "", 1)
	r := check(t, zone)
	want(t, r, "SPF include", cutover.Fail, "include:spf.protection.outlook.com")
	if r.Status != cutover.Fail {
		t.Errorf("report status %s, want fail", r.Status)
	}
}

func TestCheck_SPFSoftFail(t *testing.T) {
	r := check(t, providerMX+strings.Replace(goodRest, "outlook.com -all", "outlook.com ~all", 1))
	want(t, r, "SPF all", cutover.Warn, "~all", "-all")
	r = check(t, providerMX+strings.Replace(goodRest, "outlook.com -all", "outlook.com +all", 1))
	want(t, r, "SPF all", cutover.Fail, "+all")
	r = check(t, providerMX+strings.Replace(goodRest, "outlook.com -all", "outlook.com", 1))
	want(t, r, "SPF all", cutover.Fail, "no all term")
	// A redirect without all takes the target's all.
	r = check(t, providerMX+strings.Replace(goodRest, "include:spf.oldhost.net include:spf.protection.outlook.com -all", "include:spf.oldhost.net redirect=spf.protection.outlook.com", 1))
	want(t, r, "SPF all", cutover.OK)
	want(t, r, "SPF include", cutover.OK)
}

func TestCheck_TwoSPFRecords(t *testing.T) {
	r := check(t, providerMX+goodRest+`contoso.com. TXT "v=spf1 include:spf.protection.outlook.com -all"`+"\n")
	want(t, r, "SPF", cutover.Fail, "2 v=spf1 records")
	if _, ok := r.Finding("SPF lookups"); ok {
		t.Error("two records: lookups should not be judged")
	}
}

func TestCheck_SPFLookupLimit(t *testing.T) {
	// contoso.com: include:a, include:b, mx (3); a: include:c, a, mx (3);
	// b: exists, include:spf.protection.outlook.com (2); c: a, mx, ptr,
	// include:d (4) → 12; d has none.
	zone12 := providerMX + `contoso.com. TXT "v=spf1 include:a.spf.example.net include:b.spf.example.net mx -all"
a.spf.example.net. TXT "v=spf1 include:c.spf.example.net a mx -all"
b.spf.example.net. TXT "v=spf1 exists:%{i}.x.example.net include:spf.protection.outlook.com -all"
c.spf.example.net. TXT "v=spf1 a mx ptr include:d.spf.example.net -all"
d.spf.example.net. TXT "v=spf1 ip4:198.51.100.0/24 -all"
autodiscover.contoso.com. CNAME autodiscover.outlook.com.
` + oldSPF
	r := check(t, zone12)
	want(t, r, "SPF lookups", cutover.Fail, "12 DNS lookups", "limit is 10")
	want(t, r, "SPF include", cutover.OK) // found two levels down
	// Two lookups fewer is within the limit.
	r = check(t, strings.Replace(zone12, "a mx ptr include", "include", 1))
	want(t, r, "SPF lookups", cutover.OK, "9 of 10")
	// An include without an SPF record is a permanent error.
	r = check(t, strings.Replace(zone12, `d.spf.example.net. TXT "v=spf1 ip4:198.51.100.0/24 -all"`, "", 1))
	want(t, r, "SPF lookups", cutover.Fail, "d.spf.example.net has no SPF record")
}

func TestCheck_MissingAutodiscover(t *testing.T) {
	rest := strings.Replace(goodRest, "autodiscover.contoso.com. CNAME autodiscover.outlook.com.\n", "", 1)
	r := check(t, providerMX+rest)
	want(t, r, "Autodiscover", cutover.Warn, "no CNAME record for autodiscover.contoso.com", "autodiscover.outlook.com")
	r = check(t, exchangeMX+rest)
	want(t, r, "Autodiscover", cutover.Fail, "no CNAME record")
	r = check(t, providerMX+strings.Replace(goodRest, "CNAME autodiscover.outlook.com.", "CNAME autodiscover.oldhost.net.", 1))
	want(t, r, "Autodiscover", cutover.Warn, "autodiscover.oldhost.net")
}

func TestCheck_DKIMAndDMARCMissing(t *testing.T) {
	var keep []string
	for _, l := range strings.Split(goodRest, "\n") {
		if !strings.Contains(l, "_domainkey") && !strings.Contains(l, "_dmarc") {
			keep = append(keep, l)
		}
	}
	r := check(t, providerMX+strings.Join(keep, "\n"))
	want(t, r, "DKIM selector1", cutover.Warn, "selector1-contoso-com._domainkey")
	want(t, r, "DKIM selector2", cutover.Warn, "selector2-contoso-com._domainkey")
	want(t, r, "DMARC", cutover.Warn, "v=DMARC1")
}

func TestCheck_NoMXIsNotALookupFailure(t *testing.T) {
	r := check(t, goodRest)
	if r.MXState != cutover.MXNone {
		t.Fatalf("MXState %s, want none", r.MXState)
	}
	want(t, r, "MX", cutover.Fail, "no MX record")
}

func TestCheck_ResolverTimeoutIsReportedNotNoRecord(t *testing.T) {
	srv := dnszone.Start(t, providerMX+goodRest)
	srv.SetMode(dnszone.Silent)
	res := &cutover.Resolver{Server: srv.Addr, Timeout: 300 * time.Millisecond, Attempts: 1}
	_, err := res.LookupMX(context.Background(), "contoso.com")
	var le *cutover.LookupError
	if !errors.Is(err, cutover.ErrTimeout) || !errors.As(err, &le) {
		t.Fatalf("err = %v, want a LookupError with ErrTimeout", err)
	}
	c := &cutover.Checker{Resolver: res}
	r, err := c.Check(context.Background(), cutover.Request{Domain: "contoso.com"})
	if err != nil {
		t.Fatal(err)
	}
	if r.MXState != cutover.MXUnknown {
		t.Errorf("MXState %s, want unknown", r.MXState)
	}
	f := want(t, r, "MX", cutover.Fail, "DNS timeout", "not \"no record\"")
	if strings.Contains(f.Evidence, "no MX record") {
		t.Errorf("a timeout read as no record: %q", f.Evidence)
	}
	want(t, r, "SPF", cutover.Fail, "DNS timeout")
	want(t, r, "Autodiscover", cutover.Fail, "DNS timeout")
	if srv.Queries() == 0 {
		t.Error("the silent server got no query")
	}
}

func TestCheck_ServFailIsReportedNotNoRecord(t *testing.T) {
	srv := dnszone.Start(t, providerMX+goodRest)
	srv.SetMode(dnszone.ServFail)
	res := &cutover.Resolver{Server: srv.Addr, Timeout: 2 * time.Second}
	if _, err := res.LookupTXT(context.Background(), "contoso.com"); !errors.Is(err, cutover.ErrServFail) {
		t.Fatalf("err = %v, want ErrServFail", err)
	}
	r, err := (&cutover.Checker{Resolver: res}).Check(context.Background(), cutover.Request{Domain: "contoso.com"})
	if err != nil {
		t.Fatal(err)
	}
	want(t, r, "MX", cutover.Fail, "SERVFAIL")
	want(t, r, "SPF", cutover.Fail, "SERVFAIL")
	want(t, r, "DKIM selector1", cutover.Fail, "SERVFAIL")
	want(t, r, "DMARC", cutover.Fail, "SERVFAIL")
}

func TestResolver_LongAnswerOverTCP(t *testing.T) {
	// 40 TXT records do not fit a UDP answer: the resolver retries over TCP.
	var b strings.Builder
	for i := 0; i < 40; i++ {
		b.WriteString(`big.contoso.com. TXT "` + strings.Repeat("x", 60) + `"` + "\n")
	}
	srv := dnszone.Start(t, b.String())
	txt, err := (&cutover.Resolver{Server: srv.Addr, Timeout: 2 * time.Second}).LookupTXT(context.Background(), "big.contoso.com")
	if err != nil || len(txt) != 40 {
		t.Fatalf("got %d records, %v; want 40", len(txt), err)
	}
}

func TestGuardComplete(t *testing.T) {
	srv := dnszone.Start(t, providerMX+goodRest)
	res := &cutover.Resolver{Server: srv.Addr, Timeout: 2 * time.Second}
	users := []string{"a@contoso.com", "b@contoso.com"}
	_, err := cutover.GuardComplete(context.Background(), res, "b1", users)
	var ns *cutover.NotSwitchedError
	if !errors.As(err, &ns) || ns.Domain != "contoso.com" || ns.State != cutover.MXProvider {
		t.Fatalf("before the switch: err = %v, want NotSwitchedError for contoso.com", err)
	}
	if !strings.Contains(err.Error(), "mx1.oldhost.net") || !strings.Contains(err.Error(), "contoso-com.mail.protection.outlook.com") {
		t.Errorf("refusal lacks the evidence or the advice: %v", err)
	}
	if err := srv.SetZone(exchangeMX + goodRest); err != nil {
		t.Fatal(err)
	}
	if w, err := cutover.GuardComplete(context.Background(), res, "b1", users); err != nil || len(w) != 0 {
		t.Fatalf("after the switch: %v, %v", w, err)
	}
	srv.SetMode(dnszone.ServFail)
	w, err := cutover.GuardComplete(context.Background(), res, "b1", users)
	if err != nil || len(w) != 1 || !strings.Contains(w[0], "SERVFAIL") {
		t.Fatalf("SERVFAIL: warnings %q, err %v; want one warning and no refusal", w, err)
	}
}

func TestPlan_FollowsTheCheck(t *testing.T) {
	r := check(t, "contoso.com. 3600 MX 10 mx1.oldhost.net.\n"+goodRest)
	r.Batches = []cutover.BatchState{{Name: "b1", Status: "Syncing", Users: 2}}
	p := cutover.PlanFor(r)
	states := func(p *cutover.Plan) string {
		var s []string
		for _, st := range p.Steps {
			x := string(st.State)
			if st.Next {
				x += "*"
			}
			s = append(s, x)
		}
		return strings.Join(s, " ")
	}
	if got := states(p); got != "todo* verify todo todo todo todo todo" {
		t.Errorf("high TTL, syncing: %s", got)
	}
	r = check(t, providerMX+goodRest)
	r.Batches = []cutover.BatchState{{Name: "b1", Status: "Synced", Users: 2}}
	if got := states(cutover.PlanFor(r)); got != "done verify* done todo todo todo todo" {
		t.Errorf("TTL 300, synced: %s", got)
	}
	r = check(t, exchangeMX+goodRest)
	r.Batches = []cutover.BatchState{{Name: "b1", Status: "Synced", Users: 2}}
	if got := states(cutover.PlanFor(r)); got != "done done done done todo* todo todo" {
		t.Errorf("switched, synced: %s", got)
	}
	r.Batches[0].Status = "Completed"
	if got := states(cutover.PlanFor(r)); got != "done done done done done done todo*" {
		t.Errorf("switched, completed, TTL 300: %s", got)
	}
	if p := cutover.PlanFor(r); len(p.Steps) != 7 || p.Steps[6].Title != "Raise the MX TTL again" {
		t.Errorf("steps: %+v", p.Steps)
	}
}
