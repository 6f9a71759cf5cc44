// Package httpcall sends one HTTP request with an optional bearer token and
// reads the whole answer: the tests of the API, of the metrics endpoint
// and of the daemon ask their servers this way.
package httpcall

import (
	"io"
	"net/http"
	"testing"
)

// Do sends method url with body (nil: none) and, when token is not "", the
// header "Authorization: Bearer token"; it returns the answer's status,
// body and header. A request that gets no answer fails tb.
func Do(tb testing.TB, method, url, token string, body io.Reader) (int, []byte, http.Header) {
	tb.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		tb.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: reading the answer: %v", method, url, err)
	}
	return resp.StatusCode, b, resp.Header
}
