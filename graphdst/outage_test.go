package graphdst_test

import (
	"context"
	"testing"
	"time"

	"github.com/imapmig/imapmig/graphdst"
	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/testenv/graphemu"
)

// TestOutage_RiddenOutUpToTheLimit: while Graph answers only 503, a
// request is retried past MaxAttempts until OutageLimit, then fails with
// GraphUnavailable (which the engine does not retry again within the
// pass); once Graph answers, the same call succeeds.
func TestOutage_RiddenOutUpToTheLimit(t *testing.T) {
	const limit = 400 * time.Millisecond
	b := graphdst.Budget{MinBackoff: time.Millisecond, MaxAttempts: 2}
	f := start(t, graphemu.Options{DisableThrottling: true}, &b, func(c *graphdst.Config) { c.OutageLimit = limit })
	ctx := context.Background()
	mb, folder := f.inbox(t)
	f.emu.SetOutage(true, 0)
	began := time.Now()
	_, err := mb.Create(ctx, folder, simpleMessage("outage", 1))
	took := time.Since(began)
	if err == nil || migrate.ReasonOf(err) != migrate.ReasonGraphUnavailable || migrate.KindOf(err) != migrate.KindRetryable {
		t.Fatalf("a create through an outage longer than the limit: %v, want GraphUnavailable", err)
	}
	st := f.emu.Stats()
	if took < limit || st.Unavailable <= int64(b.MaxAttempts) {
		t.Fatalf("gave up after %s and %d attempts; want the outage ridden out for %s, past %d attempts", took, st.Unavailable, limit, b.MaxAttempts)
	}
	f.emu.SetOutage(false, 0)
	if _, err := mb.Create(ctx, folder, simpleMessage("outage", 2)); err != nil {
		t.Fatalf("after the outage: %v", err)
	}
	t.Logf("outage: %d attempts answered 503 over %s, then GraphUnavailable: %v", st.Unavailable, took.Round(time.Millisecond), err)
}
