package webui

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// The charts' drawing area in SVG user units (the SVG scales to its box).
const (
	chartW = 600.0
	chartH = 100.0
)

// Chart is a batch's throughput over a window, as SVG path data.
type Chart struct {
	Span               string // "last 2h 00m"
	Items, Bytes       string // path data ("" without data)
	ItemsMax, BytesMax string // the top of each y axis, as text
	Points             int
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// buildChart draws rs (oldest first) ending at now over a window that
// covers the samples, at least min and at most max long.
func buildChart(rs []Rate, now time.Time, minSpan, maxSpan time.Duration) Chart {
	span := minSpan
	if len(rs) > 0 {
		span = max(minSpan, min(maxSpan, now.Sub(rs[0].At)))
	}
	c := Chart{Span: "last " + fmtDur(span), ItemsMax: "–", BytesMax: "–", Points: len(rs)}
	if len(rs) == 0 {
		return c
	}
	var maxI, maxB float64
	for _, r := range rs {
		maxI, maxB = max(maxI, r.ItemsPerSec), max(maxB, r.BytesPerSec/(1<<20))
	}
	maxI, maxB = niceCeil(maxI), niceCeil(maxB)
	c.ItemsMax, c.BytesMax = fmtRate(maxI, "items/s"), fmtRate(maxB, "MB/s")
	start := now.Add(-span)
	x := func(t time.Time) float64 {
		return max(0, min(chartW, chartW*t.Sub(start).Seconds()/span.Seconds()))
	}
	path := func(val func(Rate) float64, top float64) string {
		var b strings.Builder
		for _, r := range rs {
			if r.At.Before(start) {
				continue
			}
			cmd := " L"
			if b.Len() == 0 {
				cmd = "M"
			}
			b.WriteString(cmd + num(x(r.At)) + "," + num(chartH-chartH*min(val(r)/top, 1)))
		}
		return b.String()
	}
	c.Items = path(func(r Rate) float64 { return r.ItemsPerSec }, maxI)
	c.Bytes = path(func(r Rate) float64 { return r.BytesPerSec / (1 << 20) }, maxB)
	return c
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
