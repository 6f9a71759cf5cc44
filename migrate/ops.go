package migrate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/imapmig/imapmig/csvbatch"
	"github.com/imapmig/imapmig/state"
)

// AddUsers adds the users of a CSV to an existing batch (Exchange's
// Set-MigrationBatch -AddUsers). When the batch is running they are queued.
func (e *Engine) AddUsers(ctx context.Context, batch string, csv []byte, csvPath string, skipInvalid bool) (*CreateResult, error) {
	b, err := e.store.Batch(batch)
	if err != nil {
		return nil, err
	}
	switch b.Status {
	case state.BatchCompleting, state.BatchCompleted, state.BatchCompletedWithErrors, state.BatchRemoving:
		return nil, &ActionError{Object: "batch", Name: batch, Status: string(b.Status), Action: "add users to", Hint: "create a new batch for them"}
	}
	var res *csvbatch.Result
	if csv != nil {
		res, err = csvbatch.Parse(strings.NewReader(string(csv)))
	} else {
		res, err = csvbatch.ParseFile(csvPath)
	}
	if err != nil {
		return nil, err
	}
	if !res.Valid() && !skipInvalid {
		return nil, &CSVError{Problems: res.Problems}
	}
	users := make([]state.NewUser, len(res.Users))
	for i, u := range res.Users {
		users[i] = state.NewUser{EmailAddress: u.EmailAddress, UserName: u.UserName, Password: u.Password, UserRoot: u.UserRoot}
	}
	e.mu.Lock()
	err = e.store.AddUsers(batch, users)
	e.mu.Unlock()
	if err != nil {
		return nil, err
	}
	e.event(batch, "", "info", fmt.Sprintf("%d users added", len(users)))
	if b.Status != state.BatchCreated && b.Status != state.BatchStopped {
		if err := e.StartBatch(ctx, batch); err != nil {
			return nil, err
		}
	}
	v, err := e.Batch(batch)
	if err != nil {
		return nil, err
	}
	return &CreateResult{Batch: v, Users: len(users), SkippedRows: res.Problems}, nil
}

// ApproveBatch approves the skipped items of every user of a batch.
func (e *Engine) ApproveBatch(ctx context.Context, name string) (int, error) {
	us, err := e.Users(name)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, u := range us {
		n, err := e.ApproveSkipped(ctx, u.EmailAddress)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

// Endpoints lists the configured endpoints.
func (e *Engine) Endpoints() ([]state.Endpoint, error) { return e.store.Endpoints() }

// EndpointTest is the outcome of testing an endpoint.
type EndpointTest struct {
	Endpoint string  `json:"Endpoint"`
	User     string  `json:"User"`
	Result   string  `json:"Result"` // "Success" or "Failed"
	Reason   string  `json:"ErrorReason,omitempty"`
	Error    string  `json:"Error,omitempty"`
	Seconds  float64 `json:"Seconds"`
}

// ConnectionTester is an optional capability of a SourceConnector: log in
// and out without reading mail.
type ConnectionTester interface {
	Test(ctx context.Context, login Login) error
}

// TestEndpoint logs in to an endpoint with a migration user's credentials
// (email, or the first user of a batch on that endpoint when empty).
func (e *Engine) TestEndpoint(ctx context.Context, name, email string) (*EndpointTest, error) {
	ep, err := e.endpoint(name)
	if err != nil {
		return nil, err
	}
	u, err := e.userForEndpoint(name, email)
	if err != nil {
		return nil, err
	}
	login, err := e.login(u)
	if err != nil {
		return nil, err
	}
	return e.testLogin(ctx, ep, u.EmailAddress, login)
}

// TestEndpointLogin logs in to an endpoint with the given credentials, so
// that an endpoint can be tested before any batch exists.
func (e *Engine) TestEndpointLogin(ctx context.Context, name string, login Login) (*EndpointTest, error) {
	ep, err := e.endpoint(name)
	if err != nil {
		return nil, err
	}
	return e.testLogin(ctx, ep, login.UserName, login)
}

func (e *Engine) endpoint(name string) (state.Endpoint, error) {
	eps, err := e.store.Endpoints()
	if err != nil {
		return state.Endpoint{}, err
	}
	for _, ep := range eps {
		if ep.Name == name {
			return ep, nil
		}
	}
	return state.Endpoint{}, fmt.Errorf("endpoint %q: %w", name, state.ErrNotFound)
}

func (e *Engine) testLogin(ctx context.Context, ep state.Endpoint, who string, login Login) (*EndpointTest, error) {
	if e.opts.Sources == nil {
		return nil, errors.New("this daemon has no IMAP connector configured")
	}
	res := &EndpointTest{Endpoint: ep.Name, User: who, Result: "Success"}
	start := e.now()
	err := e.tryLogin(ctx, ep, login)
	res.Seconds = e.now().Sub(start).Seconds()
	if err != nil {
		res.Result, res.Reason, res.Error = "Failed", ReasonOf(err), err.Error()
	}
	return res, nil
}

func (e *Engine) tryLogin(ctx context.Context, ep state.Endpoint, login Login) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	conn, err := e.opts.Sources(ctx, ep)
	if err != nil {
		return err
	}
	if t, ok := conn.(ConnectionTester); ok {
		return t.Test(ctx, login)
	}
	src, err := conn.Connect(ctx, login)
	if err != nil {
		return err
	}
	return src.Close()
}

func (e *Engine) login(u state.User) (Login, error) {
	pw, err := e.store.Password(u)
	if err != nil {
		return Login{}, Fatal(err)
	}
	return Login{UserName: u.UserName, Password: pw, UserRoot: u.UserRoot}, nil
}

func (e *Engine) userForEndpoint(endpoint, email string) (state.User, error) {
	if email != "" {
		return e.store.User(email)
	}
	bs, err := e.store.Batches()
	if err != nil {
		return state.User{}, err
	}
	for _, b := range bs {
		if b.Endpoint != endpoint {
			continue
		}
		us, err := e.store.Users(b.Name)
		if err != nil {
			return state.User{}, err
		}
		if len(us) > 0 {
			return us[0], nil
		}
	}
	return state.User{}, fmt.Errorf("no migration user on endpoint %q to test with (give one with --user, or test any account with --username): %w", endpoint, state.ErrNotFound)
}

// Stats are the daemon-wide totals.
type Stats struct {
	Batches          int                       `json:"BatchCount"`
	Users            int                       `json:"UserCount"`
	UsersByStatus    map[state.UserStatus]int  `json:"UsersByStatus"`
	BatchesByStatus  map[state.BatchStatus]int `json:"BatchesByStatus"`
	SyncedItemCount  int64                     `json:"SyncedItemCount"`
	SyncedBytes      int64                     `json:"SyncedBytes"`
	SkippedItemCount int64                     `json:"SkippedItemCount"`
	// EstimatedTotalCount, MissingItemCount, NotSyncedCount and
	// DataConsistencyScore are as on a batch, over all batches: failed and
	// not yet synced users count as missing, and the score is the worst.
	EstimatedTotalCount  int64  `json:"EstimatedTotalCount"`
	EstimatedTotalSize   int64  `json:"EstimatedTotalSize"`
	MissingItemCount     int64  `json:"MissingItemCount"`
	NotSyncedCount       int    `json:"NotSyncedCount"`
	DataConsistencyScore string `json:"DataConsistencyScore"`
}

// Stats sums all batches.
func (e *Engine) Stats() (Stats, error) {
	s := Stats{UsersByStatus: map[state.UserStatus]int{}, BatchesByStatus: map[state.BatchStatus]int{}}
	bs, err := e.store.Batches()
	if err != nil {
		return s, err
	}
	for _, b := range bs {
		s.Batches++
		s.BatchesByStatus[b.Status]++
	}
	us, err := e.store.Users("")
	if err != nil {
		return s, err
	}
	for _, u := range us {
		s.Users++
		s.UsersByStatus[u.Status]++
		s.SyncedItemCount += u.SyncedItemCount
		s.SyncedBytes += u.SyncedBytes
		s.SkippedItemCount += u.SkippedItemCount
		s.EstimatedTotalCount += u.EstimatedTotalCount
		s.EstimatedTotalSize += u.EstimatedTotalSize
		s.MissingItemCount += missingOf(u)
		if u.LastSuccessfulSyncTime.IsZero() {
			s.NotSyncedCount++
		}
	}
	s.DataConsistencyScore = batchScore(us)
	return s, nil
}
