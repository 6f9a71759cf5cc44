package promseries

import (
	"testing"

	dto "github.com/prometheus/client_model/go"
)

func TestMatches(t *testing.T) {
	m := &dto.Metric{Label: []*dto.LabelPair{
		{Name: ptr("kind"), Value: ptr("initial")},
		{Name: ptr("outcome"), Value: ptr("ok")},
	}}
	for _, tc := range []struct {
		want map[string]string
		ok   bool
	}{
		{nil, true},
		{map[string]string{"kind": "initial"}, true},
		{map[string]string{"kind": "initial", "outcome": "ok"}, true},
		{map[string]string{"kind": "delta"}, false},
		{map[string]string{"kind": "initial", "batch": "w"}, false},
	} {
		if got := Matches(m, tc.want); got != tc.ok {
			t.Errorf("Matches(%v) = %v, want %v", tc.want, got, tc.ok)
		}
	}
}

func ptr(s string) *string { return &s }
