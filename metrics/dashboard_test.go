package metrics

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/imapmig/imapmig/migrate"
)

type noFigures struct{}

func (noFigures) Batches() ([]migrate.BatchView, error)    { return nil, nil }
func (noFigures) Users(string) ([]migrate.UserView, error) { return nil, nil }

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

// exported is every imapmig_ metric name the daemon serves, from the
// collectors' descriptions (a labelled family without series yet is not
// in a scrape, but is exported).
func exported(t *testing.T) []string {
	t.Helper()
	m := New(noFigures{}, "test")
	ch := make(chan *prometheus.Desc, 100)
	for _, c := range m.own {
		c.Describe(ch)
	}
	close(ch)
	var names []string
	for d := range ch {
		if g := fqName.FindStringSubmatch(d.String()); g != nil {
			names = append(names, g[1])
		}
	}
	slices.Sort(names)
	if len(names) < 10 {
		t.Fatalf("only %d metrics described: %v", len(names), names)
	}
	return names
}

var metricRef = regexp.MustCompile(`\bimapmig_[a-z0-9_]+`)

// dashboardRefs is every imapmig_ name the dashboard's queries use
// (panel exprs and template variable queries), with a histogram's
// _bucket, _sum and _count reduced to the family.
func dashboardRefs(t *testing.T, path string, histograms []string) map[string]bool {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	refs := map[string]bool{}
	var walk func(v any, key string)
	walk = func(v any, key string) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				walk(x, k)
			}
		case []any:
			for _, x := range v {
				walk(x, key)
			}
		case string:
			if key != "expr" && key != "query" && key != "definition" {
				return
			}
			for _, n := range metricRef.FindAllString(v, -1) {
				for _, h := range histograms {
					for _, suf := range []string{"_bucket", "_sum", "_count"} {
						if n == h+suf {
							n = h
						}
					}
				}
				refs[n] = true
			}
		}
	}
	walk(doc, "")
	return refs
}

// TestDashboard_UsesOnlyExportedMetrics: every metric the Grafana
// dashboard queries is one the daemon exports, and every metric the
// daemon exports has a panel.
func TestDashboard_UsesOnlyExportedMetrics(t *testing.T) {
	names := exported(t)
	refs := dashboardRefs(t, "../docs/grafana-dashboard.json", []string{"imapmig_pass_duration_seconds"})
	if len(refs) == 0 {
		t.Fatal("the dashboard queries no imapmig_ metric")
	}
	for r := range refs {
		if !slices.Contains(names, r) {
			t.Errorf("the dashboard queries %s, which the daemon does not export (it exports %s)", r, strings.Join(names, ", "))
		}
	}
	for _, n := range names {
		if !refs[n] {
			t.Errorf("the daemon exports %s but the dashboard has no panel for it", n)
		}
	}
}

// TestDashboard_CatchesAnUnknownMetric proves the check can fail.
func TestDashboard_CatchesAnUnknownMetric(t *testing.T) {
	path := t.TempDir() + "/d.json"
	if err := os.WriteFile(path, []byte(`{"panels":[{"targets":[{"expr":"rate(imapmig_items_total[5m])"}]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	refs := dashboardRefs(t, path, nil)
	if !refs["imapmig_items_total"] || slices.Contains(exported(t), "imapmig_items_total") {
		t.Fatalf("refs %v", refs)
	}
}
