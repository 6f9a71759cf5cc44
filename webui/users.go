package webui

import (
	"cmp"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/model"
)

// Query is the users table's filter, order and page, read from the URL.
type Query struct {
	Status string // "", a status group (active, queued, …) or a user status
	Score  string // "", Perfect, Good, Investigate, Poor or "none"
	Text   string // part of the address or login name (case-insensitive)
	Sort   string // a key of sortKeys
	Desc   bool
	Page   int // from 1
	Size   int
}

// PageSizes are the users table's page sizes.
var PageSizes = []int{50, 100, 500}

// statusGroups are the status filter's groups; any user status is also
// accepted as itself.
var statusGroups = map[string][]model.UserStatus{
	"active":    {model.UserValidating, model.UserSyncing, model.UserIncrementalSyncing, model.UserCompleting, model.UserStopping},
	"queued":    {model.UserQueued, model.UserCreated},
	"synced":    {model.UserSynced},
	"stopped":   {model.UserStopped},
	"failed":    {model.UserFailed},
	"completed": {model.UserCompleted, model.UserCompletedWithWarnings},
}

// StatusFilters are the choices of the status filter, in menu order.
var StatusFilters = []string{"active", "queued", "synced", "stopped", "failed", "completed"}

// ScoreFilters are the choices of the score filter.
var ScoreFilters = []string{"Perfect", "Good", "Investigate", "Poor", "none"}

type sortKey struct {
	label string
	cmp   func(a, b *migrate.UserView) int
}

func timeOf(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

var scoreOrder = map[string]int{"": 0, "Perfect": 1, "Good": 2, "Investigate": 3, "Poor": 4}

// sortKeys are the users table's sortable columns.
var sortKeys = map[string]sortKey{
	"email":   {"Address", func(a, b *migrate.UserView) int { return strings.Compare(a.EmailAddress, b.EmailAddress) }},
	"status":  {"Status", func(a, b *migrate.UserView) int { return strings.Compare(string(a.Status), string(b.Status)) }},
	"items":   {"Items", func(a, b *migrate.UserView) int { return cmp.Compare(a.SyncedItemCount, b.SyncedItemCount) }},
	"bytes":   {"Size", func(a, b *migrate.UserView) int { return cmp.Compare(a.SyncedBytes, b.SyncedBytes) }},
	"skipped": {"Skipped", func(a, b *migrate.UserView) int { return cmp.Compare(a.SkippedItemCount, b.SkippedItemCount) }},
	"rate":    {"Rate", func(a, b *migrate.UserView) int { return cmp.Compare(a.BytesPerSecond, b.BytesPerSecond) }},
	"score": {"Score", func(a, b *migrate.UserView) int {
		return cmp.Compare(scoreOrder[a.DataConsistencyScore], scoreOrder[b.DataConsistencyScore])
	}},
	"lastsync": {"Last sync", func(a, b *migrate.UserView) int {
		return timeOf(a.LastSuccessfulSyncTime).Compare(timeOf(b.LastSuccessfulSyncTime))
	}},
}

// ParseQuery reads a users-table query; unknown values fall back to the
// defaults (every user, by address, page 1 of 100).
func ParseQuery(v url.Values) Query {
	q := Query{Text: strings.TrimSpace(v.Get("q")), Sort: v.Get("sort"), Desc: v.Get("dir") == "desc", Size: 100}
	if _, ok := sortKeys[q.Sort]; !ok {
		q.Sort, q.Desc = "email", false
	}
	if s := v.Get("status"); statusGroups[s] != nil || isUserStatus(s) {
		q.Status = s
	}
	if s := v.Get("score"); slices.Contains(ScoreFilters, s) {
		q.Score = s
	}
	if n, err := strconv.Atoi(v.Get("size")); err == nil && slices.Contains(PageSizes, n) {
		q.Size = n
	}
	if n, err := strconv.Atoi(v.Get("page")); err == nil && n > 0 {
		q.Page = n
	} else {
		q.Page = 1
	}
	if len(q.Text) > 200 {
		q.Text = q.Text[:200]
	}
	return q
}

func isUserStatus(s string) bool {
	for _, g := range statusGroups {
		if slices.Contains(g, model.UserStatus(s)) {
			return true
		}
	}
	return false
}

// Values is q as URL parameters, with over changed (keys "page", "sort",
// …); defaults are left out.
func (q Query) Values(over ...string) url.Values {
	v := url.Values{}
	set := func(k, val, def string) {
		if val != def {
			v.Set(k, val)
		}
	}
	set("status", q.Status, "")
	set("score", q.Score, "")
	set("q", q.Text, "")
	set("sort", q.Sort, "email")
	if q.Desc {
		v.Set("dir", "desc")
	}
	set("size", strconv.Itoa(q.Size), "100")
	set("page", strconv.Itoa(q.Page), "1")
	for i := 0; i+1 < len(over); i += 2 {
		v.Del(over[i])
		if over[i+1] != "" {
			v.Set(over[i], over[i+1])
		}
	}
	return v
}

// UserPage is one page of a batch's users.
type UserPage struct {
	Rows    []migrate.UserView
	Total   int // users in the batch
	Matched int // users the filter keeps
	Page    int
	Pages   int
	First   int // 1-based position of the first row (0 when none)
	Query   Query
}

// PageUsers filters, sorts and pages all; it keeps
// only the page's rows, so the cost for the browser is one page whatever
// the batch's size.
func PageUsers(all []migrate.UserView, q Query) UserPage {
	p := UserPage{Total: len(all), Query: q}
	text := strings.ToLower(q.Text)
	group := statusGroups[q.Status]
	kept := make([]*migrate.UserView, 0, len(all))
	for i := range all {
		u := &all[i]
		if q.Status != "" && !(slices.Contains(group, u.Status) || string(u.Status) == q.Status) {
			continue
		}
		if q.Score != "" && !(u.DataConsistencyScore == q.Score || q.Score == "none" && u.DataConsistencyScore == "") {
			continue
		}
		if text != "" && !strings.Contains(strings.ToLower(u.EmailAddress), text) &&
			!strings.Contains(strings.ToLower(u.UserName), text) {
			continue
		}
		kept = append(kept, u)
	}
	p.Matched = len(kept)
	p.Pages = max(1, (len(kept)+q.Size-1)/q.Size)
	p.Page = min(q.Page, p.Pages)
	p.Query.Page = p.Page
	key := sortKeys[q.Sort]
	less := func(a, b *migrate.UserView) int {
		c := key.cmp(a, b)
		if c == 0 {
			c = strings.Compare(a.EmailAddress, b.EmailAddress)
		}
		if q.Desc {
			return -c
		}
		return c
	}
	lo := (p.Page - 1) * q.Size
	hi := min(lo+q.Size, len(kept))
	if lo >= hi {
		return p
	}
	slices.SortFunc(kept, less)
	p.Rows = make([]migrate.UserView, 0, hi-lo)
	for _, u := range kept[lo:hi] {
		p.Rows = append(p.Rows, *u)
	}
	p.First = lo + 1
	return p
}
