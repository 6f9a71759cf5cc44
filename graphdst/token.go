package graphdst

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// Tokens Graph rejects before their time. azidentity caches an access
// token until shortly before the expiry its token response stated; Graph
// may refuse it earlier (revoked, or a clock skew) with 401
// InvalidAuthenticationToken. The cache cannot be told to forget one
// token, so renewableCredential builds a new credential (an empty cache)
// and the request is sent once more with a fresh token (client.go, do).
//
// Tokens on every request. Every Graph request asks for a token;
// azidentity's own cache answers, but its lookup (MSAL's cache keys,
// locks, account matching) cost 2.6% of the engine's CPU. So
// renewableCredential keeps the last token per request shape itself and
// hands it out until tokenMargin before the refresh time azidentity would
// use (RefreshOn when the response stated one, else tokenMargin before
// the expiry). A token that lives shorter than the margin is never kept:
// every request then goes to azidentity, which renews it as before. A
// renewal forgets the kept tokens with the credential.

// tokenMargin is how long before its refresh time a kept token is given up
// (azidentity renews 5 minutes before the expiry).
const tokenMargin = 5 * time.Minute

// renewableCredential is an azcore.TokenCredential whose underlying
// credential, and with it the token cache, can be replaced.
type renewableCredential struct {
	build func() (azcore.TokenCredential, error)
	now   func() time.Time

	mu   sync.Mutex
	cur  azcore.TokenCredential
	gen  uint64 // counts renewals
	kept map[string]keptToken
}

type keptToken struct {
	tok   azcore.AccessToken
	until time.Time // handed out before this time
}

func newRenewableCredential(build func() (azcore.TokenCredential, error)) (*renewableCredential, error) {
	c, err := build()
	if err != nil {
		return nil, err
	}
	return &renewableCredential{build: build, now: time.Now, cur: c}, nil
}

// tokenKey identifies a token request's shape; "" for one that must go to
// the credential (a claims challenge).
func tokenKey(opts policy.TokenRequestOptions) string {
	if opts.Claims != "" {
		return ""
	}
	cae := "0"
	if opts.EnableCAE {
		cae = "1"
	}
	return cae + "\x00" + opts.TenantID + "\x00" + strings.Join(opts.Scopes, " ")
}

// GetToken implements azcore.TokenCredential.
func (r *renewableCredential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	key := tokenKey(opts)
	r.mu.Lock()
	c, gen := r.cur, r.gen
	if k, ok := r.kept[key]; ok && key != "" && r.now().Before(k.until) {
		r.mu.Unlock()
		return k.tok, nil
	}
	r.mu.Unlock()
	tok, err := c.GetToken(ctx, opts)
	if err != nil || key == "" {
		return tok, err
	}
	until := tok.ExpiresOn.Add(-tokenMargin)
	if !tok.RefreshOn.IsZero() && tok.RefreshOn.Add(-tokenMargin).Before(until) {
		until = tok.RefreshOn.Add(-tokenMargin)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gen == gen && r.now().Before(until) { // not renewed meanwhile, and worth keeping
		if r.kept == nil {
			r.kept = map[string]keptToken{}
		}
		r.kept[key] = keptToken{tok: tok, until: until}
	}
	return tok, nil
}

// generation identifies the credential now in use; pass it to renew.
func (r *renewableCredential) generation() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.gen
}

// renew replaces the credential if it is still generation gen (requests
// that were refused together renew once). It reports whether the
// credential is now newer than gen.
func (r *renewableCredential) renew(gen uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gen != gen {
		return true
	}
	c, err := r.build()
	if err != nil {
		return false
	}
	r.cur = c
	r.gen++
	clear(r.kept)
	return true
}

// maxTokenRenewals bounds how often one request is sent again with a
// fresh token after Graph refused its token.
const maxTokenRenewals = 3

// refusals counts one request's refused tokens. The first refusal is
// answered with a fresh token and the request sent again. A later one is
// too when the refused token is newer than the one refused before: Graph
// ended tokens again while the request waited or was resent (the
// tenant's passes share one credential, so many requests are in flight
// across such an end). A request refused twice with the same credential
// generation, or more than maxTokenRenewals times, gets the 401.
type refusals struct {
	n   int
	gen uint64 // the credential generation of the last refused token
}

// again records a refusal of a token of generation gen and says whether
// the request may be sent again with a fresh token.
func (r *refusals) again(gen uint64) bool {
	if r.n >= maxTokenRenewals || (r.n > 0 && gen <= r.gen) {
		return false
	}
	r.n, r.gen = r.n+1, gen
	return true
}
