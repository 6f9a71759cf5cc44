package webui

import (
	"errors"
	"testing"
	"time"

	"github.com/imapmig/imapmig/migrate"
)

func TestBatchCache_LivesTenTimesTheReadAndActionsDropIt(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	c := newBatchCache(func() time.Time { return now })
	reads := 0
	load := func() (migrate.BatchView, []migrate.UserView, error) {
		reads++
		now = now.Add(2 * time.Second) // a read of a huge batch
		return migrate.BatchView{Name: "a", TotalCount: reads}, nil, nil
	}
	v, _, _ := c.get("a", load)
	now = now.Add(19 * time.Second) // within 10 × 2 s
	if v2, _, _ := c.get("a", load); reads != 1 || v2.TotalCount != v.TotalCount {
		t.Fatalf("within the interval: %d reads", reads)
	}
	now = now.Add(2 * time.Second)
	if c.get("a", load); reads != 2 {
		t.Fatalf("after the interval: %d reads", reads)
	}
	c.drop("a")
	if c.get("a", load); reads != 3 {
		t.Fatalf("after drop: %d reads", reads)
	}
	fail := errors.New("gone")
	if _, _, err := c.get("b", func() (migrate.BatchView, []migrate.UserView, error) { return migrate.BatchView{}, nil, fail }); !errors.Is(err, fail) {
		t.Fatal(err)
	}
	for _, n := range []string{"c", "d", "e", "f", "g"} {
		c.get(n, load)
	}
	if len(c.byName) > maxCachedBatches {
		t.Fatalf("%d batches cached", len(c.byName))
	}
}
