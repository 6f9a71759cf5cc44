package cutover

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ExchangeSPFInclude is the include Exchange Online's outbound servers need.
const ExchangeSPFInclude = "spf.protection.outlook.com"

// SPFLookupLimit is SPF's limit on DNS-querying terms (RFC 7208 §4.6.4).
const SPFLookupLimit = 10

// spfTerm is one mechanism or modifier of an SPF record.
type spfTerm struct {
	qual     byte   // '+', '-', '~', '?'
	name     string // lower case: all, include, a, mx, ptr, ip4, ip6, exists, redirect, exp, ...
	value    string // after ':' or '='
	modifier bool
}

// IsSPF says whether a TXT record is an SPF record (RFC 7208 §4.5).
func IsSPF(txt string) bool {
	l := strings.ToLower(strings.TrimSpace(txt))
	return l == "v=spf1" || strings.HasPrefix(l, "v=spf1 ")
}

func parseSPF(txt string) []spfTerm {
	fields := strings.Fields(txt)
	var out []spfTerm
	for _, f := range fields[1:] {
		t := spfTerm{qual: '+'}
		if strings.ContainsRune("+-~?", rune(f[0])) {
			t.qual, f = f[0], f[1:]
		}
		if i := strings.IndexAny(f, ":=/"); i >= 0 {
			t.name, t.value, t.modifier = strings.ToLower(f[:i]), f[i+1:], f[i] == '='
			if f[i] == '/' {
				t.value = ""
			}
		} else {
			t.name = strings.ToLower(f)
		}
		out = append(out, t)
	}
	return out
}

// spfWalk is what a recursive walk of an SPF record found.
type spfWalk struct {
	lookups  int
	outlook  bool     // include:spf.protection.outlook.com somewhere
	others   []string // top-level terms that authorise other servers
	errs     []error
	seen     map[string]bool
	includes []string
}

var errSPFLoop = errors.New("SPF include loop")

// spfRecordOf returns the one SPF record of a domain.
func (c *Checker) spfRecordOf(ctx context.Context, domain string) (string, []string, error) {
	txts, err := c.Resolver.LookupTXT(ctx, domain)
	if err != nil {
		return "", nil, err
	}
	var spf []string
	for _, t := range txts {
		if IsSPF(t) {
			spf = append(spf, t)
		}
	}
	if len(spf) != 1 {
		return "", spf, nil
	}
	return spf[0], spf, nil
}

// walk counts the DNS-querying terms of record (of domain) and, through
// include and redirect, of the records it names. It returns the record's
// effective all term ("-all", "~all", "?all", "+all"; "" for none): its own,
// or without one the redirected record's.
func (c *Checker) walk(ctx context.Context, w *spfWalk, domain, record string, depth int) (all string) {
	if depth > SPFLookupLimit+1 || w.lookups > 4*SPFLookupLimit {
		return ""
	}
	terms := parseSPF(record)
	var redirect string
	for _, t := range terms {
		switch t.name {
		case "include":
			w.lookups++
			target := canon(t.value)
			if depth == 0 {
				w.includes = append(w.includes, target)
			}
			if target == ExchangeSPFInclude {
				w.outlook = true
			} else if depth == 0 {
				w.others = append(w.others, "include:"+target)
			}
			_ = c.follow(ctx, w, target, depth)
		case "a", "mx", "ptr", "exists":
			w.lookups++
			if depth == 0 {
				w.others = append(w.others, t.name+colon(t.value))
			}
		case "ip4", "ip6":
			if depth == 0 {
				w.others = append(w.others, t.name+colon(t.value))
			}
		case "redirect":
			if t.modifier {
				w.lookups++
				redirect = canon(t.value)
			}
		case "all":
			if all == "" {
				all = string(t.qual) + "all"
			}
		}
	}
	if redirect != "" && all == "" { // redirect applies only without an all (RFC 7208 §6.1)
		if depth == 0 {
			if redirect == ExchangeSPFInclude {
				w.outlook = true
			} else {
				w.others = append(w.others, "redirect="+redirect)
			}
		}
		all = c.follow(ctx, w, redirect, depth)
	}
	return all
}

func colon(v string) string {
	if v == "" {
		return ""
	}
	return ":" + v
}

// follow walks the SPF record of an included or redirected domain and
// returns its effective all term.
func (c *Checker) follow(ctx context.Context, w *spfWalk, target string, depth int) string {
	if strings.Contains(target, "%") {
		return "" // a macro: expanded per message, not countable here
	}
	if w.seen[target] {
		w.errs = append(w.errs, fmt.Errorf("%w: %s", errSPFLoop, target))
		return ""
	}
	w.seen[target] = true
	defer delete(w.seen, target)
	rec, all, err := c.spfRecordOf(ctx, target)
	switch {
	case err != nil:
		w.errs = append(w.errs, fmt.Errorf("%s: %w", target, err))
	case len(all) == 0:
		w.errs = append(w.errs, fmt.Errorf("%s has no SPF record (a permanent error for every receiver)", target))
	case len(all) > 1:
		w.errs = append(w.errs, fmt.Errorf("%s has %d SPF records (a permanent error)", target, len(all)))
	default:
		return c.walk(ctx, w, target, rec, depth+1)
	}
	return ""
}

// checkSPF judges the domain's SPF record.
func (c *Checker) checkSPF(ctx context.Context, r *Report) {
	rec, all, err := c.spfRecordOf(ctx, r.Domain)
	want := "v=spf1 include:" + ExchangeSPFInclude + " -all"
	switch {
	case err != nil:
		r.add(Finding{Check: "SPF", Status: Fail, Evidence: "TXT lookup failed: " + err.Error(),
			Advice: "The SPF record could not be read (this is not \"no record\"); check the resolver and run the check again."})
		return
	case len(all) == 0:
		r.add(Finding{Check: "SPF", Status: Fail, Evidence: "no v=spf1 TXT record on " + r.Domain,
			Advice: "Publish one SPF record, for example \"" + want + "\" (keep the old provider's include while mail is split)."})
		return
	case len(all) > 1:
		r.add(Finding{Check: "SPF", Status: Fail, Evidence: fmt.Sprintf("%d v=spf1 records: %s", len(all), strings.Join(quoteAll(all), "; ")),
			Advice: "Receivers treat more than one SPF record as a permanent error (RFC 7208 §4.5), so every check fails. Merge them into one record."})
		return
	}
	r.add(Finding{Check: "SPF", Status: OK, Evidence: "one SPF record: \"" + rec + "\""})
	w := &spfWalk{seen: map[string]bool{canon(r.Domain): true}}
	allTerm := c.walk(ctx, w, canon(r.Domain), rec, 0)

	if w.outlook {
		r.add(Finding{Check: "SPF include", Status: OK, Evidence: "includes " + ExchangeSPFInclude})
	} else {
		r.add(Finding{Check: "SPF include", Status: Fail, Evidence: "does not include " + ExchangeSPFInclude,
			Advice: "Add include:" + ExchangeSPFInclude + " before the all term, or mail sent from Exchange Online fails SPF."})
	}
	if r.MXState != MXExchange {
		if len(w.others) > 0 {
			r.add(Finding{Check: "SPF old provider", Status: OK, Evidence: "still authorises the old provider: " + strings.Join(w.others, " ")})
		} else {
			r.add(Finding{Check: "SPF old provider", Status: Warn, Evidence: "authorises no server but Exchange Online while MX still points at the old provider",
				Advice: "Keep the old provider's include (or its a/mx/ip4 terms) while mail is split: mailboxes not yet moved still send from there."})
		}
	}
	switch allTerm {
	case "-all":
		r.add(Finding{Check: "SPF all", Status: OK, Evidence: "ends in -all"})
	case "~all", "?all":
		r.add(Finding{Check: "SPF all", Status: Warn, Evidence: "ends in " + allTerm,
			Advice: "A soft fail (" + allTerm + ") lets forged mail through; end the record in -all once every sending server is listed."})
	case "+all":
		r.add(Finding{Check: "SPF all", Status: Fail, Evidence: "ends in +all",
			Advice: "+all authorises every server on the Internet to send as " + r.Domain + "; end the record in -all."})
	default:
		r.add(Finding{Check: "SPF all", Status: Fail, Evidence: "no all term",
			Advice: "Without an all term the record authorises nothing but also rejects nothing (neutral); end it in -all."})
	}
	switch {
	case len(w.errs) > 0:
		r.add(Finding{Check: "SPF lookups", Status: Fail,
			Evidence: fmt.Sprintf("%d DNS lookups counted, but: %s", w.lookups, joinErrs(w.errs)),
			Advice:   "Receivers cannot evaluate a record whose includes fail; fix or remove the failing include."})
	case w.lookups > SPFLookupLimit:
		r.add(Finding{Check: "SPF lookups", Status: Fail,
			Evidence: fmt.Sprintf("%d DNS lookups (include, a, mx, ptr, exists, redirect, counted through every include; the limit is %d)", w.lookups, SPFLookupLimit),
			Advice:   "Over 10 lookups is a permanent error (RFC 7208 §4.6.4): every SPF check fails. Remove includes no longer used, or replace a/mx terms with ip4/ip6 ranges."})
	default:
		r.add(Finding{Check: "SPF lookups", Status: OK, Evidence: fmt.Sprintf("%d of %d DNS lookups", w.lookups, SPFLookupLimit)})
	}
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = "\"" + v + "\""
	}
	return out
}

func joinErrs(errs []error) string {
	s := make([]string, len(errs))
	for i, e := range errs {
		s[i] = e.Error()
	}
	return strings.Join(s, "; ")
}
