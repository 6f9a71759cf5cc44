package graphdst_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/imapmig/imapmig/graphdst"
	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/testenv/graphemu"
)

// TestTokens_RefusedBeforeStatedExpiry: the token response says an hour,
// so azidentity keeps using its token; Graph refuses it (the emulator
// ends every token's life after each 5th create). Each refused request is
// sent once more with a fresh token: every create succeeds, once, and
// the mailbox resolves again after the tokens ended too.
func TestTokens_RefusedBeforeStatedExpiry(t *testing.T) {
	f := start(t, graphemu.Options{TimeScale: 60}, ptr(graphdst.DefaultBudget().Scaled(60)))
	ctx := context.Background()
	mb, folder := f.inbox(t)
	const n = 20
	for i := range n {
		if i > 0 && i%5 == 0 {
			f.emu.ExpireTokens()
		}
		if _, err := mb.Create(ctx, folder, simpleMessage("tok", i)); err != nil {
			t.Fatalf("create %d after the token was refused: %v", i, err)
		}
	}
	f.emu.ExpireTokens()
	if _, err := f.target.Mailbox(ctx, user); err != nil {
		t.Fatalf("resolving a mailbox with a refused token: %v", err)
	}
	st := f.emu.Stats()
	d, _ := f.emu.Dump(user)
	if st.TokensExpired != 4 || st.TokensIssued != 5 || st.Creates != n || len(d.Messages) != n {
		t.Fatalf("tokens refused %d (want 4), issued %d (want 5); creates %d, messages %d (want %d)", st.TokensExpired, st.TokensIssued, st.Creates, len(d.Messages), n)
	}
	if c := strings.Count(f.logs.String(), "Graph refused the access token"); c != 4 {
		t.Fatalf("%d renewals logged, want 4", c)
	}
}

// TestTokens_ShortLifetime: tokens that live one second, as stated.
// azidentity renews them ahead of their expiry; requests over several
// lifetimes never meet a refusal.
func TestTokens_ShortLifetime(t *testing.T) {
	f := start(t, graphemu.Options{TimeScale: 60, TokenLifetime: time.Second}, ptr(graphdst.DefaultBudget().Scaled(60)))
	ctx := context.Background()
	mb, folder := f.inbox(t)
	first := time.Now()
	deadline := first.Add(2 * time.Minute)
	i := 0
	// Until three and a half lifetimes have passed (and at least 10 creates).
	for ; time.Since(first) < 3500*time.Millisecond || i < 10; i++ {
		if _, err := mb.Create(ctx, folder, simpleMessage("short", i)); err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
		if time.Now().After(deadline) {
			t.Fatal("too slow")
		}
	}
	st := f.emu.Stats()
	if st.TokensIssued < 3 || st.Creates != int64(i) {
		t.Fatalf("%d creates over %s: tokens issued %d (want ≥ 3), refused %d, creates %d", i, time.Since(first), st.TokensIssued, st.TokensExpired, st.Creates)
	}
	t.Logf("%d creates over %s: %d tokens issued, %d refused", i, time.Since(first).Round(time.Millisecond), st.TokensIssued, st.TokensExpired)
}

// TestTokens_InvalidTokenStillFails: when Graph refuses every token, the
// request is not retried forever: after three fresh tokens (each refused)
// the 401 reaches the caller as the user's failure.
func TestTokens_InvalidTokenStillFails(t *testing.T) {
	f := start(t, graphemu.Options{TimeScale: 60, TokenLifetime: time.Nanosecond, TokenExpiresIn: time.Hour}, ptr(graphdst.DefaultBudget().Scaled(60)))
	_, err := f.target.Mailbox(context.Background(), user)
	if err == nil || migrate.KindOf(err) != migrate.KindFailUser || !strings.Contains(err.Error(), "InvalidAuthenticationToken") {
		t.Fatalf("every token refused: %v, want the user's failure", err)
	}
	if st := f.emu.Stats(); st.TokensIssued != 4 || st.TokensExpired != 4 {
		t.Fatalf("tokens issued %d, refused %d; want three renewals (4 and 4)", st.TokensIssued, st.TokensExpired)
	}
}
