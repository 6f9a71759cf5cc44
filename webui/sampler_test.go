package webui

import (
	"strings"
	"testing"
	"time"

	"github.com/imapmig/imapmig/migrate"
)

func TestSampler_RingIsBoundedAndRatesComeFromDeltas(t *testing.T) {
	s := NewSampler(time.Minute, 10*time.Second) // 8 samples at most
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for i := range 100 {
		s.Add(t0.Add(time.Duration(i)*10*time.Second), []migrate.BatchView{
			{Name: "a", SyncedItemCount: int64(i * 50), SyncedBytes: int64(i) * 10 << 20},
			{Name: "b", SyncedItemCount: 7},
		})
	}
	if n := s.Len("a"); n != 8 {
		t.Fatalf("ring holds %d samples, want 8", n)
	}
	ss := s.Samples("a")
	if ss[0].Items != 92*50 || ss[7].Items != 99*50 {
		t.Fatalf("oldest/newest kept: %d, %d", ss[0].Items, ss[7].Items)
	}
	for _, r := range s.Series("a") {
		if r.ItemsPerSec != 5 || r.BytesPerSec != 1<<20 {
			t.Fatalf("rate %+v, want 5 items/s and 1 MiB/s", r)
		}
	}
	if r, ok := s.Recent("b", time.Minute); !ok || r.ItemsPerSec != 0 {
		t.Fatalf("idle batch: %+v %v", r, ok)
	}
	// A counter going down (users removed) is no progress, not negative.
	s.Add(t0.Add(1000*time.Second), []migrate.BatchView{{Name: "a", SyncedItemCount: 10}})
	if r, _ := s.Recent("a", time.Second); r.ItemsPerSec != 0 {
		t.Fatalf("after a drop: %+v", r)
	}
	// A batch that is gone is forgotten; a clock going back adds nothing.
	if s.Len("b") != 0 {
		t.Fatal("removed batch still sampled")
	}
	s.Add(t0, []migrate.BatchView{{Name: "a", SyncedItemCount: 1e6}})
	if ss := s.Samples("a"); ss[len(ss)-1].Items != 10 {
		t.Fatal("a sample from the past was taken")
	}
	if _, ok := s.Recent("new", time.Minute); ok {
		t.Fatal("a rate without samples")
	}
}

func TestRecent_UsesTheWindow(t *testing.T) {
	s := NewSampler(time.Hour, 10*time.Second)
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	// 10 items/s for ten minutes, then 1 item/s for the last minute.
	items := int64(0)
	for i := range 67 {
		if i > 0 {
			if i <= 60 {
				items += 100
			} else {
				items += 10
			}
		}
		s.Add(t0.Add(time.Duration(i)*10*time.Second), []migrate.BatchView{{Name: "a", SyncedItemCount: items}})
	}
	r, ok := s.Recent("a", time.Minute)
	if !ok || r.ItemsPerSec != 1 {
		t.Fatalf("last minute: %+v", r)
	}
	r, _ = s.Recent("a", 24*time.Hour) // longer than held: from the oldest
	if want := float64(items) / 660; r.ItemsPerSec != want {
		t.Fatalf("whole span: %v, want %v", r.ItemsPerSec, want)
	}
}

func TestBuildChart_ScalesToTheWindowAndANiceTop(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	rs := []Rate{
		{At: now.Add(-30 * time.Minute), ItemsPerSec: 3, BytesPerSec: 0.5 * (1 << 20)},
		{At: now.Add(-15 * time.Minute), ItemsPerSec: 7, BytesPerSec: 3 * (1 << 20)},
		{At: now, ItemsPerSec: 0},
	}
	c := buildChart(rs, now, 15*time.Minute, 6*time.Hour)
	if c.Span != "last 30m 00s" || c.ItemsMax != "10.0 items/s" || c.BytesMax != "5.00 MB/s" {
		t.Fatalf("chart labels: %+v", c)
	}
	if c.Items != "M0.0,70.0 L300.0,30.0 L600.0,100.0" {
		t.Fatalf("items path %q", c.Items)
	}
	if !strings.HasPrefix(c.Bytes, "M0.0,90.0 L300.0,40.0") {
		t.Fatalf("bytes path %q", c.Bytes)
	}
	if e := buildChart(nil, now, 15*time.Minute, time.Hour); e.Items != "" || e.Span != "last 15m 00s" {
		t.Fatalf("empty chart: %+v", e)
	}
}

func TestFormat_FixedShapes(t *testing.T) {
	for in, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := fmtInt(in); got != want {
			t.Errorf("fmtInt(%d) = %q", in, got)
		}
	}
	for in, want := range map[int64]string{512: "512 B", 1536: "1.5 KB", 5 << 30: "5.0 GB"} {
		if got := fmtBytes(in); got != want {
			t.Errorf("fmtBytes(%d) = %q", in, got)
		}
	}
	left := 3725.0
	if got := fmtETA(&left); got != "1h 02m" {
		t.Errorf("eta %q", got)
	}
}

func TestSampleDelay_StretchesForSlowReads(t *testing.T) {
	if d := sampleDelay(10*time.Second, 50*time.Millisecond); d != 10*time.Second {
		t.Errorf("fast read: %s", d)
	}
	if d := sampleDelay(10*time.Second, 1200*time.Millisecond); d != 24*time.Second {
		t.Errorf("slow read: %s", d)
	}
}
