package dnszone

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"
)

// Mode is how the server answers.
type Mode int32

// Modes.
const (
	Answer   Mode = iota // from the zone
	ServFail             // SERVFAIL to every query
	Silent               // never answers
)

// Server serves a zone.
type Server struct {
	// Addr is the HOST:PORT of both the UDP and the TCP listener.
	Addr string

	mu      sync.Mutex
	records []dns.RR
	mode    atomic.Int32
	queries atomic.Int64
	udp     *dns.Server
	tcp     *dns.Server
}

// Start serves zone on 127.0.0.1 (UDP and TCP, one port) until the test
// ends.
func Start(t testing.TB, zone string) *Server {
	t.Helper()
	s := &Server{}
	if err := s.SetZone(zone); err != nil {
		t.Fatal(err)
	}
	var pc net.PacketConn
	var ln net.Listener
	for i := 0; ; i++ {
		var err error
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			break
		}
		pc.Close()
		if i > 20 {
			t.Fatalf("dnszone: no port free for both UDP and TCP: %v", err)
		}
	}
	s.Addr = pc.LocalAddr().String()
	h := dns.HandlerFunc(s.serve)
	s.udp = &dns.Server{PacketConn: pc, Handler: h}
	s.tcp = &dns.Server{Listener: ln, Handler: h}
	udpUp, tcpUp := make(chan struct{}), make(chan struct{})
	s.udp.NotifyStartedFunc = func() { close(udpUp) }
	s.tcp.NotifyStartedFunc = func() { close(tcpUp) }
	go func() { _ = s.udp.ActivateAndServe() }()
	go func() { _ = s.tcp.ActivateAndServe() }()
	<-udpUp
	<-tcpUp
	t.Cleanup(func() {
		_ = s.udp.Shutdown()
		_ = s.tcp.Shutdown()
	})
	return s
}

// SetZone replaces the records served (master-file text; names without a
// trailing dot are taken as absolute; the default TTL is 3600).
func (s *Server) SetZone(zone string) error {
	zp := dns.NewZoneParser(strings.NewReader("$TTL 3600\n"+zone), ".", "zone")
	var rrs []dns.RR
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		rrs = append(rrs, rr)
	}
	if err := zp.Err(); err != nil {
		return fmt.Errorf("dnszone: %w", err)
	}
	s.mu.Lock()
	s.records = rrs
	s.mu.Unlock()
	return nil
}

// SetMode changes how the server answers.
func (s *Server) SetMode(m Mode) { s.mode.Store(int32(m)) }

// Queries is how many queries the server got.
func (s *Server) Queries() int64 { return s.queries.Load() }

func (s *Server) serve(w dns.ResponseWriter, req *dns.Msg) {
	s.queries.Add(1)
	mode := Mode(s.mode.Load())
	if mode == Silent || len(req.Question) != 1 {
		return
	}
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if mode == ServFail {
		m.Rcode = dns.RcodeServerFailure
		_ = w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	s.mu.Lock()
	name, known := strings.ToLower(q.Name), false
	for hop := 0; hop < 8; hop++ {
		var cname dns.RR
		for _, rr := range s.records {
			if strings.ToLower(rr.Header().Name) != name {
				continue
			}
			known = true
			switch t := rr.Header().Rrtype; {
			case t == q.Qtype:
				m.Answer = append(m.Answer, dns.Copy(rr))
			case t == dns.TypeCNAME:
				cname = rr
			}
		}
		if len(m.Answer) > 0 || cname == nil {
			break
		}
		m.Answer = append(m.Answer, dns.Copy(cname))
		name = strings.ToLower(cname.(*dns.CNAME).Target)
	}
	s.mu.Unlock()
	if !known {
		m.Rcode = dns.RcodeNameError
	}
	if _, ok := w.RemoteAddr().(*net.UDPAddr); ok {
		m.Truncate(dnsSize(req))
	}
	_ = w.WriteMsg(m)
}

func dnsSize(req *dns.Msg) int {
	if o := req.IsEdns0(); o != nil {
		return int(o.UDPSize())
	}
	return dns.MinMsgSize
}
