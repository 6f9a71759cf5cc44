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

// sendHeld calls SendMail while the emulator holds the sendMail it makes
// (the mail is sent) and then answers it with status.
func sendHeld(t *testing.T, f *fixture, id string, status int) error {
	t.Helper()
	gate := f.emu.Hold(func(r graphemu.HeldRequest) bool { return strings.HasSuffix(r.Path, "/sendMail") })
	defer gate.Release()
	done := make(chan error, 1)
	go func() {
		done <- f.target.SendMail(context.Background(), sender, []string{"ops@contoso.test"}, "batch b1: Synced", "<p>ok</p>", id)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	held, err := gate.Wait(ctx)
	if err != nil {
		t.Fatalf("sendMail never reached the emulator: %v", err)
	}
	if held.Status != 202 {
		t.Fatalf("held sendMail answered %d", held.Status)
	}
	gate.ReleaseWith(status)
	return <-done
}

// TestSendMail_5xxAfterDeliveryNotSentTwice: Graph sends the report mail
// and then answers 503 (or 504). SendMail looks the mail up by its
// internetMessageId, finds it, and neither sends it again nor fails; a
// later call with the same id (the engine's retry) sends nothing either.
// Without an id the same fault leaves the outcome unknown (the error the
// engine would retry, sending twice).
func TestSendMail_5xxAfterDeliveryNotSentTwice(t *testing.T) {
	f := start(t, graphemu.Options{TimeScale: 60}, ptr(graphdst.DefaultBudget().Scaled(60)))
	for i, status := range []int{503, 504} {
		id := "<imapmig-report.test" + string(rune('a'+i)) + "@contoso.test>"
		if err := sendHeld(t, f, id, status); err != nil {
			t.Fatalf("SendMail after %d answered after delivery: %v", status, err)
		}
		if n := len(f.emu.Sent()); n != i+1 {
			t.Fatalf("after a %d answered after delivery: %d mails sent, want %d", status, n, i+1)
		}
		if err := f.target.SendMail(context.Background(), sender, []string{"ops@contoso.test"}, "batch b1: Synced", "<p>ok</p>", id); err != nil {
			t.Fatal(err)
		}
		if n := len(f.emu.Sent()); n != i+1 {
			t.Fatalf("a repeated SendMail with the same id sent again: %d mails", n)
		}
	}
	if !strings.Contains(f.logs.String(), "sent although Graph answered an error") {
		t.Fatalf("the lookup after the 5xx did not run:\n%s", f.logs.String())
	}
	err := sendHeld(t, f, "", 503)
	if err == nil || migrate.KindOf(err) != migrate.KindRetryable {
		t.Fatalf("without an id, a 503 after delivery: %v, want a retryable unknown outcome", err)
	}
	t.Logf("503 and 504 after delivery: found by internetMessageId, %d mails in all (the last without an id)", len(f.emu.Sent()))
}
