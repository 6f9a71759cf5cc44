// Package promseries picks series out of a Prometheus gathering by their
// labels, for the tests of the metrics package and of the daemon's
// /metrics.
package promseries

import (
	"slices"

	dto "github.com/prometheus/client_model/go"
)

// Matches says whether series m carries every label of want (and maybe
// others).
func Matches(m *dto.Metric, want map[string]string) bool {
	for k, v := range want {
		if !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool { return l.GetName() == k && l.GetValue() == v }) {
			return false
		}
	}
	return true
}
