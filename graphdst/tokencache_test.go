package graphdst

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// countingCredential issues numbered tokens that live life (RefreshOn
// refresh after the issue when set) on a clock the test moves.
type countingCredential struct {
	mu      sync.Mutex
	now     *time.Time
	life    time.Duration
	refresh time.Duration
	issued  int
}

func (c *countingCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.issued++
	t := azcore.AccessToken{Token: string(rune('a' + c.issued)), ExpiresOn: c.now.Add(c.life)}
	if c.refresh > 0 {
		t.RefreshOn = c.now.Add(c.refresh)
	}
	return t, nil
}

func TestRenewableCredential_KeepsTokenUntilShortlyBeforeRefresh(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	cc := &countingCredential{now: &now, life: time.Hour}
	builds := 0
	r, err := newRenewableCredential(func() (azcore.TokenCredential, error) { builds++; return cc, nil })
	if err != nil {
		t.Fatal(err)
	}
	r.now = func() time.Time { return now }
	ctx := context.Background()
	opts := policy.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/.default"}, EnableCAE: true}
	get := func() string {
		t.Helper()
		tok, err := r.GetToken(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		return tok.Token
	}
	first := get()
	for range 100 {
		if got := get(); got != first {
			t.Fatalf("token %q, want the kept %q", got, first)
		}
	}
	if cc.issued != 1 {
		t.Fatalf("credential asked %d times for 101 requests within the token's life, want 1", cc.issued)
	}
	// Other scopes are another token.
	if _, err := r.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://outlook.office.com/.default"}}); err != nil || cc.issued != 2 {
		t.Fatalf("another scope: issued %d (want 2), %v", cc.issued, err)
	}
	// A claims challenge always goes to the credential.
	if _, err := r.GetToken(ctx, policy.TokenRequestOptions{Scopes: opts.Scopes, Claims: `{"access_token":{}}`}); err != nil || cc.issued != 3 {
		t.Fatalf("claims: issued %d (want 3), %v", cc.issued, err)
	}
	// Within the margin before expiry: asked again.
	now = now.Add(time.Hour - tokenMargin)
	if got := get(); got == first || cc.issued != 4 {
		t.Fatalf("at expiry minus the margin: token %q (first %q), issued %d (want 4)", got, first, cc.issued)
	}
	second := get()
	// A renewal forgets the kept token.
	r.renew(r.generation())
	if got := get(); got == second || builds != 2 || cc.issued != 5 {
		t.Fatalf("after renew: token %q (before %q), builds %d, issued %d (want a new token)", got, second, builds, cc.issued)
	}
}

func TestRenewableCredential_ShortAndRefreshOnTokens(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	// Lives shorter than the margin: never kept.
	cc := &countingCredential{now: &now, life: time.Minute}
	r, _ := newRenewableCredential(func() (azcore.TokenCredential, error) { return cc, nil })
	r.now = func() time.Time { return now }
	opts := policy.TokenRequestOptions{Scopes: []string{"s"}}
	for range 5 {
		if _, err := r.GetToken(context.Background(), opts); err != nil {
			t.Fatal(err)
		}
	}
	if cc.issued != 5 {
		t.Fatalf("short-lived tokens: issued %d for 5 requests, want 5", cc.issued)
	}
	// RefreshOn earlier than the expiry decides.
	cc2 := &countingCredential{now: &now, life: 24 * time.Hour, refresh: time.Hour}
	r2, _ := newRenewableCredential(func() (azcore.TokenCredential, error) { return cc2, nil })
	r2.now = func() time.Time { return now }
	_, _ = r2.GetToken(context.Background(), opts)
	now = now.Add(time.Hour - tokenMargin - time.Second)
	_, _ = r2.GetToken(context.Background(), opts)
	if cc2.issued != 1 {
		t.Fatalf("before RefreshOn minus the margin: issued %d, want 1", cc2.issued)
	}
	now = now.Add(2 * time.Second)
	_, _ = r2.GetToken(context.Background(), opts)
	if cc2.issued != 2 {
		t.Fatalf("after RefreshOn minus the margin: issued %d, want 2", cc2.issued)
	}
}
