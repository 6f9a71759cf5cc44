// Package dnszone is a small authoritative DNS server for tests: it serves
// one zone (RFC 1035 master-file text) on loopback, over UDP and TCP, with
// github.com/miekg/dns. A test can replace the zone while it runs (the MX
// switch), make the server answer SERVFAIL, or make it never answer (a
// resolver timeout). It counts the queries it got.
package dnszone
