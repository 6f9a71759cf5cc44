package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/imapmig/imapmig/migrate"
	"github.com/imapmig/imapmig/migrate/httpapi"
	"github.com/imapmig/imapmig/migrate/model"
	"github.com/imapmig/imapmig/state"
	"github.com/imapmig/imapmig/state/statetest"
)

const token = "test-token-123"

func newAPI(t *testing.T) (*httpapi.Client, *state.Store) {
	t.Helper()
	st := newStore(t)
	srv := httptest.NewServer(httpapi.NewServer(migrate.New(migrate.Options{Store: st}), token, nil))
	t.Cleanup(srv.Close)
	return &httpapi.Client{BaseURL: srv.URL, Token: token}, st
}

// newStore is a store with the endpoint "old" and the tenant "contoso".
func newStore(t *testing.T) *state.Store {
	t.Helper()
	st := statetest.MustOpen(t)
	if err := st.PutEndpoint(model.Endpoint{Name: "old", Host: "imap.example.org", Port: 993, Security: "ssl"}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutTenant(model.Tenant{Name: "contoso", TenantID: "t", ClientID: "c"}); err != nil {
		t.Fatal(err)
	}
	return st
}

const csv3 = "EmailAddress,UserName,Password\r\nann@contoso.com,ann,Ann-Pa55!\r\nbob@contoso.com,bob,Bob-Pa55!\r\ncid@contoso.com,cid,Cid-Pa55!\r\n"

func create(t *testing.T, c *httpapi.Client, name, csv string) (*migrate.CreateResult, error) {
	t.Helper()
	var res migrate.CreateResult
	err := c.Do(context.Background(), "POST", "/v1/batches", httpapi.CreateBatchRequest{Name: name, Endpoint: "old", Tenant: "contoso", CSV: csv}, &res)
	return &res, err
}

func apiCode(err error) (int, string) {
	var ae *httpapi.APIError
	if errors.As(err, &ae) {
		return ae.Status, ae.Code
	}
	return 0, ""
}

func TestAPI_RequiresToken(t *testing.T) {
	c, _ := newAPI(t)
	for _, tok := range []string{"", "wrong", token + "x"} {
		bad := *c
		bad.Token = tok
		err := bad.Do(context.Background(), "GET", "/v1/batches", nil, nil)
		if st, code := apiCode(err); st != http.StatusUnauthorized || code != "Unauthorized" {
			t.Errorf("token %q: %v", tok, err)
		}
	}
	resp, err := http.Get(c.BaseURL + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
}

func TestAPI_CreateStartAndUserDuplicate(t *testing.T) {
	c, _ := newAPI(t)
	ctx := context.Background()
	res, err := create(t, c, "wave1", csv3)
	if err != nil {
		t.Fatal(err)
	}
	if res.Users != 3 || res.Batch.Status != model.BatchCreated || res.Batch.TotalCount != 3 {
		t.Fatalf("create: %+v", res)
	}
	_, err = create(t, c, "wave2", "EmailAddress,UserName,Password\nzed@contoso.com,z,p\nBOB@contoso.com,bob,x\n")
	if st, code := apiCode(err); st != http.StatusConflict || code != "UserDuplicateInOtherBatch" {
		t.Fatalf("duplicate: %v", err)
	}
	if err := c.Do(ctx, "GET", "/v1/batches/wave2", nil, nil); err == nil {
		t.Fatal("wave2 exists after refusal")
	}
	if err := c.Do(ctx, "POST", "/v1/batches/wave1/start", nil, nil); err != nil {
		t.Fatal(err)
	}
	var users []migrate.UserView
	if err := c.Do(ctx, "GET", "/v1/batches/wave1/users", nil, &users); err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if u.Status != model.UserQueued || u.SyncedItemCount != 0 {
			t.Errorf("user after start: %+v", u)
		}
	}
	var b migrate.BatchView
	if err := c.Do(ctx, "GET", "/v1/batches/wave1", nil, &b); err != nil {
		t.Fatal(err)
	}
	if b.QueuedCount != 3 || b.Status != model.BatchSyncing {
		t.Fatalf("batch after start: %+v", b)
	}
}

func TestAPI_InvalidTransitionsAreRefused(t *testing.T) {
	c, _ := newAPI(t)
	ctx := context.Background()
	if _, err := create(t, c, "b", csv3); err != nil {
		t.Fatal(err)
	}
	for _, action := range []string{"complete", "syncnow", "stop"} {
		err := c.Do(ctx, "POST", "/v1/batches/b/"+action, nil, nil)
		st, code := apiCode(err)
		if st != http.StatusConflict || code != "InvalidStatusForAction" || !strings.Contains(err.Error(), "it is Created") {
			t.Errorf("%s on a Created batch: %v", action, err)
		}
	}
	err := c.Do(ctx, "POST", "/v1/users/ann@contoso.com/syncnow", nil, nil)
	if st, _ := apiCode(err); st != http.StatusConflict {
		t.Errorf("syncnow on a Created user: %v", err)
	}
	if err := c.Do(ctx, "GET", "/v1/batches/nope", nil, nil); func() int { s, _ := apiCode(err); return s }() != 404 {
		t.Errorf("unknown batch: %v", err)
	}
}

func TestAPI_BadCSVRowsReportedWithoutPasswords(t *testing.T) {
	c, _ := newAPI(t)
	csv := "EmailAddress,UserName,Password\nok@contoso.com,ok,Good-Pa55\nnot-an-address,x,Leaky-Pa55word\ndup@contoso.com,,Empty-User-Pa55\n"
	_, err := create(t, c, "bad", csv)
	var ae *httpapi.APIError
	if !errors.As(err, &ae) || ae.Status != 400 || ae.Code != "InvalidCsvRows" || len(ae.Problems) != 2 {
		t.Fatalf("create with bad rows: %#v", err)
	}
	if ae.Problems[0].Line != 3 || ae.Problems[1].Line != 4 {
		t.Errorf("problem lines: %+v", ae.Problems)
	}
	all, _ := json.Marshal(ae)
	for _, pw := range []string{"Leaky-Pa55word", "Empty-User-Pa55", "Good-Pa55"} {
		if strings.Contains(string(all)+err.Error(), pw) {
			t.Errorf("error response contains password %q", pw)
		}
	}
	var res migrate.CreateResult
	err = c.Do(context.Background(), "POST", "/v1/batches", httpapi.CreateBatchRequest{Name: "bad", Endpoint: "old", Tenant: "contoso", CSV: csv, SkipInvalidRows: true}, &res)
	if err != nil || res.Users != 1 || len(res.SkippedRows) != 2 {
		t.Fatalf("skip invalid rows: %+v %v", res, err)
	}
}

func TestAPI_UserJSONHasStableFieldsAndNoSecret(t *testing.T) {
	c, _ := newAPI(t)
	if _, err := create(t, c, "b", csv3); err != nil {
		t.Fatal(err)
	}
	var raw json.RawMessage
	if err := c.Do(context.Background(), "GET", "/v1/users/ann@contoso.com", nil, &raw); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"Status", "SyncedItemCount", "SkippedItemCount", "EstimatedTotalCount", "LastSuccessfulSyncTime", "DataConsistencyScore", "EmailAddress", "BatchId"} {
		if _, ok := m[k]; !ok {
			t.Errorf("user JSON lacks %s: %s", k, raw)
		}
	}
	for k := range m {
		if strings.Contains(strings.ToLower(k), "password") {
			t.Errorf("user JSON has %s", k)
		}
	}
	if strings.Contains(string(raw), "Ann-Pa55!") {
		t.Error("user JSON contains the password")
	}
}

func TestAPI_RemoveBatchFreesUsers(t *testing.T) {
	c, _ := newAPI(t)
	ctx := context.Background()
	if _, err := create(t, c, "one", csv3); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, "DELETE", "/v1/batches/one", nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := create(t, c, "two", csv3); err != nil {
		t.Fatalf("users not freed by remove: %v", err)
	}
}
