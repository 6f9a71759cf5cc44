package graphemu_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/imapmig/imapmig/testenv/graphemu"
)

// TestHold_RequestTakesEffectBeforeItAnswers: a held create is in the
// mailbox while its client still waits for the answer; after Release the
// client gets the 201. Requests the gate does not match pass.
func TestHold_RequestTakesEffectBeforeItAnswers(t *testing.T) {
	e := newEnv(t, graphemu.Options{})
	gate := e.srv.Hold(func(r graphemu.HeldRequest) bool {
		return r.Method == "POST" && strings.HasSuffix(r.Path, "/messages") && r.Status == 201
	})
	defer gate.Release()
	if r := e.do("GET", "/users/"+user+"/mailFolders/inbox", nil); r.status != 200 {
		t.Fatalf("an unmatched request: %d", r.status)
	}
	answered := make(chan result, 1)
	go func() {
		answered <- e.do("POST", "/users/"+user+"/mailFolders/inbox/messages", map[string]any{"subject": "held one"})
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	held, err := gate.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := e.srv.Dump(user)
	if len(d.Messages) != 1 || d.Messages[0].Subject != "held one" || e.srv.Stats().Creates != 1 {
		t.Fatalf("while held: %d messages, %d creates; want the create done", len(d.Messages), e.srv.Stats().Creates)
	}
	select {
	case r := <-answered:
		t.Fatalf("answered %d while held", r.status)
	default:
	}
	if held.Status != 201 || !strings.Contains(string(held.Body), "held one") {
		t.Fatalf("held %+v", held)
	}
	gate.Release()
	if r := <-answered; r.status != 201 || r.str("id") == "" {
		t.Fatalf("after release: %d %s", r.status, r.raw)
	}
	// Disarmed: the next create answers at once.
	if r := e.do("POST", "/users/"+user+"/mailFolders/inbox/messages", map[string]any{"subject": "second"}); r.status != 201 {
		t.Fatalf("second create: %d", r.status)
	}
}
