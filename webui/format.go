package webui

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// fmtInt writes n with thousands separators: 12,345.
func fmtInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// fmtBytes writes a size in binary units with one decimal: 1.5 GB.
func fmtBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f, i := float64(n), 0
	units := []string{"KB", "MB", "GB", "TB", "PB"}
	for f /= unit; f >= unit && i < len(units)-1; i++ {
		f /= unit
	}
	return fmt.Sprintf("%.1f %s", f, units[i])
}

// fmtRate writes a per-second figure: "12.3/s", "–" for none.
func fmtRate(v float64, unit string) string {
	switch {
	case v <= 0 || math.IsNaN(v):
		return "–"
	case v < 10:
		return fmt.Sprintf("%.2f %s", v, unit)
	case v < 1000:
		return fmt.Sprintf("%.1f %s", v, unit)
	}
	return fmt.Sprintf("%s %s", fmtInt(int64(v)), unit)
}

func fmtMBps(bps float64) string { return fmtRate(bps/(1<<20), "MB/s") }

// fmtDur writes a duration in the two largest units: "2h 05m", "3d 4h".
func fmtDur(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d.Seconds())
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm %02ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh %02dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dd %dh", s/86400, s%86400/3600)
}

// fmtETA writes seconds left, "–" when unknown.
func fmtETA(secs *float64) string {
	if secs == nil || *secs < 0 || math.IsInf(*secs, 0) || math.IsNaN(*secs) {
		return "–"
	}
	return fmtDur(time.Duration(*secs * float64(time.Second)))
}

// fmtTime writes a time in UTC to the minute, "never" for none (the
// pages say UTC in the column or card title).
func fmtTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

// fmtPct is done of total in percent (0–100), for a progress bar.
func fmtPct(done, total int64) string {
	if total <= 0 {
		if done > 0 {
			return "100"
		}
		return "0"
	}
	return strconv.FormatFloat(min(100, 100*float64(done)/float64(total)), 'f', 1, 64)
}

// statusClass is the colour class of a batch or user status or a score.
func statusClass(s string) string {
	switch s {
	case "Synced", "Completed", "Perfect", "Good":
		return "st st-ok"
	case "Syncing", "IncrementalSyncing", "Validating", "Starting", "Completing":
		return "st st-run"
	case "Stopped", "Stopping", "SyncedWithErrors", "CompletedWithWarnings", "CompletedWithErrors", "Investigate", "Removing":
		return "st st-warn"
	case "Failed", "Poor":
		return "st st-bad"
	}
	return "st st-idle"
}

// orDash is s, or "–" when empty.
func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
