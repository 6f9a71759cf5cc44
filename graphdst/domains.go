package graphdst

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/imapmig/imapmig/cutover"
)

// Directory reads the tenant's domains and users' addresses for the cutover
// checks (permissions Domain.Read.All and User.Read.All). It implements
// cutover.Directory over the Target's Graph client and credentials.
type Directory struct{ t *Target }

var _ cutover.Directory = Directory{}

// Directory returns the tenant's directory reader.
func (t *Target) Directory() Directory { return Directory{t: t} }

// Domain is GET /domains/{name}; cutover.ErrDomainNotFound on 404.
func (d Directory) Domain(ctx context.Context, name string) (cutover.TenantDomain, error) {
	dom, err := d.t.client.Domains().ByDomainId(name).Get(ctx, nil)
	if err != nil {
		if status, _ := odataStatus(err); status == http.StatusNotFound {
			return cutover.TenantDomain{}, fmt.Errorf("%w: %s", cutover.ErrDomainNotFound, name)
		}
		return cutover.TenantDomain{}, directoryErr("GET /domains/"+name, err)
	}
	return tenantDomain(dom), nil
}

// Domains is GET /domains (a tenant's domains fit in one page).
func (d Directory) Domains(ctx context.Context) ([]cutover.TenantDomain, error) {
	res, err := d.t.client.Domains().Get(ctx, nil)
	if err != nil {
		return nil, directoryErr("GET /domains", err)
	}
	var out []cutover.TenantDomain
	for _, dom := range res.GetValue() {
		out = append(out, tenantDomain(dom))
	}
	return out, nil
}

// ServiceRecords is GET /domains/{name}/serviceConfigurationRecords.
func (d Directory) ServiceRecords(ctx context.Context, name string) ([]cutover.ExpectedRecord, error) {
	res, err := d.t.client.Domains().ByDomainId(name).ServiceConfigurationRecords().Get(ctx, nil)
	if err != nil {
		if status, _ := odataStatus(err); status == http.StatusNotFound {
			return nil, fmt.Errorf("%w: %s", cutover.ErrDomainNotFound, name)
		}
		return nil, directoryErr("GET /domains/"+name+"/serviceConfigurationRecords", err)
	}
	var out []cutover.ExpectedRecord
	for _, r := range res.GetValue() {
		e := cutover.ExpectedRecord{Type: str(r.GetRecordType()), Label: str(r.GetLabel()), Service: str(r.GetSupportedService())}
		if r.GetTtl() != nil {
			e.TTL = int(*r.GetTtl())
		}
		if r.GetIsOptional() != nil {
			e.Optional = *r.GetIsOptional()
		}
		switch v := r.(type) {
		case models.DomainDnsMxRecordable:
			e.Value = str(v.GetMailExchange())
		case models.DomainDnsTxtRecordable:
			e.Value = str(v.GetText())
		case models.DomainDnsCnameRecordable:
			e.Value = str(v.GetCanonicalName())
		case models.DomainDnsSrvRecordable:
			e.Value = str(v.GetNameTarget())
		}
		out = append(out, e)
	}
	return out, nil
}

// ProxyAddresses is the user's proxyAddresses (GET /users/{user}
// ?$select=proxyAddresses).
func (d Directory) ProxyAddresses(ctx context.Context, user string) ([]string, error) {
	u, err := d.t.client.Users().ByUserId(user).Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: []string{"id", "mail", "proxyAddresses"}},
	})
	if err != nil {
		return nil, directoryErr("GET /users/"+user, err)
	}
	return u.GetProxyAddresses(), nil
}

func tenantDomain(d models.Domainable) cutover.TenantDomain {
	b := func(p *bool) bool { return p != nil && *p }
	return cutover.TenantDomain{Name: str(d.GetId()), IsVerified: b(d.GetIsVerified()), IsInitial: b(d.GetIsInitial()),
		IsDefault: b(d.GetIsDefault()), SupportedServices: d.GetSupportedServices()}
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// odataStatus is the HTTP status and Graph error code of an SDK error.
func odataStatus(err error) (int, string) {
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) {
		code := ""
		if me := oe.GetErrorEscaped(); me != nil && me.GetCode() != nil {
			code = *me.GetCode()
		}
		return oe.ResponseStatusCode, code
	}
	var ae *abs.ApiError
	if errors.As(err, &ae) {
		return ae.ResponseStatusCode, ""
	}
	return 0, ""
}

// directoryErr names the call and the status, never a token.
func directoryErr(call string, err error) error {
	status, code := odataStatus(err)
	switch {
	case status == 0 && isAuthErr(err):
		return fmt.Errorf("graphdst: %s: %w", call, sanitizeAuthError(err))
	case status == http.StatusForbidden || status == http.StatusUnauthorized:
		return fmt.Errorf("graphdst: %s: %d %s (the app needs Domain.Read.All and User.Read.All)", call, status, code)
	case status != 0:
		return fmt.Errorf("graphdst: %s: %d %s", call, status, code)
	}
	return fmt.Errorf("graphdst: %s: %w", call, err)
}
