package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/bytesize"
	"github.com/imapmig/imapmig/migrate/httpapi"
	"github.com/imapmig/imapmig/migrate/model"
)

// cmdWatch is `imapmig batch watch NAME`: a live view of a batch. On a
// terminal it redraws a table of progress bars in place; otherwise it prints
// a plain line whenever the batch or a user changes.
func watchCmd() *cobra.Command {
	var every time.Duration
	var follow bool
	c := &cobra.Command{
		Use:   "watch NAME",
		Short: "live view: per-user progress with items, bytes, rate, ETA, stalls and errors",
		Long: `Live view of a batch: per-user progress bars with items, bytes, rate, ETA and
stalls, redrawn in place on a terminal; plain lines (one per change) when piped.
Ends when nothing is queued or running unless --follow. With --follow it
also survives a daemon restart: it prints a line saying it is waiting for
the daemon, and goes on when the daemon answers again.`,
		Args: exactArgs(1, "one batch name"),
	}
	c.Flags().DurationVar(&every, "interval", 2*time.Second, "refresh interval")
	c.Flags().BoolVar(&follow, "follow", false, "keep watching after the batch has nothing queued or running, and across daemon restarts")
	return withAPI(c, nil, func(a *apiCall, args []string) error {
		name := httpapi.PathEscape(args[0])
		poll := func(ctx context.Context) (migrate.BatchView, []migrate.UserView, error) {
			var v migrate.BatchView
			var us []migrate.UserView
			if err := a.Do(ctx, "GET", "/v1/batches/"+name, nil, &v); err != nil {
				return v, nil, err
			}
			err := a.Do(ctx, "GET", "/v1/batches/"+name+"/users", nil, &us)
			return v, us, err
		}
		return watchLoop(a.ctx, a.out, every, follow, poll)
	})
}

// watchLoop polls and renders until the batch is idle (or ctx ends).
func watchLoop(ctx context.Context, out io.Writer, every time.Duration, follow bool,
	poll func(context.Context) (migrate.BatchView, []migrate.UserView, error)) error {
	tty, width, height := terminal(out)
	pl := &plainWatcher{last: map[string]string{}}
	drawn := 0
	waiting := false
	for {
		v, us, err := poll(ctx)
		switch {
		case err != nil && errors.Is(err, context.Canceled):
			return nil
		case err != nil && follow && errors.Is(err, httpapi.ErrUnreachable):
			// A restarting daemon: say so once and keep trying.
			if !waiting {
				fmt.Fprintf(out, "%s waiting for the daemon to answer again: %v\n", time.Now().Format(time.DateTime), err)
				waiting, drawn = true, 0
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(every):
			}
			continue
		case err != nil:
			return err
		}
		if waiting {
			fmt.Fprintf(out, "%s the daemon answers again\n", time.Now().Format(time.DateTime))
			waiting = false
			pl.lastBatch, pl.last = "", map[string]string{} // print the whole state again
		}
		if tty {
			frame := renderWatch(v, us, width, height, time.Now())
			if drawn > 0 {
				fmt.Fprintf(out, "\033[%dA", drawn) // back to the top of the last frame
			}
			lines := strings.Split(strings.TrimSuffix(frame, "\n"), "\n")
			for _, l := range lines {
				// A line wider than the terminal would wrap and throw the
				// cursor arithmetic off: cut it.
				fmt.Fprintf(out, "\r\033[K%s\n", cut(l, width-1))
			}
			for i := len(lines); i < drawn; i++ { // clear what the last frame had below
				fmt.Fprint(out, "\r\033[K\n")
			}
			if drawn > len(lines) {
				fmt.Fprintf(out, "\033[%dA", drawn-len(lines))
			}
			drawn = len(lines)
		} else {
			pl.write(out, v, us, time.Now())
		}
		if !follow && idle(v) {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(every):
		}
	}
}

// idle: nothing queued or running and the batch is in a resting status.
func idle(v migrate.BatchView) bool {
	if v.QueuedCount+v.ActiveCount > 0 {
		return false
	}
	switch v.Status {
	case model.BatchSynced, model.BatchSyncedWithErrors, model.BatchFailed, model.BatchStopped,
		model.BatchCompleted, model.BatchCompletedWithErrors, model.BatchCreated:
		return true
	}
	return false
}

// cut shortens s to at most n runes.
func cut(s string, n int) string {
	if n <= 0 {
		return s
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}

func terminal(w io.Writer) (tty bool, width, height int) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return false, 0, 0
	}
	width, height, err := term.GetSize(int(f.Fd()))
	if err != nil || width < 40 {
		width, height = 100, 30
	}
	return true, width, height
}

// statusOrder puts running users first in the live view.
var statusOrder = map[model.UserStatus]int{
	model.UserSyncing: 0, model.UserIncrementalSyncing: 0, model.UserCompleting: 0, model.UserValidating: 1,
	model.UserStopping: 1, model.UserQueued: 2, model.UserFailed: 3, model.UserSynced: 4, model.UserStopped: 5,
	model.UserCompleted: 6, model.UserCompletedWithWarnings: 6, model.UserCreated: 7,
}

// The columns of a watch row.
const (
	cEmail = iota
	cStatus
	cBar
	cPct
	cItems
	cBytes
	cRate
	cBRate
	cETA
	cNote
	nCols
)

// watchRow is one user's cells and the fraction of its bar.
type watchRow struct {
	cells [nCols]string
	frac  float64
}

// renderWatch draws one frame: the batch's score and totals, then one row
// per user (running ones first), cut to the terminal's height. Columns
// adapt to the width: the bar goes first, then the byte rate, the bytes,
// the item rate and the ETA; the status and the note (error reason,
// stall, pacing) stay.
func renderWatch(v migrate.BatchView, us []migrate.UserView, width, height int, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "batch %s  %s  %s  score %s  %d/%d items  %s/%s  %d skipped  %d missing\n", v.Name, v.Status, now.Format("15:04:05"),
		orDash(v.DataConsistencyScore), v.SyncedItemCount, v.EstimatedTotalCount, bytesize.Format(v.SyncedBytes), bytesize.Format(v.EstimatedTotalSize),
		v.SkippedItemCount, v.MissingItemCount)
	fmt.Fprintf(&b, "users %d: %d queued, %d active, %d synced, %d failed, %d stopped, %d completed, %d stalled\n",
		v.TotalCount, v.QueuedCount, v.ActiveCount, v.SyncedCount, v.FailedCount, v.StoppedCount,
		v.CompletedCount+v.CompletedWithWarningCount, v.StalledCount)
	sort.SliceStable(us, func(i, j int) bool {
		oi, oj := statusOrder[us[i].Status], statusOrder[us[j].Status]
		if oi != oj {
			return oi < oj
		}
		return us[i].EmailAddress < us[j].EmailAddress
	})
	n := len(us)
	if height > 0 && n > height-4 {
		n = max(height-4, 1)
	}
	if width <= 0 {
		width = 120
	}
	rows := make([]watchRow, n)
	for i, u := range us[:n] {
		rows[i] = watchRowOf(u, now)
	}
	w, show := watchColumns(rows, width)
	for _, r := range rows {
		b.WriteString(r.render(w, show) + "\n")
	}
	if n < len(us) {
		fmt.Fprintf(&b, "… %d more users (imapmig user list --batch %s)\n", len(us)-n, v.Name)
	}
	return b.String()
}

// watchRowOf is a user's cells.
func watchRowOf(u migrate.UserView, now time.Time) watchRow {
	frac := 0.0
	if u.EstimatedTotalSize > 0 {
		frac = min(1, float64(u.SyncedBytes)/float64(u.EstimatedTotalSize))
	} else if u.EstimatedTotalCount > 0 {
		frac = min(1, float64(u.SyncedItemCount)/float64(u.EstimatedTotalCount))
	} else if u.Status == model.UserSynced || u.Status == model.UserCompleted {
		frac = 1
	}
	eta := "-"
	if u.EstimatedSecondsLeft != nil && *u.EstimatedSecondsLeft > 0 {
		eta = (time.Duration(*u.EstimatedSecondsLeft) * time.Second).String()
	}
	var note []string
	if u.PacingUntil != nil && u.PacingUntil.After(now) {
		note = append(note, "Pacing until "+u.PacingUntil.Local().Format("15:04:05"))
	}
	if u.Stalled {
		note = append(note, "STALLED "+(time.Duration(u.StalledDuration)*time.Second).String())
	}
	if w := waitingNote(u); w != "" {
		note = append(note, w)
	}
	if u.ErrorReason != "" {
		note = append(note, u.ErrorReason)
	}
	return watchRow{frac: frac, cells: [nCols]string{
		cEmail: u.EmailAddress, cStatus: string(u.Status), cPct: fmt.Sprintf("%3.0f%%", frac*100),
		cItems: fmt.Sprintf("%d/%d", u.SyncedItemCount, u.EstimatedTotalCount), cBytes: bytesize.Format(u.SyncedBytes),
		cRate: fmt.Sprintf("%.1f it/s", u.ItemsPerSecond), cBRate: bytesize.Format(int64(u.BytesPerSecond)) + "/s",
		cETA: "ETA " + eta, cNote: strings.Join(note, ", "),
	}}
}

// waitingNote is what a running pass waits for (UserView.WaitingFor) and
// until when, e.g. "waiting until 14:03:07 for GraphUnavailable: …"; ""
// when it does not wait.
func waitingNote(u migrate.UserView) string {
	if u.WaitingFor == "" {
		return ""
	}
	if u.WaitingUntil != nil && !u.WaitingUntil.IsZero() {
		return "waiting until " + u.WaitingUntil.Local().Format("15:04:05") + " for " + u.WaitingFor
	}
	return "waiting for " + u.WaitingFor
}

// watchColumns returns the columns' widths and which fit the width: the
// bar takes what is left, 10 to 30 cells; without 10 it goes, then the
// byte rate, the bytes, the item rate and the ETA.
func watchColumns(rows []watchRow, width int) (w [nCols]int, show [nCols]bool) {
	for _, r := range rows {
		for k, s := range r.cells {
			w[k] = max(w[k], utf8.RuneCountInString(s))
		}
	}
	w[cEmail] = min(max(w[cEmail], 8), 36)
	w[cBar] = 0
	for k := range show {
		show[k] = w[k] > 0 || k == cBar
	}
	total := func() int {
		n := 0
		for k := range show {
			if show[k] && k != cNote {
				n += w[k] + 1
			}
		}
		return n + min(w[cNote], 24) // leave the note room for its reason
	}
	w[cBar] = 10
	for _, k := range []int{cBar, cBRate, cBytes, cRate, cETA} {
		if total() <= width-1 {
			break
		}
		show[k] = false
	}
	if show[cBar] {
		w[cBar] = min(30, 10+width-1-total())
	}
	return w, show
}

// render writes the row's shown cells in their widths.
func (r watchRow) render(w [nCols]int, show [nCols]bool) string {
	var parts []string
	for k, s := range r.cells {
		if !show[k] {
			continue
		}
		switch k {
		case cBar:
			fill := int(r.frac * float64(w[cBar]))
			parts = append(parts, strings.Repeat("█", fill)+strings.Repeat("░", w[cBar]-fill))
		case cEmail:
			if utf8.RuneCountInString(s) > w[k] {
				s = string([]rune(s)[:w[k]-1]) + "…"
			}
			parts = append(parts, fmt.Sprintf("%-*s", w[k], s))
		case cNote:
			parts = append(parts, s)
		case cPct, cItems, cBytes, cRate, cBRate:
			parts = append(parts, fmt.Sprintf("%*s", w[k], s))
		default:
			parts = append(parts, fmt.Sprintf("%-*s", w[k], s))
		}
	}
	return strings.TrimRight(strings.Join(parts, " "), " ")
}

// plainWatcher prints a line when the batch or a user changes, for logs and
// pipes.
type plainWatcher struct {
	lastBatch string
	last      map[string]string
}

func (p *plainWatcher) write(out io.Writer, v migrate.BatchView, us []migrate.UserView, now time.Time) {
	ts := now.Format(time.DateTime)
	line := fmt.Sprintf("batch %s %s: %d queued, %d active, %d synced, %d failed, %d stalled; %d/%d items, %s/%s, %d skipped",
		v.Name, v.Status, v.QueuedCount, v.ActiveCount, v.SyncedCount, v.FailedCount, v.StalledCount,
		v.SyncedItemCount, v.EstimatedTotalCount, bytesize.Format(v.SyncedBytes), bytesize.Format(v.EstimatedTotalSize), v.SkippedItemCount)
	if line != p.lastBatch {
		fmt.Fprintf(out, "%s %s\n", ts, line)
		p.lastBatch = line
	}
	for _, u := range us {
		ul := fmt.Sprintf("user %s %s: %d/%d items, %s, %d skipped", u.EmailAddress, u.Status, u.SyncedItemCount,
			u.EstimatedTotalCount, bytesize.Format(u.SyncedBytes), u.SkippedItemCount)
		if u.Stalled {
			ul += ", STALLED"
		}
		if u.PacingUntil != nil && u.PacingUntil.After(now) {
			ul += ", Pacing until " + u.PacingUntil.Local().Format("15:04:05")
		}
		if w := waitingNote(u); w != "" {
			ul += ", " + w
		}
		if u.ErrorReason != "" {
			ul += ", " + u.ErrorReason
		}
		if p.last[u.EmailAddress] != ul {
			fmt.Fprintf(out, "%s %s\n", ts, ul)
			p.last[u.EmailAddress] = ul
		}
	}
}

// engineWatch adapts an in-process engine to watchLoop (the demo).
func engineWatch(eng *migrate.Engine, name string) func(context.Context) (migrate.BatchView, []migrate.UserView, error) {
	return func(context.Context) (migrate.BatchView, []migrate.UserView, error) {
		v, err := eng.Batch(name)
		if err != nil {
			return v, nil, err
		}
		us, err := eng.Users(name)
		return v, us, err
	}
}
