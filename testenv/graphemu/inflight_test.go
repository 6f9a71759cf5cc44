package graphemu_test

import (
	"sync"
	"testing"
	"time"

	"github.com/imapmig/imapmig/testenv/graphemu"
)

// TestInFlight_CountsAdmittedRequestsTimeWeighted: every admitted request
// adds its time in flight (at least the service latency) to the mailbox's
// figures, uploads are logged with their bytes, and a throttled request
// counts nowhere.
func TestInFlight_CountsAdmittedRequestsTimeWeighted(t *testing.T) {
	const latency = 50 * time.Millisecond
	e := newEnv(t, graphemu.Options{Latency: latency, Limits: graphemu.Limits{Requests: 4, RequestWindow: time.Hour}})
	if f := e.srv.InFlight(user); f.Requests != 0 || f.Average() != 0 {
		t.Fatalf("before any request: %+v", f)
	}
	body := []byte(`{"subject":"in flight","body":{"contentType":"text","content":"x"}}`)
	var wg sync.WaitGroup
	statuses := make([]int, 4)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == 0 {
				statuses[i] = e.do("POST", "/users/"+user+"/mailFolders/inbox/messages", body).status
				return
			}
			statuses[i] = e.do("GET", "/users/"+user+"/mailFolders/inbox", nil).status
		}()
	}
	wg.Wait()
	for i, st := range statuses {
		if st >= 300 {
			t.Fatalf("request %d: %d", i, st)
		}
	}
	// The fifth is over the 4-request window: throttled, not in flight.
	if r := e.do("GET", "/users/"+user+"/mailFolders/inbox", nil); r.status != 429 {
		t.Fatalf("fifth request: %d, want 429", r.status)
	}
	f := e.srv.InFlight(user)
	if f.Requests != 4 || f.Current != 0 || f.Max < 1 || f.Max > 4 {
		t.Fatalf("figures %+v", f)
	}
	if f.RequestTime < 4*latency || f.BusyTime < latency || f.BusyTime > f.RequestTime {
		t.Fatalf("request time %v, busy %v; want ≥ %v and %v ≤ busy ≤ request time", f.RequestTime, f.BusyTime, 4*latency, latency)
	}
	if avg := f.Average(); avg <= 0 || avg > float64(f.Max) {
		t.Fatalf("average %.2f with max %d", avg, f.Max)
	}
	adm := e.srv.Admissions(user)
	var ups int64
	for _, a := range adm {
		ups += a.Upload
	}
	if len(adm) != 4 || ups != int64(len(body)) {
		t.Fatalf("admissions %d with %d upload bytes, want 4 with %d", len(adm), ups, len(body))
	}
	if f := e.srv.InFlight("nobody@contoso.test"); f.Requests != 0 {
		t.Fatalf("unknown mailbox: %+v", f)
	}
}
