package graphdst

import (
	"encoding/hex"
	"math/rand/v2"
	"net/http"
	"time"

	khttp "github.com/microsoft/kiota-http-go"
)

// graphdst builds its own requests (client.go, send). Those with a body
// and no query (creates, attachments, upload chunks, PATCHes: the
// requests of every message) skip the SDK's middleware pipeline, which
// cost about 3% of the engine's CPU at 20 mailboxes: eight nested
// handlers per request, for this request shape only these effects:
//   - SdkVersion and User-Agent, which sdkHeaders takes from the pipeline
//     itself, and a new client-request-id (a UUID) per request;
//   - the query's %24 decoded to $ (a request with a query keeps the pipeline);
//   - redirects followed by sending the same request again, which a
//     request whose body is already read cannot be (the SDK's RedirectHandler
//     re-sends it with its spent body), so a 3xx answers the request as it would.
// Retries, 429s, tokens and 401 renewals are graphdst's own (do, send) on
// either path.

// sdkHeaders are the headers the SDK's middleware mw adds to every
// request, read by running a request through it once.
func sdkHeaders(mw []khttp.Middleware) http.Header {
	var seen http.Header
	rt := khttp.NewCustomTransportWithParentTransport(roundTripFunc(func(r *http.Request) (*http.Response, error) {
		seen = r.Header.Clone()
		return &http.Response{StatusCode: http.StatusNoContent, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
	}), mw...)
	req, err := http.NewRequest(http.MethodPost, "https://graph.microsoft.com/v1.0/me/messages", http.NoBody)
	if err == nil {
		if resp, err := rt.RoundTrip(req); err == nil {
			resp.Body.Close()
		}
	}
	h := http.Header{}
	for _, k := range []string{"SdkVersion", "User-Agent"} {
		if v := seen.Values(k); len(v) > 0 {
			h[http.CanonicalHeaderKey(k)] = v
		}
	}
	return h
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// directClient is the client of requests that skip the middleware.
func directClient(base http.RoundTripper) *http.Client {
	return &http.Client{
		Transport:     base,
		Timeout:       time.Hour, // as the SDK client's (client.go, New)
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// goesDirect says whether req skips the middleware.
func goesDirect(req *http.Request) bool {
	return req.Body != nil && req.Body != http.NoBody && req.URL.RawQuery == ""
}

// setSDKHeaders gives req the headers the middleware would have.
func (t *Target) setSDKHeaders(req *http.Request) {
	for k, v := range t.sdkHeaders {
		req.Header[k] = append([]string(nil), v...)
	}
	req.Header.Set("client-request-id", requestID())
}

// requestID is a random (version 4) UUID, as the SDK's telemetry handler
// sends in client-request-id: Microsoft support's handle on a request.
func requestID() string {
	var b [16]byte
	lo, hi := rand.Uint64(), rand.Uint64()
	for i := range 8 {
		b[i], b[8+i] = byte(lo>>(8*i)), byte(hi>>(8*i))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], b[10:16])
	return string(s[:])
}
