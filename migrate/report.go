package migrate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"sort"
	"strings"
	"time"

	"github.com/imapmig/imapmig/migrate/bytesize"
	"github.com/imapmig/imapmig/migrate/model"
	"github.com/imapmig/imapmig/state"
)

// Report kinds.
const (
	ReportInitialSync = "initial sync done"
	ReportCompleted   = "completed"
	ReportPeriodic    = "status"
)

// reportData is what the report template renders.
type reportData struct {
	Kind        string
	Batch       BatchView
	Generated   time.Time
	Failed      []UserView
	Stalled     []UserView
	Skipped     []reasonCount
	Users       []UserView
	MaxUsers    int
	MoreUsers   int
	ScoreLegend string
	Verdict     string
}

type reasonCount struct {
	Reason string
	Count  int
}

var reportTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"bytes": bytesize.Format,
	"time": func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
}).Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>imapmig: batch {{.Batch.Name}} {{.Kind}}</title></head>
<body style="font-family: Segoe UI, Arial, sans-serif; font-size: 14px">
<h2>Migration batch {{.Batch.Name}}: {{.Batch.Status}}</h2>
<p>Report ({{.Kind}}) generated {{.Generated.UTC.Format "2006-01-02 15:04 UTC"}}.</p>
<table border="1" cellpadding="4" cellspacing="0" style="border-collapse: collapse">
<tr><th align="left">Total users</th><td id="total">{{.Batch.TotalCount}}</td></tr>
<tr><th align="left">Queued</th><td id="queued">{{.Batch.QueuedCount}}</td></tr>
<tr><th align="left">Active</th><td id="active">{{.Batch.ActiveCount}}</td></tr>
<tr><th align="left">Synced</th><td id="synced">{{.Batch.SyncedCount}}</td></tr>
<tr><th align="left">Stopped</th><td id="stopped">{{.Batch.StoppedCount}}</td></tr>
<tr><th align="left">Failed</th><td id="failed">{{.Batch.FailedCount}}</td></tr>
<tr><th align="left">Completed</th><td id="completed">{{.Batch.CompletedCount}}</td></tr>
<tr><th align="left">Completed with warnings</th><td id="completedwithwarnings">{{.Batch.CompletedWithWarningCount}}</td></tr>
<tr><th align="left">Messages copied</th><td id="items">{{.Batch.SyncedItemCount}} of {{.Batch.EstimatedTotalCount}}</td></tr>
<tr><th align="left">Data copied</th><td id="bytes">{{bytes .Batch.SyncedBytes}} of {{bytes .Batch.EstimatedTotalSize}}</td></tr>
<tr><th align="left">Skipped items</th><td id="skipped">{{.Batch.SkippedItemCount}}</td></tr>
<tr><th align="left">Missing items</th><td id="missing">{{.Batch.MissingItemCount}}{{if .Batch.NotSyncedCount}} ({{.Batch.NotSyncedCount}} users without a successful sync){{end}}</td></tr>
<tr><th align="left">Data consistency</th><td id="score">{{if .Batch.DataConsistencyScore}}{{.Batch.DataConsistencyScore}}{{else}}-{{end}}</td></tr>
</table>
<p id="verdict"><b>{{.Verdict}}</b></p>
<p style="color: #555">{{.ScoreLegend}}</p>
{{if .Failed}}<h3>Failed users ({{len .Failed}})</h3>
<table border="1" cellpadding="4" cellspacing="0" style="border-collapse: collapse">
<tr><th>User</th><th>Reason</th><th>Error</th></tr>
{{range .Failed}}<tr><td>{{.EmailAddress}}</td><td>{{.ErrorReason}}</td><td>{{.LastError}}</td></tr>
{{end}}</table>{{end}}
{{if .Stalled}}<h3>Stalled users ({{len .Stalled}})</h3>
<ul>{{range .Stalled}}<li>{{.EmailAddress}}: no progress since {{time .LastProgressTime}}</li>{{end}}</ul>{{end}}
{{if .Skipped}}<h3>Skipped items by reason</h3>
<table border="1" cellpadding="4" cellspacing="0" style="border-collapse: collapse">
<tr><th>Reason</th><th>Items</th></tr>
{{range .Skipped}}<tr><td>{{.Reason}}</td><td>{{.Count}}</td></tr>
{{end}}</table>
<p>List them with <code>imapmig user skipped EMAIL</code>; approve with <code>imapmig batch approve {{.Batch.Name}}</code>.</p>{{end}}
{{if .Batch.ItemNotes}}<h3>Migrated, but not as a plain copy</h3>
<table border="1" cellpadding="4" cellspacing="0" style="border-collapse: collapse">
<tr><th>Note</th><th>Items</th></tr>
{{range $k, $n := .Batch.ItemNotes}}<tr><td>{{$k}}</td><td>{{$n}}</td></tr>
{{end}}</table>{{end}}
<h3>Users</h3>
<table border="1" cellpadding="4" cellspacing="0" style="border-collapse: collapse">
<tr><th>User</th><th>Status</th><th>Messages</th><th>Data</th><th>Skipped</th><th>Score</th><th>Last sync</th></tr>
{{range .Users}}<tr><td>{{.EmailAddress}}</td><td>{{.Status}}</td><td>{{.SyncedItemCount}} / {{.EstimatedTotalCount}}</td><td>{{bytes .SyncedBytes}}</td><td>{{.SkippedItemCount}}</td><td>{{.DataConsistencyScore}}</td><td>{{time .LastSuccessfulSyncTime}}</td></tr>
{{end}}</table>
{{if .MoreUsers}}<p>… and {{.MoreUsers}} more users (<code>imapmig user list --batch {{.Batch.Name}}</code>).</p>{{end}}
</body></html>
`))

// batchVerdict is the report's one-line conclusion; it says "every message"
// only when that is true.
func batchVerdict(v BatchView) string {
	switch {
	case v.DataConsistencyScore == ScorePerfect:
		return fmt.Sprintf("Perfect: every user is synced and all %d messages in scope are in Exchange Online.", v.EstimatedTotalCount)
	case v.FailedCount > 0:
		return fmt.Sprintf("%d of %d users failed; %d messages in scope are not in Exchange Online (%d of %d copied).",
			v.FailedCount, v.TotalCount, v.MissingItemCount, v.SyncedItemCount, v.EstimatedTotalCount)
	case v.NotSyncedCount > 0:
		return fmt.Sprintf("%d of %d users have not finished their first sync; %d messages in scope are not in Exchange Online yet.",
			v.NotSyncedCount, v.TotalCount, v.MissingItemCount)
	case v.MissingItemCount > 0:
		return fmt.Sprintf("%d messages in scope are neither in Exchange Online nor recorded as skipped.", v.MissingItemCount)
	case v.SkippedItemCount > 0:
		return fmt.Sprintf("Every user is synced; %d messages were skipped (see below).", v.SkippedItemCount)
	}
	return "Every user is synced."
}

// renderReport builds the subject and HTML of a batch report.
func (e *Engine) renderReport(name, kind string) (string, string, error) {
	v, err := e.Batch(name)
	if err != nil {
		return "", "", err
	}
	us, err := e.Users(name)
	if err != nil {
		return "", "", err
	}
	d := reportData{Kind: kind, Batch: v, Generated: e.now(), MaxUsers: 500,
		ScoreLegend: "Perfect: every user is synced and every message in scope is in Exchange Online. Good: only approved skipped items. Investigate: skipped items to review and approve, or users whose recent syncs failed. Poor: messages missing: users that failed before any sync, or messages missing without a recorded reason. No score (-): users have not finished their first sync.",
		Verdict:     batchVerdict(v)}
	reasons := map[string]int{}
	for _, u := range us {
		if u.Status == model.UserFailed {
			d.Failed = append(d.Failed, u)
		}
		if u.Stalled {
			d.Stalled = append(d.Stalled, u)
		}
		if u.SkippedItemCount > 0 {
			sk, err := e.store.Skipped(u.EmailAddress)
			if err != nil {
				return "", "", err
			}
			for _, it := range sk {
				reasons[it.Reason]++
			}
		}
	}
	for r, n := range reasons {
		d.Skipped = append(d.Skipped, reasonCount{r, n})
	}
	sort.Slice(d.Skipped, func(i, j int) bool { return d.Skipped[i].Reason < d.Skipped[j].Reason })
	d.Users = us
	if len(us) > d.MaxUsers {
		d.Users, d.MoreUsers = us[:d.MaxUsers], len(us)-d.MaxUsers
	}
	var buf bytes.Buffer
	if err := reportTmpl.Execute(&buf, d); err != nil {
		return "", "", err
	}
	subject := fmt.Sprintf("Migration batch %s: %s (%d of %d users synced, %d failed)", v.Name, v.Status,
		v.SyncedCount+v.CompletedCount+v.CompletedWithWarningCount, v.TotalCount, v.FailedCount)
	return subject, buf.String(), nil
}

// SendReport mails a batch report to its notification addresses from the
// configured sender now. It is what the scheduler calls after the initial
// sync, after completion and every report interval.
func (e *Engine) SendReport(ctx context.Context, name, kind string) error {
	b, err := e.store.Batch(name)
	if err != nil {
		return err
	}
	if len(b.Options.NotificationEmails) == 0 {
		return nil
	}
	if e.live().ReportSender == "" {
		e.log.Warn("batch has notification_emails but no report_sender is configured; no report sent", "batch", name)
		return nil
	}
	tgt, err := e.targetFor(ctx, b.Tenant)
	if err != nil {
		return err
	}
	subject, html, err := e.renderReport(name, kind)
	if err != nil {
		return err
	}
	// One Message-ID for every attempt: the target looks it up before it
	// sends again, so a 5xx answered after delivery does not send twice.
	sender := e.live().ReportSender
	id := reportMessageID(b, kind, sender)
	if _, err := retryOp(ctx, e.log, e.opts.RetryAttempts, e.opts.RetryBackoff, func() (struct{}, error) {
		return struct{}{}, tgt.SendMail(ctx, sender, b.Options.NotificationEmails, subject, html, id)
	}); err != nil {
		e.event(name, "", "error", fmt.Sprintf("report mail (%s) not sent: %v", kind, err))
		return err
	}
	e.event(name, "", "info", fmt.Sprintf("report mail (%s) sent to %d recipients", kind, len(b.Options.NotificationEmails)))
	return nil
}

// dueReports returns the reports a batch needs now, marking them as sent
// (they are sent once; a failed send is logged in the event log).
func (e *Engine) dueReports(b state.Batch, now time.Time) []string {
	if len(b.Options.NotificationEmails) == 0 || e.live().ReportSender == "" {
		return nil
	}
	var due []string
	switch {
	case !b.ReportedSynced && (b.Status == model.BatchSynced || b.Status == model.BatchSyncedWithErrors || b.Status == model.BatchFailed):
		due = append(due, ReportInitialSync)
	case !b.ReportedCompleted && (b.Status == model.BatchCompleted || b.Status == model.BatchCompletedWithErrors):
		due = append(due, ReportCompleted)
	case e.live().ReportInterval > 0 && !b.LastReportAt.IsZero() && now.Sub(b.LastReportAt) >= e.live().ReportInterval &&
		b.Status != model.BatchCompleted && b.Status != model.BatchCompletedWithErrors && b.Status != model.BatchStopped:
		due = append(due, ReportPeriodic)
	}
	if len(due) == 0 {
		return nil
	}
	_, _ = e.store.UpdateBatch(b.Name, func(x *state.Batch) error {
		x.LastReportAt = now.UTC()
		for _, k := range due {
			switch k {
			case ReportInitialSync:
				x.ReportedSynced = true
			case ReportCompleted:
				x.ReportedCompleted = true
			}
		}
		return nil
	})
	return due
}

// reportMessageID is the internetMessageId of one report mail, derived from
// what identifies the report: the batch (its name and creation time), the
// kind, and the report round (LastReportAt, set when the report fell due).
// Every attempt to send that report carries the same id.
func reportMessageID(b state.Batch, kind, sender string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%s\x00%d", b.Name, b.CreatedAt.UnixNano(), kind, b.LastReportAt.UnixNano())
	domain := "imapmig.invalid"
	if i := strings.LastIndexByte(sender, '@'); i >= 0 && i+1 < len(sender) {
		domain = sender[i+1:]
	}
	return "<imapmig-report." + hex.EncodeToString(h.Sum(nil)[:12]) + "@" + domain + ">"
}
