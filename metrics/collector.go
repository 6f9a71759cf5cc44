package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/model"
)

// Figures is what the collector reads at scrape time: the engine's views
// (the same figures `batch get` and `user list` show).
type Figures interface {
	Batches() ([]migrate.BatchView, error)
	Users(batch string) ([]migrate.UserView, error)
}

// userStatuses are every user status, so that each batch has a series
// for each (0 when none) and sums over statuses are the batch's size.
var userStatuses = []model.UserStatus{
	model.UserCreated, model.UserQueued, model.UserValidating, model.UserSyncing, model.UserSynced,
	model.UserIncrementalSyncing, model.UserStopping, model.UserStopped, model.UserFailed,
	model.UserCompleting, model.UserCompleted, model.UserCompletedWithWarnings,
}

var (
	descUsers = prometheus.NewDesc("imapmig_users",
		"Migration users by batch and status.", []string{"batch", "status"}, nil)
	descQueue = prometheus.NewDesc("imapmig_queued_users",
		"Users waiting for a pass slot (status Queued): the queue depth.", nil, nil)
	descBatch = prometheus.NewDesc("imapmig_batch_status",
		"1 for a batch's current status.", []string{"batch", "status"}, nil)
	descLastSync = prometheus.NewDesc("imapmig_batch_last_successful_sync_timestamp_seconds",
		"When the batch's latest successful user pass ended (Unix time); absent before the first.", []string{"batch"}, nil)
	descInTarget = prometheus.NewDesc("imapmig_batch_synced_items",
		"Messages of the batch's users in the target (live during passes).", []string{"batch"}, nil)
	descEstimated = prometheus.NewDesc("imapmig_batch_estimated_items",
		"Messages in scope in the batch's sources (estimate).", []string{"batch"}, nil)
)

// collector reads the engine's figures at scrape time.
type collector struct{ fig Figures }

func newCollector(fig Figures) prometheus.Collector { return collector{fig} }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descUsers, descQueue, descBatch, descLastSync, descInTarget, descEstimated} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	bs, err := c.fig.Batches()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descUsers, err)
		return
	}
	us, err := c.fig.Users("")
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descUsers, err)
		return
	}
	counts := map[string]map[model.UserStatus]int{}
	for _, b := range bs {
		counts[b.Name] = map[model.UserStatus]int{}
	}
	queued := 0
	for _, u := range us {
		if counts[u.BatchId] == nil {
			counts[u.BatchId] = map[model.UserStatus]int{}
		}
		counts[u.BatchId][u.Status]++
		if u.Status == model.UserQueued {
			queued++
		}
	}
	for batch, byStatus := range counts {
		for _, s := range userStatuses {
			ch <- prometheus.MustNewConstMetric(descUsers, prometheus.GaugeValue, float64(byStatus[s]), batch, string(s))
		}
	}
	ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(queued))
	for _, b := range bs {
		ch <- prometheus.MustNewConstMetric(descBatch, prometheus.GaugeValue, 1, b.Name, string(b.Status))
		ch <- prometheus.MustNewConstMetric(descInTarget, prometheus.GaugeValue, float64(b.SyncedItemCount), b.Name)
		ch <- prometheus.MustNewConstMetric(descEstimated, prometheus.GaugeValue, float64(b.EstimatedTotalCount), b.Name)
		if b.LastSyncedDateTime != nil {
			ch <- prometheus.MustNewConstMetric(descLastSync, prometheus.GaugeValue,
				float64(b.LastSyncedDateTime.UnixNano())/1e9, b.Name)
		}
	}
}
