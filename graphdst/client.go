package graphdst

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	kauth "github.com/microsoft/kiota-authentication-azure-go"
	khttp "github.com/microsoft/kiota-http-go"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	msgraphgocore "github.com/microsoftgraph/msgraph-sdk-go-core"

	"github.com/imapmig/imapmig/migrate"
)

// DefaultGraphURL is the global cloud's Graph v1.0 endpoint.
const DefaultGraphURL = "https://graph.microsoft.com/v1.0"

const preferImmutable = `IdType="ImmutableId"`

// Config configures a Target.
type Config struct {
	TenantID, ClientID string
	ClientSecret       string // one of these three credentials
	CertificatePEM     []byte // cert+key PEM (azidentity.ParseCertificates)
	ManagedIdentity    bool   // workload identity, then managed identity
	AuthorityHost      string // "" = global cloud; custom → DisableInstanceDiscovery
	GraphURL           string // "" = https://graph.microsoft.com/v1.0
	HTTPClient         *http.Client
	Budget             *Budget // nil = Exchange Online's limits with margin
	// OutageLimit is how long one request rides out a Graph outage (every
	// request 5xx or unanswered) before it fails with GraphUnavailable
	// (outage.go); 0 = DefaultOutageLimit.
	OutageLimit time.Duration
	Logger      *slog.Logger
	Observer    Observer // nil = none (metrics)
}

// String hides the credentials.
func (c Config) String() string {
	return fmt.Sprintf("graphdst.Config{TenantID:%s ClientID:%s GraphURL:%s}", c.TenantID, c.ClientID, c.GraphURL)
}

// GoString hides the credentials from %#v.
func (c Config) GoString() string { return c.String() }

// Target is a Graph destination. It implements migrate.Target.
type Target struct {
	graphURL *url.URL
	budget   Budget
	log      *slog.Logger
	hc       *http.Client // SDK middleware without retry and compression
	direct   *http.Client // the base transport: requests with a body (direct.go)
	// sdkHeaders are what the middleware adds to each request (direct.go).
	sdkHeaders http.Header
	tokens     *kauth.AzureIdentityAccessTokenProvider
	cred       *renewableCredential // token.go
	client     *msgraphsdk.GraphServiceClient

	mu        sync.Mutex
	governors map[string]*governor // by mailbox object id
	obs       Observer

	outageLimit time.Duration
	lastAnswer  atomic.Int64 // unix nanoseconds of Graph's last answer below 500 (outage.go)
}

var _ migrate.Target = (*Target)(nil)

// New builds a Target. It does not contact Graph; use Test for that.
func New(ctx context.Context, cfg Config) (*Target, error) {
	gu := cfg.GraphURL
	if gu == "" {
		gu = DefaultGraphURL
	}
	u, err := url.Parse(strings.TrimRight(gu, "/"))
	if err != nil || u.Host == "" {
		return nil, migrate.Fatal(fmt.Errorf("graphdst: invalid Graph URL %q", gu))
	}
	t := &Target{graphURL: u, log: cfg.Logger, governors: map[string]*governor{}, obs: cfg.Observer, outageLimit: cfg.OutageLimit}
	if t.outageLimit <= 0 {
		t.outageLimit = DefaultOutageLimit
	}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	if cfg.Budget != nil {
		t.budget = cfg.Budget.withDefaults()
	} else {
		t.budget = DefaultBudget()
	}
	base := http.DefaultTransport
	if cfg.HTTPClient != nil && cfg.HTTPClient.Transport != nil {
		base = cfg.HTTPClient.Transport
	}
	cred, err := newRenewableCredential(func() (azcore.TokenCredential, error) { return credential(cfg, base) })
	if err != nil {
		return nil, err
	}
	t.cred = cred
	// The SDK's middleware, minus the retry handler (the governor owns
	// retries, and the SDK must never re-POST a create) and with request
	// compression off (a retried gzip-labelled body with an uncompressed
	// payload fails with 400; docs/HOW-MAIL-IS-COPIED.md, "Writing to Exchange Online").
	opts := msgraphsdk.GetDefaultClientOptions()
	var mw []khttp.Middleware
	for _, m := range msgraphgocore.GetDefaultMiddlewaresWithOptions(&opts) {
		switch m.(type) {
		case *khttp.RetryHandler:
			continue
		case *khttp.CompressionHandler:
			mw = append(mw, khttp.NewCompressionHandlerWithOptions(khttp.NewCompressionOptions(false)))
			continue
		}
		mw = append(mw, m)
	}
	t.direct, t.sdkHeaders = directClient(base), sdkHeaders(mw)
	t.hc = &http.Client{
		Transport:     khttp.NewCustomTransportWithParentTransport(base, mw...),
		Timeout:       time.Hour, // large uploads; the SDK's 100 s is too short
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	scopes := []string{u.Scheme + "://" + u.Host + "/.default"}
	// The configured Graph host must be a valid host, or kiota silently
	// drops the token (docs/HOW-MAIL-IS-COPIED.md, "Writing to Exchange Online").
	hosts := []string{u.Hostname()}
	t.tokens, err = kauth.NewAzureIdentityAccessTokenProviderWithScopesAndValidHosts(cred, scopes, hosts)
	if err != nil {
		return nil, migrate.Fatal(fmt.Errorf("graphdst: token provider: %w", err))
	}
	auth, err := kauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(cred, scopes, hosts)
	if err != nil {
		return nil, migrate.Fatal(fmt.Errorf("graphdst: auth provider: %w", err))
	}
	adapter, err := msgraphsdk.NewGraphRequestAdapterWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(auth, nil, nil, t.hc)
	if err != nil {
		return nil, migrate.Fatal(fmt.Errorf("graphdst: request adapter: %w", err))
	}
	adapter.SetBaseUrl(u.String())
	t.client = msgraphsdk.NewGraphServiceClient(adapter)
	return t, nil
}

func credential(cfg Config, transport http.RoundTripper) (azcore.TokenCredential, error) {
	co := azcore.ClientOptions{Transport: &http.Client{Transport: transport, Timeout: 2 * time.Minute}}
	disable := false
	if cfg.AuthorityHost != "" {
		co.Cloud = cloud.Configuration{ActiveDirectoryAuthorityHost: cfg.AuthorityHost}
		disable = true // otherwise MSAL asks login.microsoftonline.com
	}
	n := 0
	for _, b := range []bool{cfg.ClientSecret != "", len(cfg.CertificatePEM) > 0, cfg.ManagedIdentity} {
		if b {
			n++
		}
	}
	if n != 1 {
		return nil, migrate.Fatal(errors.New("graphdst: exactly one of ClientSecret, CertificatePEM and ManagedIdentity must be set"))
	}
	switch {
	case cfg.ClientSecret != "":
		c, err := azidentity.NewClientSecretCredential(cfg.TenantID, cfg.ClientID, cfg.ClientSecret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: disable})
		if err != nil {
			return nil, migrate.Fatal(errors.New("graphdst: invalid client secret credential configuration"))
		}
		return c, nil
	case len(cfg.CertificatePEM) > 0:
		certs, key, err := azidentity.ParseCertificates(cfg.CertificatePEM, nil)
		if err != nil {
			return nil, migrate.Fatal(errors.New("graphdst: CertificatePEM holds no usable certificate and private key"))
		}
		c, err := azidentity.NewClientCertificateCredential(cfg.TenantID, cfg.ClientID, certs, key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: disable})
		if err != nil {
			return nil, migrate.Fatal(fmt.Errorf("graphdst: invalid certificate credential configuration: %w", err))
		}
		return c, nil
	default:
		var chain []azcore.TokenCredential
		if wi, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
			ClientOptions: co, ClientID: cfg.ClientID, TenantID: cfg.TenantID, DisableInstanceDiscovery: disable,
		}); err == nil {
			chain = append(chain, wi)
		}
		mo := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: co}
		if cfg.ClientID != "" {
			mo.ID = azidentity.ClientID(cfg.ClientID)
		}
		mi, err := azidentity.NewManagedIdentityCredential(mo)
		if err != nil {
			return nil, migrate.Fatal(fmt.Errorf("graphdst: managed identity: %w", err))
		}
		chain = append(chain, mi)
		c, err := azidentity.NewChainedTokenCredential(chain, nil)
		if err != nil {
			return nil, migrate.Fatal(fmt.Errorf("graphdst: credential chain: %w", err))
		}
		return c, nil
	}
}

func isAuthErr(err error) bool {
	var afe *azidentity.AuthenticationFailedError
	return errors.As(err, &afe)
}

// sanitizeAuthError keeps an azidentity failure's kind but not its text,
// which may quote request details.
func sanitizeAuthError(err error) error {
	var afe *azidentity.AuthenticationFailedError
	if errors.As(err, &afe) && afe.RawResponse != nil {
		return fmt.Errorf("graphdst: token request failed with HTTP %d", afe.RawResponse.StatusCode)
	}
	return errors.New("graphdst: token request failed")
}

// GraphError is an error response from Graph, parsed from its
// {"error":{"code","message"}} body.
type GraphError struct {
	Status     int
	Code       string
	Message    string
	RetryAfter time.Duration
	Method     string
	Path       string // URL path without the query
}

func (e *GraphError) Error() string {
	return fmt.Sprintf("graph: %s %s: %d %s: %s", e.Method, e.Path, e.Status, e.Code, e.Message)
}

// ambiguousError is a failure after which a non-idempotent request may or
// may not have taken effect (timeout, 5xx, connection reset).
type ambiguousError struct{ err error }

func (e *ambiguousError) Error() string { return "outcome unknown: " + e.err.Error() }

func (e *ambiguousError) Unwrap() error { return e.err }

type request struct {
	method      string
	url         string // absolute, or a path below the Graph base URL
	body        []byte
	stream      streamBody // instead of body: opened again for each attempt
	contentType string
	noAuth      bool // pre-authenticated upload URLs
	header      map[string]string
	idempotent  bool
	// resolve, for a request that is not idempotent, says after an unknown
	// outcome whether it took effect (true) or may be sent again.
	resolve func(ctx context.Context) (bool, error)
	cost    int // requests it counts as against the budget (a $batch: its size)
	// scan, when set, is given a 2xx answer's body in a pooled buffer
	// (valid only during the call) instead of the response keeping it:
	// a create's answer is the whole message, read only for its id.
	scan func(body []byte)
}

// streamBody is a request body that is not held in memory
// (convert.Body): opened again for each attempt, its size known up front.
type streamBody interface {
	Open() io.Reader
	Size() int64
}

type response struct {
	resolved bool   // an unknown outcome that request.resolve found done
	authGen  uint64 // the credential generation its token came from
	status   int
	header   http.Header
	body     []byte
}

func (t *Target) abs(p string) string {
	if strings.HasPrefix(p, "https://") || strings.HasPrefix(p, "http://") {
		return p
	}
	return t.graphURL.String() + p
}

// send makes one attempt through the governor.
func (t *Target) send(ctx context.Context, g *governor, rq request) (*response, error) {
	size := int64(len(rq.body))
	var open func() io.Reader // the body afresh, for each attempt
	switch {
	case rq.stream != nil:
		size, open = rq.stream.Size(), rq.stream.Open
	case rq.body != nil:
		open = func() io.Reader { return bytes.NewReader(rq.body) }
	}
	var up int64
	if rq.method == http.MethodPost || rq.method == http.MethodPatch || rq.method == http.MethodPut {
		up = size
	}
	release, err := g.acquire(ctx, up, rq.cost)
	if err != nil {
		return nil, err
	}
	defer release()
	req, err := http.NewRequestWithContext(ctx, rq.method, t.abs(rq.url), nil)
	if err != nil {
		return nil, migrate.Fatal(fmt.Errorf("graphdst: build request: %w", err))
	}
	if open != nil {
		setBody(req, open, size)
		ct := rq.contentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	var gen uint64
	if !rq.noAuth {
		req.Header.Set("Prefer", preferImmutable)
		gen = t.cred.generation()
		tok, err := t.tokens.GetAuthorizationToken(ctx, req.URL, nil)
		if err != nil {
			return nil, migrate.FailUser("TokenAcquisitionFailed", sanitizeAuthError(err))
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
	}
	for k, v := range rq.header {
		req.Header.Set(k, v)
	}
	hc := t.hc
	if goesDirect(req) {
		t.setSDKHeaders(req)
		hc = t.direct
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if rq.scan != nil && resp.StatusCode/100 == 2 {
		bb := answerBufs.Get().(*bytes.Buffer)
		defer putAnswerBuf(bb)
		bb.Reset()
		if _, err := bb.ReadFrom(resp.Body); err != nil {
			return nil, err
		}
		rq.scan(bb.Bytes())
		return &response{status: resp.StatusCode, header: resp.Header, authGen: gen}, nil
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b, authGen: gen}, nil
}

// setBody gives req the body open returns, of size bytes. The length is
// always declared: net/http's HTTP/2 client then sizes the scratch buffer
// it writes the body from to the body (a body of unknown length gets up
// to 512 KB, one per request in flight), and an HTTP/1.1 request is not
// sent chunked.
func setBody(req *http.Request, open func() io.Reader, size int64) {
	req.ContentLength = size
	if size == 0 {
		req.Body, req.GetBody = http.NoBody, func() (io.ReadCloser, error) { return http.NoBody, nil }
		return
	}
	req.Body = io.NopCloser(frameReads{open()})
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(frameReads{open()}), nil }
}

// tokenRefused reports a 401 InvalidAuthenticationToken: Graph refused
// the access token (expired, revoked), not the app's permissions.
func tokenRefused(status int, code string) bool {
	return status == http.StatusUnauthorized && code == "InvalidAuthenticationToken"
}

// renewToken drops the cached token after Graph refused one from
// generation gen, so the next request gets a fresh one; false when no
// new credential could be built.
func (t *Target) renewToken(gen uint64, path string) bool {
	if !t.cred.renew(gen) {
		return false
	}
	t.log.Info("Graph refused the access token; fetching a new one and sending again", "path", path)
	return true
}

func retryAfter(h http.Header) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		return time.Duration(n) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil {
		return time.Until(at)
	}
	return 0
}

func (t *Target) backoff(ctx context.Context, attempt int) error {
	d := t.budget.MinBackoff << min(attempt, 6)
	d += time.Duration(rand.Int64N(int64(d)/2 + 1))
	return wait(ctx, d)
}

// wait waits d, or until ctx ends or the engine stops waits (shutdown).
func wait(ctx context.Context, d time.Duration) error {
	stop, stopErr := migrate.StopWaiting(ctx)
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-stop:
		return fmt.Errorf("%w: %w", errWaitStopped, stopErr())
	}
}

// do sends rq until it gets a definite answer; it is graphdst's one retry
// loop. 429s are waited out behind the governor's fence without limit; 5xx
// and transport errors are retried for idempotent requests. For other
// requests such a failure leaves the outcome unknown: with rq.resolve, do
// asks it whether the request took effect (a response with resolved set)
// or may be sent again; without, it returns *ambiguousError.
func (t *Target) do(ctx context.Context, g *governor, rq request) (*response, error) {
	var refused refusals
	var first, last time.Time // this request's first and latest 5xx or transport failure
	for attempt := 0; ; attempt++ {
		resp, err := t.send(ctx, g, rq)
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		if err == nil && resp.status < 500 {
			t.answered()
		}
		var failure error
		var wait time.Duration // a 5xx's Retry-After
		switch {
		case err != nil:
			var me *migrate.Error
			if errors.As(err, &me) || errors.Is(err, errWaitStopped) {
				return nil, err
			}
			failure = err
		case resp.status == http.StatusTooManyRequests:
			d := retryAfter(resp.header)
			if d <= 0 {
				d = t.budget.MinBackoff << min(attempt, 6)
			}
			g.throttle(d)
			t.log.Debug("graph throttled", "path", pathOf(rq.url), "retryAfter", d)
			continue
		case resp.status >= 500:
			ge := t.graphError(rq, resp)
			failure, wait = ge, ge.RetryAfter
		case !rq.noAuth && resp.status == http.StatusUnauthorized && tokenRefused(resp.status, t.graphError(rq, resp).Code) && refused.again(resp.authGen):
			// (graphError only for a 401: it decodes the whole answer,
			// which for a create is the whole message.)
			// Refused before the request was processed: safe to send
			// again with a fresh token (refusals says how often).
			if t.renewToken(resp.authGen, pathOf(rq.url)) {
				attempt--
				continue
			}
			return resp, nil
		default:
			return resp, nil
		}
		if !rq.idempotent {
			if rq.resolve == nil {
				return nil, &ambiguousError{err: failure}
			}
			g.ambiguous.Add(1)
			done, rerr := rq.resolve(ctx)
			if rerr != nil {
				return nil, rerr
			}
			if done {
				t.log.Debug("unknown outcome resolved: it took effect", "path", pathOf(rq.url))
				return &response{resolved: true}, nil
			}
			failure = &ambiguousError{err: failure}
		}
		now := time.Now()
		if first.IsZero() {
			first = now
		}
		prev := last
		if prev.IsZero() {
			prev = now
		}
		last = now
		if !t.keepTrying(attempt, first, prev) {
			if attempt+1 >= t.budget.MaxAttempts && time.Since(first) >= t.outageLimit {
				return nil, unavailable(failure, first)
			}
			return nil, migrate.Retryable(failure)
		}
		g.retried.Add(1)
		reason := migrate.ReasonGraphUnavailable + ": " + failure.Error()
		if berr := t.pause(ctx, t.outageBackoff(attempt, wait, first), reason); berr != nil {
			return nil, berr
		}
	}
}

func pathOf(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Path
	}
	return raw
}

func (t *Target) graphError(rq request, resp *response) *GraphError {
	e := &GraphError{Status: resp.status, Method: rq.method, Path: pathOf(t.abs(rq.url)), RetryAfter: retryAfter(resp.header)}
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(resp.body, &body) == nil {
		e.Code, e.Message = body.Error.Code, body.Error.Message
	}
	if e.Code == "" {
		e.Code = http.StatusText(resp.status)
	}
	return e
}

// classify turns a definite Graph error into the engine's classes.
func classify(e *GraphError) error {
	switch {
	case e.Status == http.StatusTooManyRequests || e.Status >= 500:
		return migrate.RetryAfter(e, e.RetryAfter)
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		return migrate.FailUser(e.Code, e)
	default:
		return migrate.SkipItem(e.Code, e)
	}
}

// classifyAny classifies a *GraphError and passes other errors through.
func classifyAny(err error) error {
	if ge, ok := err.(*GraphError); ok {
		return classify(ge)
	}
	return err
}

func (t *Target) governor(mailboxID string) *governor {
	t.mu.Lock()
	defer t.mu.Unlock()
	g := t.governors[mailboxID]
	if g == nil {
		g = newGovernor(t.budget)
		g.obs = t.obs
		t.governors[mailboxID] = g
	}
	return g
}

// Stats returns the governor counters of a mailbox opened with Mailbox.
func (t *Target) Stats(m migrate.Mailbox) GovernorStats {
	if mb, ok := m.(*Mailbox); ok {
		return mb.g.stats()
	}
	return GovernorStats{}
}
