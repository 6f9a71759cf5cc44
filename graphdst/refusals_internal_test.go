package graphdst

import "testing"

// TestRefusals_AgainOnlyForNewerTokens: a request whose token is refused
// is sent again with a fresh one; refused again with a token of the same
// generation it gets the 401; refused with a newer token (Graph ended
// tokens again) it is sent again, up to maxTokenRenewals times.
func TestRefusals_AgainOnlyForNewerTokens(t *testing.T) {
	var r refusals
	if !r.again(0) {
		t.Fatal("first refusal: not sent again")
	}
	if r.again(0) {
		t.Fatal("refused twice with the same generation: sent again")
	}
	var s refusals
	for i := range maxTokenRenewals {
		if !s.again(uint64(i)) {
			t.Fatalf("refusal %d of a newer token: not sent again", i+1)
		}
	}
	if s.again(maxTokenRenewals) {
		t.Fatalf("sent again after %d renewals", maxTokenRenewals)
	}
}
