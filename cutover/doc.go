// Package cutover checks whether a domain is ready to move its mail from an
// IMAP provider to Exchange Online, and says what to do next.
//
// It looks up the domain's MX, SPF, autodiscover, DKIM and DMARC records
// through a DNS resolver of its own (github.com/miekg/dns: answer TTLs,
// SERVFAIL told apart from NXDOMAIN, and a chosen resolver address, none of
// which net.Resolver exposes), and, when given a Directory, what the tenant
// says about the domain (verified, the DNS records Microsoft expects) and
// whether each migrated mailbox has its tenant.onmicrosoft.com routing
// address. Each judgement is a Finding: ok, warn or fail, with the evidence
// and the advice.
//
// From a Report it derives the ordered cutover Plan (lower TTL, forward,
// final sync, switch MX, sync after the switch, complete, raise TTL), the
// forwarding list for the old provider, and the guard that keeps a batch
// from being completed while MX still points at the old provider.
//
// A lookup that times out or fails (SERVFAIL, REFUSED) is a LookupError and
// is reported as such: it is never read as "no record".
//
// The package does not talk to Graph itself: Directory is the small
// interface it needs, implemented by graphdst.
package cutover
