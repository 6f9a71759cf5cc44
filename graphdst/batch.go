package graphdst

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/imapmig/imapmig/graphdst/internal/convert"
	"github.com/imapmig/imapmig/migrate"
)

// maxBatch is Graph's limit of requests in one JSON $batch.
const maxBatch = 20

var _ migrate.FlagBatcher = (*Mailbox)(nil)

type batchRequest struct {
	ID      string            `json:"id"`
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    any               `json:"body,omitempty"`
}

type batchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

// flagPatch is the PATCH body that sets f on an item.
func flagPatch(f migrate.Flags) map[string]any {
	status := "notFlagged"
	if f.Flagged {
		status = "flagged"
	}
	cats := f.Categories
	if cats == nil {
		cats = []string{}
	}
	// Graph cannot remove an extended property, so \Answered is cleared
	// by setting PidTagLastVerbExecuted to no verb (0).
	verb := 0
	if f.Answered {
		verb = convert.VerbReplyToSender
	}
	return map[string]any{"isRead": f.Seen, "flag": map[string]string{"flagStatus": status}, "categories": cats,
		"singleValueExtendedProperties": []convert.ExtProp{convert.Ext(convert.PropLastVerb, strconv.Itoa(verb))}}
}

// SetFlagsBatch implements migrate.FlagBatcher with JSON $batch requests of
// up to 20 PATCHes.
func (m *Mailbox) SetFlagsBatch(ctx context.Context, updates []migrate.FlagUpdate) []error {
	reqs := make([]batchRequest, len(updates))
	for i, u := range updates {
		reqs[i] = batchRequest{Method: http.MethodPatch, URL: m.path("/messages/" + url.PathEscape(u.ItemID)),
			Headers: map[string]string{"Content-Type": "application/json", "Prefer": preferImmutable}, Body: flagPatch(u.Flags)}
	}
	return m.batch(ctx, reqs)
}

// DeleteBatch implements migrate.DeleteBatcher with JSON $batch requests of
// up to 20 permanentDeletes (see Delete). An item that is already gone
// counts as deleted.
func (m *Mailbox) DeleteBatch(ctx context.Context, itemIDs []string) []error {
	reqs := make([]batchRequest, len(itemIDs))
	for i, id := range itemIDs {
		reqs[i] = batchRequest{Method: http.MethodPost, URL: m.path("/messages/" + url.PathEscape(id) + "/permanentDelete"),
			Headers: map[string]string{"Prefer": preferImmutable}}
	}
	errs := m.batch(ctx, reqs)
	for i, err := range errs {
		var ge *GraphError
		if errors.As(err, &ge) && ge.Status == http.StatusNotFound {
			errs[i] = nil
		}
	}
	return errs
}

var _ migrate.DeleteBatcher = (*Mailbox)(nil)

// batch sends idempotent requests in JSON $batch requests of up to 20 and
// returns one error (or nil) per request. Each request counts against the
// mailbox's budget (the governor charges a batch as its size); a request
// answered 429 or 5xx inside a batch is sent again in a later one, after
// the fence.
func (m *Mailbox) batch(ctx context.Context, reqs []batchRequest) []error {
	errs := make([]error, len(reqs))
	attempts := make([]int, len(reqs))
	pending := make([]int, len(reqs))
	for i := range pending {
		pending[i] = i
	}
	for len(pending) > 0 {
		n := min(maxBatch, len(pending))
		chunk := pending[:n]
		pending = pending[n:]
		part := make([]batchRequest, n)
		for j, i := range chunk {
			part[j] = reqs[i]
			part[j].ID = strconv.Itoa(i)
		}
		body, err := json.Marshal(map[string]any{"requests": part})
		if err != nil {
			return fill(errs, chunk, migrate.Fatal(err))
		}
		rq := request{method: http.MethodPost, url: "/$batch", body: body, idempotent: true, cost: n}
		resp, err := m.t.do(ctx, m.g, rq)
		if err == nil && resp.status != http.StatusOK {
			err = classify(m.t.graphError(rq, resp))
		}
		var out struct {
			Responses []batchResponse `json:"responses"`
		}
		if err == nil && json.Unmarshal(resp.body, &out) != nil {
			err = migrate.Retryable(errors.New("graphdst: $batch: unreadable response"))
		}
		if err != nil {
			fill(errs, chunk, err)
			return fill(errs, pending, err)
		}
		answered := map[int]bool{}
		for _, r := range out.Responses {
			i, convErr := strconv.Atoi(r.ID)
			if convErr != nil || i < 0 || i >= len(reqs) {
				continue
			}
			answered[i] = true
			sub := &response{status: r.Status, header: http.Header{}, body: r.Body}
			for k, v := range r.Headers {
				sub.header.Set(k, v)
			}
			switch {
			case r.Status >= 200 && r.Status < 300:
				errs[i] = nil
			case r.Status == http.StatusTooManyRequests:
				d := retryAfter(sub.header)
				if d <= 0 {
					d = m.t.budget.MinBackoff
				}
				m.g.throttle(d)
				pending = append(pending, i)
			case r.Status >= 500 && attempts[i]+1 < m.t.budget.MaxAttempts:
				attempts[i]++
				m.g.retried.Add(1)
				pending = append(pending, i)
			default:
				errs[i] = classify(m.t.graphError(request{method: reqs[i].Method, url: reqs[i].URL}, sub))
			}
		}
		for _, i := range chunk {
			if !answered[i] {
				errs[i] = migrate.Retryable(errors.New("graphdst: $batch: no answer for a request"))
			}
		}
	}
	return errs
}

func fill(errs []error, idx []int, err error) []error {
	for _, i := range idx {
		errs[i] = err
	}
	return errs
}
