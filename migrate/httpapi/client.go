package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/imapmig/imapmig/csvbatch"
)

// Client calls the API. The CLI is built on it.
type Client struct {
	BaseURL string // e.g. http://127.0.0.1:8470
	Token   string
	HTTP    *http.Client
}

// ErrUnreachable: the request got no answer from the daemon (it is not
// running, restarting, or the network is down).
var ErrUnreachable = errors.New("cannot reach the imapmig daemon")

// APIError is an error answer from the daemon.
type APIError struct {
	Status   int
	Code     string
	Message  string
	Problems []csvbatch.Problem
}

func (e *APIError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message)
	}
	if strings.HasPrefix(e.Message, e.Code+":") || strings.HasPrefix(e.Message, e.Code+" ") {
		return e.Message // the message already starts with its code
	}
	return e.Code + ": " + e.Message
}

// Do sends a request with a JSON body (nil for none) and decodes a JSON
// answer into out (nil to ignore it).
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Minute}
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w at %s (is `imapmig serve` running?): %w", ErrUnreachable, c.BaseURL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var eb ErrorBody
		if json.Unmarshal(data, &eb) == nil && eb.Error.Code != "" {
			return &APIError{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message, Problems: eb.Error.Problems}
		}
		return &APIError{Status: resp.StatusCode, Message: strings.TrimSpace(string(data))}
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if raw, ok := out.(*json.RawMessage); ok {
		*raw = append((*raw)[:0], data...)
		return nil
	}
	return json.Unmarshal(data, out)
}

// PathEscape escapes one path segment (addresses contain '@' and '+').
func PathEscape(s string) string { return url.PathEscape(s) }

// QueryEscape escapes a query value: '+' must become %2B, or the server reads
// it as a space (frank+tag@ would become "frank tag@").
func QueryEscape(s string) string { return url.QueryEscape(s) }
