package main

// Graph-side faults through the real daemon: a report mail answered 5xx
// after Exchange sent it, tokens that expire mid-pass, and a Graph outage.
// Every wait is on a condition (the emulator's gate and counters, the
// daemon's log and status) with a generous deadline, never on the clock.

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/testenv/graphemu"
	"github.com/imapmig/imapmig/testenv/logbuf"
	"github.com/imapmig/imapmig/testenv/mailgen"
)

// waitLog waits until the daemon's log holds want.
func (e *e2e) waitLog(want string, limit time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(limit)
	for !strings.Contains(e.logs.String(), want) {
		if time.Now().After(deadline) {
			e.t.Fatalf("the daemon never logged %q in %s:\n%s", want, limit, e.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestE2E_ReportMail5xxAfterDeliverySentOnce: Exchange sends the batch's
// initial-sync report and then answers 503. The daemon looks the mail up
// by its internetMessageId, finds it, and does not send it again: one
// mail, and the event log says it was sent.
func TestE2E_ReportMail5xxAfterDeliverySentOnce(t *testing.T) {
	e := newE2E(t, "rpt", 1, mailgen.Options{Messages: 5}, graphemu.Options{TimeScale: 60})
	e.withReportSender()
	gate := e.emu.Hold(func(r graphemu.HeldRequest) bool { return isPost(r, "/sendMail") })
	defer gate.Release()
	e.start()
	e.newBatch("rpt", reportedDaily...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	held, err := gate.Wait(ctx)
	if err != nil {
		t.Fatalf("no report mail: %v\n%s", err, e.logs.String())
	}
	if len(e.emu.Sent()) != 1 {
		t.Fatalf("while held: %d mails sent, want the one held", len(e.emu.Sent()))
	}
	gate.ReleaseWith(503)
	e.waitLog("report mail sent although Graph answered an error", 5*time.Minute)
	e.waitLog("report mail (initial sync done) sent", 5*time.Minute)
	sent := e.emu.Sent()
	if len(sent) != 1 {
		t.Fatalf("%d report mails after a 503 answered after delivery, want 1", len(sent))
	}
	var m struct {
		InternetMessageID string `json:"internetMessageId"`
	}
	_ = json.Unmarshal(sent[0].Message, &m)
	var first struct {
		Message struct {
			InternetMessageID string `json:"internetMessageId"`
		} `json:"message"`
	}
	_ = json.Unmarshal(held.Body, &first)
	if !strings.HasPrefix(m.InternetMessageID, "<imapmig-report.") || first.Message.InternetMessageID != m.InternetMessageID {
		t.Fatalf("the report's internetMessageId %q, the held send's %q", m.InternetMessageID, first.Message.InternetMessageID)
	}
	e.verify()
	t.Logf("503 answered after the report mail was sent: found by internetMessageId %s, 1 mail sent", m.InternetMessageID)
}

// TestE2E_TokensRefusedMidPassNoFailure: the token response says an hour,
// but Graph ends every token's life three times during the initial sync
// (after the 10th, 20th and 30th create). Each refused request is sent
// again with a fresh token: every user Synced, none failed, each message
// created once, the target equal to the source.
func TestE2E_TokensRefusedMidPassNoFailure(t *testing.T) {
	e := newE2E(t, "tok", 2, mailgen.Options{Messages: 30}, graphemu.Options{TimeScale: 60})
	isCreate := func(r graphemu.HeldRequest) bool { return isPost(r, "/messages") }
	var gates []*graphemu.Gate
	for _, n := range []int{10, 20, 30} {
		g := e.emu.Hold(nth(n, isCreate))
		defer g.Release()
		gates = append(gates, g)
	}
	e.start()
	e.newBatch("tok", "--autostart")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	for i, g := range gates {
		if _, err := g.Wait(ctx); err != nil {
			t.Fatalf("token end %d: %v", i+1, err)
		}
		e.emu.ExpireTokens()
		g.Release()
	}
	v := e.waitSynced("tok", 10*time.Minute)
	st := e.emu.Stats()
	if v.Status != "Synced" || v.FailedCount != 0 {
		t.Fatalf("after tokens refused mid-pass: %+v\n%s", v, e.logs.String())
	}
	if st.TokensExpired < 3 {
		t.Fatalf("only %d requests met a refused token; the test proves nothing", st.TokensExpired)
	}
	n := e.verifyOneCreateEach(st.Creates)
	t.Logf("tokens ended 3 times mid-pass: %d requests refused, %d tokens issued; %d messages checked, %d creates; every user Synced",
		st.TokensExpired, st.TokensIssued, n, st.Creates)
}

// TestE2E_GraphOutageRiddenOutEveryUserSynced: during the initial sync
// (after the 10th create) every Graph request is answered 503, first with
// Retry-After, then without, for a while. The passes wait: the users show
// WaitingFor "GraphUnavailable: …" in their status and in `batch watch`;
// when Graph answers again every user ends Synced, none failed, each
// message created once.
func TestE2E_GraphOutageRiddenOutEveryUserSynced(t *testing.T) {
	e := newE2E(t, "out", 3, mailgen.Options{Messages: 30}, graphemu.Options{TimeScale: 60})
	e.appendConfig("graph_outage_limit: 3m\n")
	gate := e.emu.Hold(nth(10, func(r graphemu.HeldRequest) bool { return isPost(r, "/messages") }))
	defer gate.Release()
	e.start()
	e.newBatch("out", "--autostart")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if _, err := gate.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	e.emu.SetOutage(true, time.Second)
	gate.Release()

	// batch watch, piped: plain lines.
	watchOut := &logbuf.Buffer{}
	startCLI(t, e.env, watchOut, watchOut, "batch", "watch", "out", "--interval", "200ms", "--follow")

	// The status says what the passes wait for, with Retry-After and
	// then without.
	waitingShown := func(minUnavailable int64) []migrate.UserView {
		deadline := time.Now().Add(5 * time.Minute)
		for {
			var us []migrate.UserView
			if err := json.Unmarshal([]byte(e.cli("user", "list", "--batch", "out", "-o", "json")), &us); err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, u := range us {
				if strings.HasPrefix(u.WaitingFor, "GraphUnavailable: ") && u.WaitingUntil != nil {
					n++
				}
				if u.Status == "Failed" {
					t.Fatalf("a user failed during the outage: %+v", u)
				}
			}
			if n > 0 && e.emu.Stats().Unavailable >= minUnavailable {
				return us
			}
			if time.Now().After(deadline) {
				t.Fatalf("no user shows the outage in WaitingFor (503s so far %d): %+v", e.emu.Stats().Unavailable, us)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	us := waitingShown(20)
	e.emu.SetOutage(true, 0) // now without Retry-After
	mark := e.emu.Stats().Unavailable
	waitingShown(mark + 10)
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(watchOut.String(), "for GraphUnavailable: ") {
		if time.Now().After(deadline) {
			t.Fatalf("batch watch never showed the wait:\n%s", watchOut.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	outage := time.Since(began)
	e.emu.SetOutage(false, 0)
	ended := time.Now()
	v := e.waitSynced("out", 10*time.Minute)
	st := e.emu.Stats()
	if v.Status != "Synced" || v.FailedCount != 0 || v.SyncedCount != 3 {
		t.Fatalf("after the outage: %+v", v)
	}
	n := e.verifyOneCreateEach(st.Creates)
	t.Logf("outage of %s (%d requests answered 503), e.g. %q; all Synced %s after it ended; %d messages checked, %d creates",
		outage.Round(time.Millisecond), st.Unavailable, us[0].WaitingFor, time.Since(ended).Round(time.Millisecond), n, st.Creates)
}

// verifyOneCreateEach verifies the target against the source and that it
// took creates creates for the messages the target holds: one each.
func (e *e2e) verifyOneCreateEach(creates int64) int {
	e.t.Helper()
	n := e.verify()
	msgs := 0
	for _, u := range e.users {
		d, _ := e.emu.Dump(u.email)
		msgs += len(d.Messages)
	}
	if int(creates) != msgs {
		e.t.Fatalf("%d creates for %d messages in the target", creates, msgs)
	}
	return n
}
