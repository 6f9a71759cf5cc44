package graphdst_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/imapmig/imapmig/graphdst"
	"github.com/imapmig/imapmig/testenv/graphemu"
)

// headerRecorder keeps the headers of every Graph request as sent.
type headerRecorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	seen []*http.Request
}

func (h *headerRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.Contains(r.URL.Path, "/users/") {
		h.mu.Lock()
		h.seen = append(h.seen, r.Clone(r.Context()))
		h.mu.Unlock()
	}
	return h.base.RoundTrip(r)
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestDirectRequests_CarryTheSDKHeaders: a create, which skips the SDK's
// middleware, is sent with the SdkVersion and User-Agent the middleware
// gives the requests that go through it, a token, and its own
// client-request-id (a v4 UUID, new for every request).
func TestDirectRequests_CarryTheSDKHeaders(t *testing.T) {
	rec := &headerRecorder{}
	f := start(t, graphemu.Options{DisableThrottling: true}, nil, func(c *graphdst.Config) {
		rec.base = c.HTTPClient.Transport
		c.HTTPClient = &http.Client{Transport: rec}
	})
	mb, folder := f.inbox(t)
	for i := range 2 {
		if _, err := mb.Create(context.Background(), folder, simpleMessage("direct", i)); err != nil {
			t.Fatal(err)
		}
	}
	var sdk, creates []*http.Request
	for _, r := range rec.seen {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/messages") {
			creates = append(creates, r)
		} else if r.Method == http.MethodGet {
			sdk = append(sdk, r)
		}
	}
	if len(creates) != 2 || len(sdk) == 0 {
		t.Fatalf("%d creates, %d GETs recorded", len(creates), len(sdk))
	}
	want := sdk[0].Header
	if want.Get("SdkVersion") == "" || !strings.Contains(want.Get("User-Agent"), "kiota-go/") {
		t.Fatalf("the middleware's request has SdkVersion %q, User-Agent %q", want.Get("SdkVersion"), want.Get("User-Agent"))
	}
	ids := map[string]bool{}
	for _, r := range append(creates, sdk...) {
		for _, k := range []string{"SdkVersion", "User-Agent"} {
			if got := r.Header.Values(k); strings.Join(got, "|") != strings.Join(want.Values(k), "|") {
				t.Errorf("%s %s: %s %q, the middleware's %q", r.Method, r.URL.Path, k, got, want.Values(k))
			}
		}
		id := r.Header.Get("client-request-id")
		if !uuidV4.MatchString(id) || ids[id] {
			t.Errorf("%s %s: client-request-id %q (a v4 UUID, new each time)", r.Method, r.URL.Path, id)
		}
		ids[id] = true
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			t.Errorf("%s %s: no bearer token", r.Method, r.URL.Path)
		}
	}
}
