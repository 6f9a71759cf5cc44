package graphdst

import (
	"context"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// Tokens Graph rejects before their time. azidentity caches an access
// token until shortly before the expiry its token response stated; Graph
// may refuse it earlier (revoked, or a clock skew) with 401
// InvalidAuthenticationToken. The cache cannot be told to forget one
// token, so renewableCredential builds a new credential (an empty cache)
// and the request is sent once more with a fresh token (client.go, do).

// renewableCredential is an azcore.TokenCredential whose underlying
// credential, and with it the token cache, can be replaced.
type renewableCredential struct {
	build func() (azcore.TokenCredential, error)

	mu  sync.Mutex
	cur azcore.TokenCredential
	gen uint64 // counts renewals
}

func newRenewableCredential(build func() (azcore.TokenCredential, error)) (*renewableCredential, error) {
	c, err := build()
	if err != nil {
		return nil, err
	}
	return &renewableCredential{build: build, cur: c}, nil
}

// GetToken implements azcore.TokenCredential.
func (r *renewableCredential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	r.mu.Lock()
	c := r.cur
	r.mu.Unlock()
	return c.GetToken(ctx, opts)
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
	return true
}
