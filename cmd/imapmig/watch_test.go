package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/httpapi"
	"github.com/imapmig/imapmig/migrate/model"
)

func watchFixture(step int) (migrate.BatchView, []migrate.UserView) {
	left := 30.0
	us := []migrate.UserView{
		{EmailAddress: "ann@contoso.com", Status: model.UserSyncing, SyncedItemCount: int64(10 * step), EstimatedTotalCount: 40,
			SyncedBytes: int64(1 << 20 * step), EstimatedTotalSize: 4 << 20, ItemsPerSecond: 5, BytesPerSecond: 1 << 19, EstimatedSecondsLeft: &left},
		{EmailAddress: "bob@contoso.com", Status: model.UserQueued},
		{EmailAddress: "cid@contoso.com", Status: model.UserFailed, ErrorReason: "ImapAuthenticationFailed"},
	}
	v := migrate.BatchView{Name: "wave1", Status: model.BatchSyncing, TotalCount: 3, QueuedCount: 1, ActiveCount: 1, FailedCount: 1,
		SyncedItemCount: int64(10 * step), EstimatedTotalCount: 40}
	if step == 4 {
		us[0].Status, us[1].Status = model.UserSynced, model.UserSynced
		v.Status, v.QueuedCount, v.ActiveCount, v.SyncedCount = model.BatchSyncedWithErrors, 0, 0, 2
	}
	return v, us
}

func TestRenderWatch_BarsRunningFirstAndCut(t *testing.T) {
	v, us := watchFixture(2)
	us[0], us[2] = us[2], us[0] // the running user is not first in the input
	frame := renderWatch(v, us, 120, 5, time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC))
	lines := strings.Split(strings.TrimSuffix(frame, "\n"), "\n")
	if !strings.HasPrefix(lines[0], "batch wave1  Syncing") {
		t.Errorf("header %q", lines[0])
	}
	if !strings.HasPrefix(lines[2], "ann@contoso.com") || !strings.Contains(lines[2], " 50%") || !strings.Contains(lines[2], "ETA 30s") {
		t.Errorf("running user row %q", lines[2])
	}
	if len(lines) != 4 || !strings.Contains(lines[3], "… 2 more users") {
		t.Errorf("a 5-line terminal should show 1 user and a cut line:\n%s", frame)
	}
}

func TestWatchLoop_PlainLinesOnlyOnChangeAndStopsWhenIdle(t *testing.T) {
	var out bytes.Buffer
	step := 0
	poll := func(context.Context) (migrate.BatchView, []migrate.UserView, error) {
		step++
		s := step
		if s == 2 {
			s = 1 // nothing changed between the first two polls
		}
		v, us := watchFixture(min(s, 4))
		return v, us, nil
	}
	if err := watchLoop(context.Background(), &out, time.Millisecond, false, poll); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if step != 4 {
		t.Errorf("polled %d times, want 4 (stops once idle)", step)
	}
	if strings.Contains(text, "\033[") {
		t.Error("plain mode wrote terminal escapes")
	}
	if n := strings.Count(text, "user cid@contoso.com Failed"); n != 1 {
		t.Errorf("unchanged user printed %d times, want once:\n%s", n, text)
	}
	if n := strings.Count(text, "user ann@contoso.com"); n != 3 {
		t.Errorf("ann printed %d times, want 3 (one per change):\n%s", n, text)
	}
	if !strings.Contains(text, "batch wave1 SyncedWithErrors") {
		t.Errorf("final state missing:\n%s", text)
	}
}

// TestRenderWatch_ColumnsAdaptToTheWidth: at 80 columns a failed user's
// reason and a pacing user's "Pacing until" are shown (the bar goes
// first); at 140 the header's score is whole and the bar is back.
func TestRenderWatch_ColumnsAdaptToTheWidth(t *testing.T) {
	now := time.Date(2026, 1, 1, 10, 0, 0, 0, time.Local)
	v, us := watchFixture(2)
	v.DataConsistencyScore = "Investigate"
	pace := now.Add(95 * time.Second)
	us[0].PacingUntil = &pace
	us[2].EmailAddress = "dave.longname@contoso.example"
	for _, width := range []int{80, 140} {
		frame := renderWatch(v, slices.Clone(us), width, 30, now)
		for _, l := range strings.Split(strings.TrimSuffix(frame, "\n"), "\n") {
			if n := utf8.RuneCountInString(l); n > width-1 && !strings.HasPrefix(l, "batch ") && !strings.HasPrefix(l, "users ") {
				t.Errorf("width %d: row of %d runes: %q", width, n, l)
			}
		}
		cutFrame := ""
		for _, l := range strings.Split(frame, "\n") {
			cutFrame += cut(l, width-1) + "\n"
		}
		for _, want := range []string{"ImapAuthenticationFailed", "Pacing until 10:01:35", "dave.longname@contoso.example", " 50%", "20/40"} {
			if !strings.Contains(cutFrame, want) {
				t.Errorf("width %d lacks %q:\n%s", width, want, cutFrame)
			}
		}
		hasBar := strings.Contains(cutFrame, "░")
		if width == 140 && (!hasBar || !strings.Contains(cutFrame, "score Investigate")) {
			t.Errorf("width 140: bar %v, header %q", hasBar, strings.SplitN(cutFrame, "\n", 2)[0])
		}
		if width == 80 && hasBar {
			t.Errorf("width 80 kept the bar before the reasons:\n%s", cutFrame)
		}
	}
}

// TestWatchLoop_FollowWaitsForARestartingDaemon: with --follow an
// unreachable daemon is one "waiting" line, then the watch goes on when it
// answers; without --follow, or for an answer that is an error, it ends.
func TestWatchLoop_FollowWaitsForARestartingDaemon(t *testing.T) {
	down := fmt.Errorf("%w at http://127.0.0.1:1: connection refused", httpapi.ErrUnreachable)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	step := 0
	poll := func(context.Context) (migrate.BatchView, []migrate.UserView, error) {
		step++
		switch {
		case step == 2 || step == 3 || step == 4:
			return migrate.BatchView{}, nil, down
		case step == 6:
			cancel()
		}
		v, us := watchFixture(4) // idle: only --follow keeps watching
		return v, us, nil
	}
	var out bytes.Buffer
	if err := watchLoop(ctx, &out, time.Millisecond, true, poll); err != nil {
		t.Fatalf("follow: %v", err)
	}
	text := out.String()
	if step < 6 {
		t.Errorf("the watch ended after %d polls, want it to go on after the daemon came back", step)
	}
	if n := strings.Count(text, "waiting for the daemon"); n != 1 {
		t.Errorf("%d waiting lines, want 1:\n%s", n, text)
	}
	back := strings.Index(text, "the daemon answers again")
	if back < 0 || !strings.Contains(text[back:], "batch wave1 SyncedWithErrors") {
		t.Errorf("after the daemon is back the state is not shown again:\n%s", text)
	}

	step = 1 // the next poll is unreachable
	if err := watchLoop(context.Background(), &out, time.Millisecond, false, poll); !errors.Is(err, httpapi.ErrUnreachable) {
		t.Errorf("without --follow: err %v, want ErrUnreachable", err)
	}
	apiErr := &httpapi.APIError{Status: 404, Code: "NotFound", Message: "batch gone"}
	if err := watchLoop(context.Background(), &out, time.Millisecond, true,
		func(context.Context) (migrate.BatchView, []migrate.UserView, error) {
			return migrate.BatchView{}, nil, apiErr
		}); !errors.As(err, &apiErr) {
		t.Errorf("an API error with --follow: %v, want it returned", err)
	}
}
