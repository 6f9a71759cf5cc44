package metrics

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// GraphTransport wraps base (nil: http.DefaultTransport) so that every
// request under graphURL is counted by method and status code
// (imapmig_graph_requests_total); code "error" is a request without an
// answer. Other requests through the same transport (token requests to
// the authority) are not counted. A graphURL that does not parse counts
// every request.
func (m *Metrics) GraphTransport(base http.RoundTripper, graphURL string) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	gt := graphTransport{base: base, m: m}
	if u, err := url.Parse(graphURL); err == nil && u.Host != "" {
		gt.host, gt.path = u.Host, strings.TrimRight(u.Path, "/")
	}
	return gt
}

type graphTransport struct {
	base       http.RoundTripper
	m          *Metrics
	host, path string
}

func (t graphTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if t.host != "" && (r.URL.Host != t.host || !strings.HasPrefix(r.URL.Path, t.path+"/")) {
		return resp, err
	}
	code := "error"
	if err == nil {
		code = strconv.Itoa(resp.StatusCode)
	}
	t.m.graphReqs.WithLabelValues(r.Method, code).Inc()
	return resp, err
}
