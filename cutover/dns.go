package cutover

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Errors a lookup can end with (wrapped in a *LookupError).
var (
	// ErrTimeout: the resolver did not answer in time.
	ErrTimeout = errors.New("DNS timeout")
	// ErrServFail: the resolver answered SERVFAIL (it could not reach or
	// validate the authoritative servers).
	ErrServFail = errors.New("DNS SERVFAIL")
	// ErrRefused: the resolver refused the query (REFUSED, or another
	// error rcode than NXDOMAIN).
	ErrRefused = errors.New("DNS query refused")
)

// LookupError is a lookup that got no usable answer. It is never a "no
// record" answer: NXDOMAIN and an empty NOERROR answer are.
type LookupError struct {
	Name, Type, Server string
	Err                error
}

func (e *LookupError) Error() string {
	return fmt.Sprintf("%s %s via %s: %v", e.Type, e.Name, e.Server, e.Err)
}

func (e *LookupError) Unwrap() error { return e.Err }

// Resolver asks one DNS server. The zero value uses the first nameserver of
// /etc/resolv.conf, a 3 s timeout per attempt and 2 attempts.
type Resolver struct {
	// Server is HOST:PORT ("" = the system resolver).
	Server string
	// Timeout is per attempt (default 3 s).
	Timeout time.Duration
	// Attempts over UDP before giving up (default 2).
	Attempts int
}

// server is the address asked.
func (r *Resolver) server() string {
	if r.Server != "" {
		if _, _, err := net.SplitHostPort(r.Server); err != nil {
			return net.JoinHostPort(r.Server, "53")
		}
		return r.Server
	}
	return systemResolver("/etc/resolv.conf")
}

// systemResolver is the first nameserver of a resolv.conf file
// (127.0.0.1:53 when there is none, as the C library does).
func systemResolver(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "127.0.0.1:53"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 2 && fs[0] == "nameserver" {
			return net.JoinHostPort(fs[1], "53")
		}
	}
	return "127.0.0.1:53"
}

// Name says which resolver is asked.
func (r *Resolver) Name() string {
	if r.Server == "" {
		return "system resolver " + r.server()
	}
	return r.server()
}

// Lookup asks for name's records of type qtype and returns those of that
// type in the answer. NXDOMAIN and an empty answer return no records and no
// error; a timeout, SERVFAIL or other failure returns a *LookupError.
func (r *Resolver) Lookup(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	server := r.server()
	timeout, attempts := r.Timeout, r.Attempts
	if timeout <= 0 {
		timeout = 3 * time.Second
	}
	if attempts <= 0 {
		attempts = 2
	}
	fail := func(err error) error {
		return &LookupError{Name: name, Type: dns.TypeToString[qtype], Server: server, Err: err}
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = true
	m.SetEdns0(1232, false)
	var (
		in  *dns.Msg
		err error
	)
	for i := 0; i < attempts; i++ {
		c := &dns.Client{Net: "udp", Timeout: timeout}
		in, _, err = c.ExchangeContext(ctx, m, server)
		if err == nil && in.Truncated {
			c = &dns.Client{Net: "tcp", Timeout: timeout}
			in, _, err = c.ExchangeContext(ctx, m, server)
		}
		if err == nil || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		var ne net.Error
		if ctx.Err() != nil {
			return nil, fail(fmt.Errorf("%w: %w", ErrTimeout, ctx.Err()))
		}
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, fail(fmt.Errorf("%w: no answer in %s (%d attempts)", ErrTimeout, timeout, attempts))
		}
		return nil, fail(fmt.Errorf("%w: %w", ErrRefused, err))
	}
	switch in.Rcode {
	case dns.RcodeSuccess, dns.RcodeNameError:
	case dns.RcodeServerFailure:
		return nil, fail(ErrServFail)
	default:
		return nil, fail(fmt.Errorf("%w: %s", ErrRefused, dns.RcodeToString[in.Rcode]))
	}
	var out []dns.RR
	for _, rr := range in.Answer {
		if rr.Header().Rrtype == qtype {
			out = append(out, rr)
		}
	}
	return out, nil
}

// MX is one mail exchanger.
type MX struct {
	Host       string `json:"Host"`
	Preference uint16 `json:"Preference"`
	TTL        uint32 `json:"TTL"`
}

// LookupMX returns the domain's mail exchangers, host names without the
// trailing dot and in lower case.
func (r *Resolver) LookupMX(ctx context.Context, domain string) ([]MX, error) {
	return lookupAs(ctx, r, domain, dns.TypeMX, func(mx *dns.MX) MX {
		return MX{Host: canon(mx.Mx), Preference: mx.Preference, TTL: mx.Hdr.Ttl}
	})
}

// LookupTXT returns the name's TXT records, each one string (a record's
// character strings joined, RFC 7208 §3.3).
func (r *Resolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	return lookupAs(ctx, r, name, dns.TypeTXT, func(txt *dns.TXT) string { return strings.Join(txt.Txt, "") })
}

// lookupAs looks up name's records of qtype (each an R) and converts each.
func lookupAs[R dns.RR, T any](ctx context.Context, r *Resolver, name string, qtype uint16, conv func(R) T) ([]T, error) {
	rrs, err := r.Lookup(ctx, name, qtype)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(rrs))
	for _, rr := range rrs {
		out = append(out, conv(rr.(R)))
	}
	return out, nil
}

// LookupCNAME returns the name's CNAME target ("" when it has none).
func (r *Resolver) LookupCNAME(ctx context.Context, name string) (string, error) {
	rrs, err := r.Lookup(ctx, name, dns.TypeCNAME)
	if err != nil || len(rrs) == 0 {
		return "", err
	}
	return canon(rrs[0].(*dns.CNAME).Target), nil
}

// canon is a host name in lower case without the trailing dot.
func canon(h string) string { return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(h), ".")) }
