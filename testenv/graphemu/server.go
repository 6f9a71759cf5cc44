package graphemu

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imapmig/imapmig/testenv/internal/testcert"
)

// Limits are the per app-and-mailbox limits of Exchange Online
// (learn.microsoft.com/graph/throttling-limits, Outlook service limits).
// Zero fields take the Exchange Online value.
type Limits struct {
	Concurrency    int           // 4
	Requests       int           // 10,000
	RequestWindow  time.Duration // 10 minutes
	UploadBytes    int64         // 150 MB
	UploadWindow   time.Duration // 5 minutes
	MaxRequestBody int64         // 4 MB
}

// ExchangeOnline returns the documented limits.
func ExchangeOnline() Limits {
	return Limits{
		Concurrency:    4,
		Requests:       10000,
		RequestWindow:  10 * time.Minute,
		UploadBytes:    150 << 20,
		UploadWindow:   5 * time.Minute,
		MaxRequestBody: 4 << 20,
	}
}

func (l Limits) withDefaults() Limits {
	d := ExchangeOnline()
	if l.Concurrency == 0 {
		l.Concurrency = d.Concurrency
	}
	if l.Requests == 0 {
		l.Requests = d.Requests
	}
	if l.RequestWindow == 0 {
		l.RequestWindow = d.RequestWindow
	}
	if l.UploadBytes == 0 {
		l.UploadBytes = d.UploadBytes
	}
	if l.UploadWindow == 0 {
		l.UploadWindow = d.UploadWindow
	}
	if l.MaxRequestBody == 0 {
		l.MaxRequestBody = d.MaxRequestBody
	}
	return l
}

// Options configure a Server. The zero value is a usable emulator on a
// random loopback port with Exchange Online's limits and no faults.
type Options struct {
	// Addr is the listen address for Start ("127.0.0.1:0" when empty).
	Addr string
	// PublicURL is the base URL clients use ("https://" + the listen address
	// when empty), e.g. https://graphemu:8443 behind docker-compose.
	PublicURL string
	// UploadHost is the host[:port] of upload-session URLs. Graph serves them
	// from another host (outlook.office.com); by default the emulator uses
	// "localhost" when PublicURL's host is 127.0.0.1, so a client that sends
	// its token there is caught.
	UploadHost string
	// Tenant, when set, is the only tenant id the token endpoint accepts.
	Tenant string
	// Clients maps client ids to secrets. A nil map accepts any client id
	// with any non-empty secret or client assertion.
	Clients map[string]string
	// Mailboxes are provisioned at start (addresses, case-insensitive).
	Mailboxes []string
	// TimeScale divides every throttling window and Retry-After (60 makes a
	// 10-minute window 10 seconds). Values ≤ 1 mean real time.
	TimeScale float64
	// Limits override Exchange Online's per app-and-mailbox limits.
	Limits Limits
	// DisableThrottling turns the three limits off (the 4 MB body limit stays).
	DisableThrottling bool
	// FaultRate is the probability that an admitted Graph request fails with
	// 503 or 504 before it has any effect.
	FaultRate float64
	// AmbiguousRate is the probability that a message create takes effect
	// but the client gets 504.
	AmbiguousRate float64
	// Latency is added to every admitted Graph request while it holds its
	// concurrency slot (Exchange's processing time; makes the concurrency
	// limit observable).
	Latency time.Duration
	// TokenLifetime is how long an issued access token is accepted (real
	// time; default 1 hour). A request with an expired token gets 401
	// InvalidAuthenticationToken "Lifetime validation failed, the token is
	// expired.", as Graph answers.
	TokenLifetime time.Duration
	// TokenExpiresIn is the lifetime the token response states in
	// expires_in (default: TokenLifetime). Longer than TokenLifetime, it
	// makes tokens that are rejected before their stated expiry (revoked,
	// or a clock skew), which a client's token cache cannot foresee.
	TokenExpiresIn time.Duration
	// Seed seeds the fault injection (0 = random).
	Seed uint64
	// Certificate is the TLS certificate; nil generates a self-signed one
	// for localhost, 127.0.0.1 and ::1 (and Addr's host).
	Certificate *tls.Certificate
	// Logger receives one line per request at debug level.
	Logger *slog.Logger
}

// Stats counts what the emulator saw. Throttled requests are included in
// Requests, as Graph counts them.
type Stats struct {
	Requests             int64
	Throttled            int64 // all 429s
	ThrottledConcurrency int64
	ThrottledRate        int64
	ThrottledUpload      int64
	Faults               int64 // injected 503/504 without effect
	Ambiguous            int64 // creates that took effect but answered 504
	Creates              int64 // messages created (JSON or MIME)
	TokensIssued         int64 // access tokens from the token endpoint
	TokensExpired        int64 // requests refused for an expired token (401)
	Unavailable          int64 // requests answered 503 during an outage (SetOutage)
	UploadBytes          int64 // request body bytes of admitted POST/PATCH/PUT
}

// Server is the emulator.
type Server struct {
	opts    Options
	limits  Limits
	log     *slog.Logger
	cert    tls.Certificate
	certDER []byte

	mu        sync.Mutex          // data
	tmu       sync.Mutex          // throttle state (taken while s.mu may be held)
	mailboxes map[string]*mailbox // lower-case address
	tokens    map[string]tokenInfo
	uploads   map[string]*uploadSession
	throttle  map[string]*throttleState
	sent      []SentMail
	dir       directory // domains.go: tenant domains and proxyAddresses
	holds     holds     // hold.go
	flights   flights   // inflight.go: per-mailbox load figures
	outage    outage    // outage.go
	rng       *mrand.Rand
	seq       atomic.Int64

	stats struct {
		requests, throttled, thrConc, thrRate, thrUpload, faults, ambiguous, creates, uploadBytes atomic.Int64
		tokensIssued, tokensExpired, unavailable                                                  atomic.Int64
	}

	ln      net.Listener
	httpSrv *http.Server
	baseURL string
	handler http.Handler
}

// New builds a Server. It does not listen until Start.
func New(opts Options) (*Server, error) {
	s := &Server{
		opts:      opts,
		limits:    opts.Limits.withDefaults(),
		log:       opts.Logger,
		mailboxes: map[string]*mailbox{},
		tokens:    map[string]tokenInfo{},
		uploads:   map[string]*uploadSession{},
		throttle:  map[string]*throttleState{},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.opts.TimeScale < 1 {
		s.opts.TimeScale = 1
	}
	seed := opts.Seed
	if seed == 0 {
		seed = mrand.Uint64()
	}
	s.rng = mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	if opts.Certificate != nil {
		s.cert = *opts.Certificate
	} else {
		hosts := []string{"localhost", "127.0.0.1", "::1"}
		if h, _, err := net.SplitHostPort(opts.Addr); err == nil && h != "" {
			hosts = append(hosts, h)
		}
		if opts.PublicURL != "" {
			if u, err := url.Parse(opts.PublicURL); err == nil {
				hosts = append(hosts, u.Hostname())
			}
		}
		c, err := GenerateCertificate(hosts...)
		if err != nil {
			return nil, err
		}
		s.cert = c
	}
	if len(s.cert.Certificate) > 0 {
		s.certDER = s.cert.Certificate[0]
	}
	for _, m := range opts.Mailboxes {
		s.AddMailbox(m)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1.0/", s.serveGraph)
	mux.HandleFunc("/upload/", s.serveUpload)
	mux.HandleFunc("/_emu/", s.serveInspect)
	mux.HandleFunc("/", s.serveAuth)
	s.handler = s.holding(mux) // hold.go: crash points for tests
	return s, nil
}

// Start listens on Options.Addr and serves HTTPS in the background.
func (s *Server) Start() error {
	addr := s.opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s.ln = ln
	s.baseURL = s.opts.PublicURL
	if s.baseURL == "" {
		s.baseURL = "https://" + ln.Addr().String()
	}
	s.baseURL = strings.TrimRight(s.baseURL, "/")
	s.httpSrv = &http.Server{
		Handler:           s.handler,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{s.cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          nil,
	}
	go func() { _ = s.httpSrv.ServeTLS(ln, "", "") }()
	return nil
}

// Close stops the server.
func (s *Server) Close() error {
	if s.httpSrv == nil {
		return nil
	}
	return s.httpSrv.Close()
}

// Handler is the emulator's HTTP handler (Graph under /v1.0, tokens under
// /{tenant}/oauth2/v2.0/token, uploads under /upload, inspection under /_emu).
func (s *Server) Handler() http.Handler { return s.handler }

// URL is the base URL ("https://127.0.0.1:port"); valid after Start.
func (s *Server) URL() string { return s.baseURL }

// GraphURL is the Graph base URL (URL()+"/v1.0").
func (s *Server) GraphURL() string { return s.baseURL + "/v1.0" }

// AuthorityHost is the Entra authority host for azidentity's
// ClientOptions.Cloud.ActiveDirectoryAuthorityHost (with
// DisableInstanceDiscovery). It equals URL()+"/".
func (s *Server) AuthorityHost() string { return s.baseURL + "/" }

// TokenURL is the token endpoint for tenant.
func (s *Server) TokenURL(tenant string) string {
	return s.baseURL + "/" + tenant + "/oauth2/v2.0/token"
}

// Certificate returns the TLS certificate the server presents.
func (s *Server) Certificate() tls.Certificate { return s.cert }

// CertPEM returns the server certificate in PEM form (to trust it).
func (s *Server) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.certDER})
}

// CertPool returns a pool that trusts the server certificate.
func (s *Server) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	if c, err := x509.ParseCertificate(s.certDER); err == nil {
		p.AddCert(c)
	}
	return p
}

// Client returns an *http.Client that trusts the server certificate.
func (s *Server) Client() *http.Client {
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: s.CertPool()},
		MaxIdleConnsPerHost: 32,
		ForceAttemptHTTP2:   true,
	}}
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	return Stats{
		Requests:             s.stats.requests.Load(),
		Throttled:            s.stats.throttled.Load(),
		ThrottledConcurrency: s.stats.thrConc.Load(),
		ThrottledRate:        s.stats.thrRate.Load(),
		ThrottledUpload:      s.stats.thrUpload.Load(),
		Faults:               s.stats.faults.Load(),
		Ambiguous:            s.stats.ambiguous.Load(),
		Creates:              s.stats.creates.Load(),
		TokensIssued:         s.stats.tokensIssued.Load(),
		TokensExpired:        s.stats.tokensExpired.Load(),
		Unavailable:          s.stats.unavailable.Load(),
		UploadBytes:          s.stats.uploadBytes.Load(),
	}
}

// SetFaults changes the fault rates at run time.
func (s *Server) SetFaults(faultRate, ambiguousRate float64) {
	s.mu.Lock()
	s.opts.FaultRate, s.opts.AmbiguousRate = faultRate, ambiguousRate
	s.mu.Unlock()
}

// GenerateCertificate makes a self-signed ECDSA certificate valid for hosts
// (DNS names or IP addresses) for one year.
func GenerateCertificate(hosts ...string) (tls.Certificate, error) {
	der, key, err := testcert.Generate(pkix.Name{CommonName: "graphemu", Organization: []string{"imapmig test"}}, 365*24*time.Hour, hosts...)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// ---- helpers ----

func (s *Server) newID(prefix string) string {
	n := s.seq.Add(1)
	var b [12]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s%06d%x", prefix, n, b)
}

// graphError is Graph's error body.
type graphError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var e graphError
	e.Error.Code, e.Error.Message = code, msg
	writeJSON(w, status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var b []byte
	var err error
	if m, ok := v.(map[string]any); ok {
		b, err = marshalObject(m)
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// marshalObject is json.Marshal of m (keys sorted), except that a
// json.RawMessage value, a property kept as the client sent it, is written
// as it is: encoding/json would scan it twice more (validate and compact)
// and escape every '<' of an HTML body. The JSON means the same.
func marshalObject(m map[string]any) ([]byte, error) {
	keys := make([]string, 0, len(m))
	size := 2
	for k, v := range m {
		keys = append(keys, k)
		if raw, ok := v.(json.RawMessage); ok {
			size += len(raw)
		}
		size += len(k) + 32
	}
	sort.Strings(keys)
	b := make([]byte, 0, size)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONValue(b, k)
		b = append(b, ':')
		switch v := m[k].(type) {
		case json.RawMessage:
			// Every kept property was decoded from a request (so it is
			// JSON) or written by json.Marshal.
			if len(v) == 0 {
				v = json.RawMessage("null")
			}
			b = append(b, v...)
		case string:
			b = appendJSONValue(b, v)
		case bool:
			b = strconv.AppendBool(b, v)
		case nil:
			b = append(b, "null"...)
		default:
			vb, err := json.Marshal(v)
			if err != nil {
				return nil, err
			}
			b = append(b, vb...)
		}
	}
	return append(b, '}'), nil
}

// appendJSONValue appends s as a JSON string: as it is when it needs no
// escape (nor one of encoding/json's HTML escapes), else as json.Marshal
// writes it.
func appendJSONValue(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// retryAfterSeconds converts a real wait into Retry-After seconds (≥ 1).
func retryAfterSeconds(d time.Duration) int {
	sec := int((d + time.Second - 1) / time.Second)
	if sec < 1 {
		sec = 1
	}
	return sec
}

func (s *Server) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) / s.opts.TimeScale)
}
