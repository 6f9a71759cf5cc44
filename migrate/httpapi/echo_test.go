package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/imapmig/imapmig/migrate/httpapi"
)

// TestAPI_EchoedNamesAreTruncated: a huge name in the path, the query or
// the body comes back in the error cut to MaxEchoRunes runes with "…",
// still valid UTF-8.
func TestAPI_EchoedNamesAreTruncated(t *testing.T) {
	c, _ := newAPI(t)
	long := strings.Repeat("é", 100_000)
	huge := strings.Repeat("x", 1<<20)
	check := func(what string, st, want int, msg string) {
		t.Helper()
		if st != want {
			t.Errorf("%s: status %d, want %d (%.200q)", what, st, want, msg)
		}
		if len(msg) > 1000 || !strings.Contains(msg, "…") || !utf8.ValidString(msg) {
			t.Errorf("%s: message of %d bytes not truncated: %.300q", what, len(msg), msg)
		}
		if !strings.Contains(msg, strings.Repeat("é", httpapi.MaxEchoRunes)) && !strings.Contains(msg, strings.Repeat("x", httpapi.MaxEchoRunes)) {
			t.Errorf("%s: message does not keep the name's first %d runes: %.300q", what, httpapi.MaxEchoRunes, msg)
		}
	}
	st, eb, _ := raw(t, c, "GET", "/v1/batches/"+httpapi.PathEscape(long), token, "")
	check("batch get", st, http.StatusNotFound, eb.Error.Message)
	st, eb, _ = raw(t, c, "POST", "/v1/batches/"+httpapi.PathEscape(long)+"/start", token, "")
	check("batch start", st, http.StatusNotFound, eb.Error.Message)
	st, eb, _ = raw(t, c, "DELETE", "/v1/users/"+httpapi.PathEscape(long+"@contoso.com"), token, "")
	check("user remove", st, http.StatusNotFound, eb.Error.Message)
	st, eb, _ = raw(t, c, "GET", "/v1/batches/"+httpapi.PathEscape(long)+"/events", token, "")
	check("batch events", st, http.StatusNotFound, eb.Error.Message)
	body := `{"Name":"w1","Endpoint":"` + huge + `","Tenant":"contoso","Csv":` + jsonString(csv3) + `}`
	st, eb, _ = raw(t, c, "POST", "/v1/batches", token, body)
	check("unknown endpoint", st, http.StatusBadRequest, eb.Error.Message)
	body = `{"Name":"w1","Endpoint":"old","Tenant":"` + huge + `","Csv":` + jsonString(csv3) + `}`
	st, eb, _ = raw(t, c, "POST", "/v1/batches", token, body)
	check("unknown tenant", st, http.StatusBadRequest, eb.Error.Message)
	st, eb, _ = raw(t, c, "GET", "/v1/"+long, token, "")
	check("no such path", st, http.StatusNotFound, eb.Error.Message)
}
