// The engine's endpoint verbs: list the IMAP endpoints and test a login against one.

package migrate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/imapmig/imapmig/state"
)

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
