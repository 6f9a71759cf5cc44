package migrate_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/model"
	"github.com/imapmig/imapmig/state"
	"github.com/imapmig/imapmig/state/statetest"
)

// BenchmarkStartBatch_50000 starts (and stops) a batch of 50,000 users:
// `imapmig batch start` on the largest CSV Exchange accepts. While it runs,
// the API's reads (Engine.Batch) are timed; the slowest is reported.
func BenchmarkStartBatch_50000(b *testing.B) {
	st := statetest.MustOpen(b)
	nu := make([]state.NewUser, 50000)
	for i := range nu {
		nu[i] = state.NewUser{EmailAddress: fmt.Sprintf("u%d@contoso.com", i), UserName: fmt.Sprintf("u%d", i), Password: "pw"}
	}
	if err := st.CreateBatch(state.Batch{Name: "big"}, nu); err != nil {
		b.Fatal(err)
	}
	e := migrate.New(migrate.Options{Store: st})
	ctx := context.Background()
	var slowest time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-done:
					return
				default:
				}
				t0 := time.Now()
				if _, err := e.Batch("big"); err != nil {
					b.Error(err)
					return
				}
				slowest = max(slowest, time.Since(t0))
				select {
				case <-done:
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		}()
		if err := e.StartBatch(ctx, "big"); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		done <- struct{}{}
		<-done
		if err := e.StopBatch(ctx, "big"); err != nil {
			b.Fatal(err)
		}
		if _, err := st.UpdateBatchUsers("big", func(u *state.User) bool { u.Status = model.UserStopped; return true }); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(slowest.Milliseconds()), "slowest-read-ms")
}
