package webui

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/model"
)

func errorsIsNotFound(err error) bool { return errors.Is(err, migrate.ErrNotFound) }

// The throughput chart covers the samples held (at most the sampler's
// span), at least this long.
const minChartSpan = 2 * time.Minute

// batchRow is a batch with its figures as shown.
type batchRow struct {
	V     migrate.BatchView
	F     map[string]string
	C     map[string]string
	Pct   string
	Chart Chart
}

// K is the live key of one of the batch's figures.
func (b *batchRow) K(name string) string { return "b:" + b.V.Name + ":" + name }

// chartLine is one of the batch page's two charts, items/s and MB/s, with
// the live keys the page's script updates it by.
type chartLine struct {
	Caption, Label, Kind string // "Items/s", "items per second", "items"
	Max, Span, D         string // the chart's top, window and path data
	KMax, KSpan, KD      string // their live keys
}

// ChartLines are the batch's charts in the order the page shows them.
func (b *batchRow) ChartLines() []chartLine {
	line := func(caption, label, kind, top, d string) chartLine {
		return chartLine{Caption: caption, Label: label, Kind: kind, Max: top, Span: b.Chart.Span, D: d,
			KMax: b.K("chart-" + kind + "-max"), KSpan: b.K("chart-span"), KD: b.K("chart-" + kind)}
	}
	return []chartLine{
		line("Items/s", "items per second", "items", b.Chart.ItemsMax, b.Chart.Items),
		line("MB/s", "megabytes per second", "bytes", b.Chart.BytesMax, b.Chart.Bytes),
	}
}

func (c *Console) batchRow(v migrate.BatchView, chart bool) batchRow {
	r, ok := c.samples.Recent(v.Name, rateWindow)
	row := batchRow{V: v}
	row.F, row.C, row.Pct = batchFigures(v, r, ok)
	if chart {
		row.Chart = buildChart(c.samples.Series(v.Name), c.now(), minChartSpan, c.samples.span())
	}
	return row
}

func (c *Console) batchesPage(w http.ResponseWriter, r *http.Request, s *session) {
	views, err := c.eng.Batches()
	if err != nil {
		c.fail(w, s, err)
		return
	}
	d := base(s, "Batches", "batches")
	d.LiveURL = Prefix + "live/batches"
	for _, v := range views {
		d.Batches = append(d.Batches, c.batchRow(v, false))
	}
	c.render(w, http.StatusOK, "batches", d)
}

// userTable is a batch page's users table.
type userTable struct {
	Batch string
	UserPage
}

// Link is the batch page's URL with the query's parameters, over changed.
func (t *userTable) Link(over ...string) string {
	u := url.URL{Path: Prefix + "batches/" + t.Batch, RawQuery: t.Query.Values(over...).Encode()}
	return u.String()
}

// SortLink is the URL that sorts by key (the other way round when the
// table is sorted by it already).
func (t *userTable) SortLink(key string) string {
	dir := ""
	if t.Query.Sort == key && !t.Query.Desc {
		dir = "desc"
	}
	return t.Link("sort", key, "dir", dir, "page", "")
}

// SortMark is ▲ or ▼ beside the column the table is sorted by.
func (t *userTable) SortMark(key string) string {
	switch {
	case t.Query.Sort != key:
		return ""
	case t.Query.Desc:
		return "▼"
	}
	return "▲"
}

// Prev and Next are the neighbouring pages' URLs ("" at the ends).
func (t *userTable) Prev() string {
	if t.Page <= 1 {
		return ""
	}
	return t.Link("page", strconv.Itoa(t.Page-1))
}

func (t *userTable) Next() string {
	if t.Page >= t.Pages {
		return ""
	}
	return t.Link("page", strconv.Itoa(t.Page+1))
}

func (t *userTable) Last() int { return t.First + len(t.Rows) - 1 }

// Rows' figures by key, for the template.
func (t *userTable) Fig(u migrate.UserView) map[string]string { f, _ := userFigures(u); return f }
func (t *userTable) Cls(u migrate.UserView) map[string]string { _, c := userFigures(u); return c }

func (t *userTable) StatusFilters() []string { return StatusFilters }
func (t *userTable) ScoreFilters() []string  { return ScoreFilters }
func (t *userTable) PageSizes() []int        { return PageSizes }

// batchUsers is the batch, its row and one page of its users.
func (c *Console) batchUsers(name string, q url.Values) (batchRow, *userTable, error) {
	v, users, err := c.cache.get(name, func() (migrate.BatchView, []migrate.UserView, error) {
		v, err := c.eng.Batch(name)
		if err != nil {
			return v, nil, err
		}
		users, err := c.eng.Users(name)
		return v, users, err
	})
	if err != nil {
		return batchRow{}, nil, err
	}
	return c.batchRow(v, true), &userTable{Batch: name, UserPage: PageUsers(users, ParseQuery(q))}, nil
}

func (c *Console) batchPage(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	row, table, err := c.batchUsers(name, r.URL.Query())
	if err != nil {
		c.fail(w, s, err)
		return
	}
	d := base(s, "Batch "+name, "batches")
	d.Batch, d.Users = &row, table
	d.LiveURL = (&url.URL{Path: Prefix + "live/batches/" + name, RawQuery: table.Query.Values().Encode()}).String()
	c.render(w, http.StatusOK, "batch", d)
}

// maxEventsShown bounds the events page.
const maxEventsShown = 300

func (c *Console) eventsPage(w http.ResponseWriter, r *http.Request, s *session) {
	views, err := c.eng.Batches()
	if err != nil {
		c.fail(w, s, err)
		return
	}
	d := base(s, "Events", "events")
	only := r.URL.Query().Get("batch")
	for _, v := range views {
		d.Names = append(d.Names, v.Name)
		if only != "" && v.Name != only {
			continue
		}
		evs, err := c.eng.Events(v.Name, maxEventsShown)
		if err != nil {
			c.fail(w, s, err)
			return
		}
		for _, e := range evs {
			if e.User == "" {
				e.User = "batch " + v.Name
			}
			d.Events = append(d.Events, e)
		}
	}
	if only != "" && !slices.Contains(d.Names, only) {
		c.fail(w, s, &notFound{"batch " + only})
		return
	}
	d.EventOf = only
	slices.SortStableFunc(d.Events, func(a, b model.Event) int { return b.At.Compare(a.At) })
	if len(d.Events) > maxEventsShown {
		d.Events = d.Events[:maxEventsShown]
	}
	c.render(w, http.StatusOK, "events", d)
}

type notFound struct{ what string }

func (e *notFound) Error() string { return e.what + ": not found" }
func (e *notFound) Is(target error) bool {
	return target == migrate.ErrNotFound
}
