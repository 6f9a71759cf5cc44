package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/imapmig/imapmig/migrate"
)

// TestAPI_CreateSyncIntervalAcceptsDurationString: Options.SyncInterval in
// a create request is read as "24h"/"90m"/"1d" and still as nanoseconds; a
// bad string is a 400 naming the field.
func TestAPI_CreateSyncIntervalAcceptsDurationString(t *testing.T) {
	c, _ := newAPI(t)
	users := []string{"ann", "bob", "cid", "dan"}
	for i, tc := range []struct {
		in   string
		want time.Duration
	}{
		{`"24h"`, 24 * time.Hour},
		{`"90m"`, 90 * time.Minute},
		{`"2d"`, 48 * time.Hour},
		{"7200000000000", 2 * time.Hour},
	} {
		name := "w" + users[i]
		csv := "EmailAddress,UserName,Password\n" + users[i] + "@contoso.com," + users[i] + ",P4ss!\n"
		body := `{"Name":"` + name + `","Endpoint":"old","Tenant":"contoso","Csv":` + jsonString(csv) +
			`,"Options":{"SyncInterval":` + tc.in + `,"ExcludeFolders":["Junk"]}}`
		st, eb, _ := raw(t, c, "POST", "/v1/batches", token, body)
		if st != http.StatusOK {
			t.Fatalf("SyncInterval %s: %d %+v", tc.in, st, eb)
		}
		var b migrate.BatchView
		if err := c.Do(t.Context(), "GET", "/v1/batches/"+name, nil, &b); err != nil {
			t.Fatal(err)
		}
		if b.Options.SyncInterval != tc.want || len(b.Options.ExcludeFolders) != 1 {
			t.Errorf("SyncInterval %s: stored %+v, want %s", tc.in, b.Options, tc.want)
		}
	}
	body := `{"Name":"bad","Endpoint":"old","Tenant":"contoso","Csv":"x","Options":{"SyncInterval":"soon"}}`
	if st, eb, _ := raw(t, c, "POST", "/v1/batches", token, body); st != http.StatusBadRequest || !strings.Contains(eb.Error.Message, "SyncInterval") {
		t.Errorf("bad duration: %d %+v", st, eb)
	}
	body = `{"Name":"bad","Endpoint":"old","Tenant":"contoso","Csv":"x","Options":{"Nope":1}}`
	if st, eb, _ := raw(t, c, "POST", "/v1/batches", token, body); st != http.StatusBadRequest || !strings.Contains(eb.Error.Message, "Nope") {
		t.Errorf("unknown option field: %d %+v", st, eb)
	}
	body = `{"Name":"bad","Endpoint":"old","Tenant":"contoso","Csv":"x","Nope":1}`
	if st, eb, _ := raw(t, c, "POST", "/v1/batches", token, body); st != http.StatusBadRequest || !strings.Contains(eb.Error.Message, "Nope") {
		t.Errorf("unknown field: %d %+v", st, eb)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
