package graphdst_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/imapmig/imapmig/graphdst"
	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/testenv/graphemu"
)

// TestCreate_StopEndsBudgetWait: a create that waits minutes for the
// mailbox's budget (the governor's own window, or the fence of an Exchange
// 429 with a long Retry-After) returns as soon as the pass is stopped
// (migrate.WithStop), with context.Canceled, long before the wait would have
// ended, and nothing was created by it. The create's context itself is not
// cancelled, as in the engine, where creates on the wire are allowed to
// finish.
func TestCreate_StopEndsBudgetWait(t *testing.T) {
	for _, tc := range []struct {
		name   string
		budget graphdst.Budget
		emu    graphemu.Options
	}{
		{"GovernorWindow",
			graphdst.Budget{Concurrency: 4, Requests: 3, RequestWindow: 10 * time.Minute, MinBackoff: 10 * time.Millisecond},
			graphemu.Options{DisableThrottling: true}},
		{"ExchangeRetryAfter",
			graphdst.Budget{Concurrency: 4, Requests: 1000, RequestWindow: time.Second, MinBackoff: 10 * time.Millisecond},
			graphemu.Options{Limits: graphemu.Limits{Requests: 3, RequestWindow: 10 * time.Minute}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := start(t, tc.emu, &tc.budget)
			mb, folder := f.inbox(t)
			pacer := mb.(interface{ PacingUntil() time.Time })
			stop, stopPass := context.WithCancel(context.Background())
			defer stopPass()
			ctx := migrate.WithStop(context.WithoutCancel(stop), stop)

			type result struct {
				created int
				err     error
				at      time.Time
			}
			done := make(chan result, 1)
			go func() {
				var r result
				for i := 0; ; i++ {
					_, err := mb.Create(ctx, folder, simpleMessage("stop", i))
					if err != nil {
						r.err, r.at = err, time.Now()
						done <- r
						return
					}
					r.created++
				}
			}()
			// Wait (polled, generous deadline) until a create waits for the
			// budget for more than a minute.
			var until time.Time
			for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
				if until = pacer.PacingUntil(); until.After(time.Now().Add(time.Minute)) {
					break
				}
				select {
				case r := <-done:
					t.Fatalf("the creates ended before waiting for the budget: %d created, %v", r.created, r.err)
				default:
				}
				if time.Now().After(deadline) {
					t.Fatal("no create waited for the budget")
				}
			}
			before := f.emu.Stats()
			stopPass()
			var r result
			select {
			case r = <-done:
			case <-time.After(time.Minute):
				t.Fatalf("the create did not return after the stop (it waits until %v)", until.Format(time.RFC3339))
			}
			if !errors.Is(r.err, context.Canceled) {
				t.Fatalf("create returned %v, want context.Canceled", r.err)
			}
			if !r.at.Before(until) {
				t.Errorf("the create returned at %v, not before the wait's end %v", r.at, until)
			}
			if r.created == 0 {
				t.Error("no create went through before the budget ran out")
			}
			after := f.emu.Stats()
			if after.Requests != before.Requests {
				t.Errorf("%d requests sent after the stop", after.Requests-before.Requests)
			}
			if d, _ := f.emu.Dump(user); len(d.Messages) != r.created {
				t.Errorf("the mailbox holds %d messages, %d creates succeeded", len(d.Messages), r.created)
			}
		})
	}
}
