package metrics_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/imapmig/imapmig/metrics"
	"github.com/imapmig/imapmig/testenv/graphemu"
)

// GraphTransport counts the requests to Graph by method and status code,
// against the Graph emulator, and leaves token requests to the authority
// (same host here) uncounted.
func TestGraphTransport_CountsGraphRequestsByMethodAndCode(t *testing.T) {
	emu, err := graphemu.New(graphemu.Options{Mailboxes: []string{"ann@contoso.example"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	m := metrics.New(noFigures{}, "test")
	hc := &http.Client{Transport: m.GraphTransport(emu.Client().Transport, emu.GraphURL())}
	do := func(method, u, body string, hdr map[string]string) int {
		t.Helper()
		req, _ := http.NewRequest(method, u, strings.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"c"}, "client_secret": {"s"},
		"scope": {"https://graph.microsoft.com/.default"}}.Encode()
	if code := do("POST", emu.TokenURL("t"), form, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}); code != 200 {
		t.Fatalf("token: %d", code)
	}
	folders := emu.GraphURL() + "/users/ann@contoso.example/mailFolders"
	for range 3 {
		if code := do("GET", folders, "", nil); code != 401 {
			t.Fatalf("GET without a token: %d", code)
		}
	}
	do("PATCH", folders+"/inbox", "{}", nil)

	if v, _ := value(t, m, "imapmig_graph_requests_total", map[string]string{"method": "GET", "code": "401"}); v != 3 {
		t.Errorf("GET 401: %v, want 3", v)
	}
	if v, _ := value(t, m, "imapmig_graph_requests_total", map[string]string{"method": "PATCH"}); v != 1 {
		t.Errorf("PATCH: %v, want 1", v)
	}
	if v, _ := value(t, m, "imapmig_graph_requests_total", map[string]string{"method": "POST"}); v != 0 {
		t.Errorf("the token request was counted as a Graph request: %v", v)
	}
}
