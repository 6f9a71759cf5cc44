package statetest

import (
	"testing"

	"github.com/imapmig/imapmig/migrate/model"
	"github.com/imapmig/imapmig/state"
)

// OldEndpoint and ContosoTenant are the source and tenant of the API and console tests,
// which reach neither: endpoint old (imap.example.org, SSL) and tenant
// contoso.
var (
	OldEndpoint   = model.Endpoint{Name: "old", Host: "imap.example.org", Port: 993, Security: "ssl"}
	ContosoTenant = model.Tenant{Name: "contoso", TenantID: "t", ClientID: "c"}
)

// MustOpenWith is MustOpen on a store that already holds endpoint e and
// tenant tn.
func MustOpenWith(t testing.TB, e model.Endpoint, tn model.Tenant) *state.Store {
	t.Helper()
	s := MustOpen(t)
	if err := s.PutEndpoint(e); err != nil {
		t.Fatal(err)
	}
	if err := s.PutTenant(tn); err != nil {
		t.Fatal(err)
	}
	return s
}
