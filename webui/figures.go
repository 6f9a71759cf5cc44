package webui

import (
	"time"

	"github.com/imapmig/imapmig/migrate"
)

// live is what the pages' script applies: text, class, progress value and
// path data, each by the key an element names in data-k, data-kc, data-kv
// or data-kd. The first render of a page uses the same figures, so a
// refresh never changes a number's format.
type live struct {
	T       map[string]string `json:"t"`
	C       map[string]string `json:"c"`
	V       map[string]string `json:"v"`
	D       map[string]string `json:"d"`
	Updated string            `json:"updated"`
	// Next is when the page should ask again, in milliseconds.
	Next int64 `json:"next"`
}

func newLive(now time.Time) *live {
	return &live{T: map[string]string{}, C: map[string]string{}, V: map[string]string{}, D: map[string]string{},
		Updated: now.UTC().Format("15:04:05 UTC")}
}

// rateWindow is the span the batches' rates are measured over.
const rateWindow = time.Minute

// batchFigures are a batch's figures as shown, by key.
func batchFigures(v migrate.BatchView, r Rate, haveRate bool) (text, class map[string]string, pct string) {
	text = map[string]string{
		"status":    string(v.Status),
		"users":     fmtInt(int64(v.TotalCount)),
		"active":    fmtInt(int64(v.ActiveCount)),
		"queued":    fmtInt(int64(v.QueuedCount)),
		"synced":    fmtInt(int64(v.SyncedCount)),
		"stopped":   fmtInt(int64(v.StoppedCount)),
		"failed":    fmtInt(int64(v.FailedCount)),
		"completed": fmtInt(int64(v.CompletedCount + v.CompletedWithWarningCount)),
		"stalled":   fmtInt(int64(v.StalledCount)),
		"items":     fmtInt(v.SyncedItemCount) + " / " + fmtInt(v.EstimatedTotalCount),
		"bytes":     fmtBytes(v.SyncedBytes) + " / " + fmtBytes(v.EstimatedTotalSize),
		"skipped":   fmtInt(v.SkippedItemCount),
		"missing":   fmtInt(v.MissingItemCount),
		"score":     orDash(v.DataConsistencyScore),
		"lastsync":  fmtTime(v.LastSyncedDateTime),
		"irate":     "–",
		"brate":     "–",
		"eta":       "–",
	}
	if haveRate {
		text["irate"] = fmtRate(r.ItemsPerSec, "items/s")
		text["brate"] = fmtMBps(r.BytesPerSec)
		text["eta"] = fmtETA(eta(v, r))
	}
	class = map[string]string{"status": statusClass(string(v.Status)), "score": statusClass(v.DataConsistencyScore)}
	if v.EstimatedTotalSize > 0 {
		pct = fmtPct(v.SyncedBytes, v.EstimatedTotalSize)
	} else {
		pct = fmtPct(v.SyncedItemCount, v.EstimatedTotalCount)
	}
	return text, class, pct
}

// eta is the seconds left at rate r: the longer of what the bytes and the
// items left need (nil when nothing moves or no message is missing).
func eta(v migrate.BatchView, r Rate) *float64 {
	var left float64
	// Skipped items are never copied: what is left is the missing ones.
	bl, il := v.EstimatedTotalSize-v.SyncedBytes, v.MissingItemCount
	if il <= 0 {
		return nil
	}
	if r.BytesPerSec > 0 && bl > 0 {
		left = float64(bl) / r.BytesPerSec
	}
	if r.ItemsPerSec > 0 && il > 0 {
		left = max(left, float64(il)/r.ItemsPerSec)
	}
	if left == 0 {
		return nil
	}
	return &left
}

// userFigures are a user's figures as shown, by key.
func userFigures(u migrate.UserView) (text, class map[string]string) {
	text = map[string]string{
		"status":   string(u.Status),
		"items":    fmtInt(u.SyncedItemCount) + " / " + fmtInt(u.EstimatedTotalCount),
		"bytes":    fmtBytes(u.SyncedBytes) + " / " + fmtBytes(u.EstimatedTotalSize),
		"skipped":  fmtInt(u.SkippedItemCount),
		"rate":     fmtMBps(u.BytesPerSecond),
		"irate":    fmtRate(u.ItemsPerSecond, "items/s"),
		"eta":      fmtETA(u.EstimatedSecondsLeft),
		"score":    orDash(u.DataConsistencyScore),
		"lastsync": fmtTime(u.LastSuccessfulSyncTime),
		"nextsync": fmtTime(u.NextSyncTime),
		"error":    orDash(u.ErrorReason),
	}
	if u.Stalled {
		text["status"] += " (stalled " + fmtDur(time.Duration(u.StalledDuration*float64(time.Second))) + ")"
	}
	if u.PacingUntil != nil {
		text["status"] += " · pacing until " + u.PacingUntil.UTC().Format("15:04:05")
	}
	text["waiting"] = ""
	if u.WaitingFor != "" {
		text["waiting"] = "Waiting: " + u.WaitingFor
		if u.WaitingUntil != nil {
			text["waiting"] += " (until " + u.WaitingUntil.UTC().Format("15:04:05 UTC") + ")"
		}
	}
	class = map[string]string{"status": statusClass(string(u.Status)), "score": statusClass(u.DataConsistencyScore)}
	return text, class
}

// addTo copies figures into a live answer under prefix.
func (l *live) add(prefix string, text, class map[string]string) {
	for k, v := range text {
		l.T[prefix+k] = v
	}
	for k, v := range class {
		l.C[prefix+k] = v
	}
}
