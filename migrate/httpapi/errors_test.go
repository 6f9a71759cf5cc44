package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/imapmig/imapmig/migrate/httpapi"
	"github.com/imapmig/imapmig/testenv/httpcall"
)

// raw sends a request and returns the status and the decoded error body.
func raw(t *testing.T, c *httpapi.Client, method, path, tok, body string) (int, httpapi.ErrorBody, http.Header) {
	t.Helper()
	status, data, hdr := httpcall.Do(t, method, c.BaseURL+path, tok, strings.NewReader(body))
	var eb httpapi.ErrorBody
	if status >= 300 {
		if err := json.Unmarshal(data, &eb); err != nil || eb.Error.Code == "" {
			t.Errorf("%s %s: %d answer is not the JSON error shape: %q", method, path, status, data)
		}
	}
	return status, eb, hdr
}

// TestAPI_EveryErrorIsJSON: 404 and 405 answer in the error shape, a
// request without a token gets 401 before 404/405, an oversized body 413,
// trailing data after the JSON 400; and the client does not repeat the
// code in its message.
func TestAPI_EveryErrorIsJSON(t *testing.T) {
	c, _ := newAPI(t)
	if st, eb, _ := raw(t, c, "GET", "/v1/nosuch", token, ""); st != http.StatusNotFound || eb.Error.Code != "Not Found" {
		t.Errorf("404: %d %+v", st, eb)
	}
	if st, eb, h := raw(t, c, "DELETE", "/v1/stats", token, ""); st != http.StatusMethodNotAllowed || !strings.Contains(h.Get("Allow"), "GET") {
		t.Errorf("405: %d %+v allow %q", st, eb, h.Get("Allow"))
	}
	for _, p := range [][2]string{{"DELETE", "/v1/stats"}, {"GET", "/v1/nosuch"}, {"GET", "/v1/batches"}} {
		if st, eb, _ := raw(t, c, p[0], p[1], "", ""); st != http.StatusUnauthorized || eb.Error.Code != "Unauthorized" {
			t.Errorf("%v without a token: %d %+v", p, st, eb)
		}
	}
	big := `{"Name":"x","Csv":"` + strings.Repeat("a", httpapi.MaxCSVUpload) + `"}`
	if st, eb, _ := raw(t, c, "POST", "/v1/batches", token, big); st != http.StatusRequestEntityTooLarge || eb.Error.Code != "RequestTooLarge" {
		t.Errorf("oversized body: %d %+v", st, eb)
	}
	if st, eb, _ := raw(t, c, "PATCH", "/v1/batches/x", token, `{"SyncInterval":"2h"} {"SyncInterval":"1h"}`); st != http.StatusBadRequest || !strings.Contains(eb.Error.Message, "after the JSON") {
		t.Errorf("trailing data: %d %+v", st, eb)
	}
	if _, err := create(t, c, "w1", csv3); err != nil {
		t.Fatal(err)
	}
	_, err := create(t, c, "w2", "EmailAddress,UserName,Password\nann@contoso.com,a,p\n")
	if err == nil || strings.Count(err.Error(), "UserDuplicateInOtherBatch") != 1 {
		t.Errorf("error prefix repeated or missing: %v", err)
	}
	_ = context.Background
}
