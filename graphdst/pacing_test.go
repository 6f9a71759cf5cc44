package graphdst

import (
	"context"
	"testing"
	"time"
)

// TestGovernor_PacingUntilWhileWaitingForTheWindow: a request that waits
// for the request window says until when (what `batch watch` shows as
// "Pacing until").
func TestGovernor_PacingUntilWhileWaitingForTheWindow(t *testing.T) {
	g := newGovernor(Budget{Concurrency: 4, Requests: 1, RequestWindow: time.Hour, UploadBytes: 1 << 30, UploadWindow: time.Minute})
	release, err := g.acquire(context.Background(), 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	release()
	if p := g.pacingUntil(); p.After(time.Now()) {
		t.Fatalf("pacing %v before anything waits", p)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := g.acquire(ctx, 0, 1); done <- err }()
	for deadline := time.Now().Add(30 * time.Second); !g.pacingUntil().After(time.Now()); {
		if time.Now().After(deadline) {
			t.Fatal("a waiting request set no pacing time")
		}
		time.Sleep(time.Millisecond)
	}
	if p := g.pacingUntil(); p.Before(time.Now().Add(59*time.Minute)) || p.After(time.Now().Add(61*time.Minute)) {
		t.Errorf("pacing until %v, want about an hour from now", p)
	}
	cancel()
	if err := <-done; err == nil {
		t.Error("the waiting request was not cancelled")
	}
}
