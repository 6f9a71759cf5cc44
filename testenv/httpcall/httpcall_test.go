package httpcall

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestDo_SendsTheTokenAndBodyAndReturnsTheAnswer: the server sees the
// method, the bearer token (none when ""), the body; the caller gets the
// status, the body and the header.
func TestDo_SendsTheTokenAndBodyAndReturnsTheAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Seen", r.Method+"|"+r.Header.Get("Authorization")+"|"+string(in))
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, "answer")
	}))
	defer srv.Close()
	code, body, hdr := Do(t, "POST", srv.URL+"/x", "tok", strings.NewReader("payload"))
	if code != http.StatusTeapot || string(body) != "answer" || hdr.Get("X-Seen") != "POST|Bearer tok|payload" {
		t.Errorf("with a token: %d %q %q", code, body, hdr.Get("X-Seen"))
	}
	if _, _, hdr := Do(t, "GET", srv.URL+"/x", "", nil); hdr.Get("X-Seen") != "GET||" {
		t.Errorf("without a token: %q", hdr.Get("X-Seen"))
	}
}
