package graphemu

import (
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
)

// The directory surface the cutover checks read (Graph v1.0, permission
// Domain.Read.All and User.Read.All):
//
//   - GET /domains, GET /domains/{name}: the tenant's domains with
//     isVerified, isInitial, isDefault and supportedServices. By default
//     the tenant has its initial domain (DefaultInitialDomain) and, verified,
//     every domain of a provisioned mailbox.
//   - GET /domains/{name}/serviceConfigurationRecords: the DNS records
//     Microsoft expects, as domainDnsRecord subtypes with @odata.type
//     (Email: MX to name-with-dashes.mail.protection.outlook.com, the SPF
//     TXT, autodiscover CNAME; OfficeCommunicationsOnline: sip and
//     lyncdiscover CNAMEs).
//   - GET /users/{id}?$select=…proxyAddresses…: only the selected
//     properties. A mailbox has SMTP:address and smtp:local@initial domain
//     unless a test set others (SetProxyAddresses).

// DefaultInitialDomain is the emulated tenant's onmicrosoft.com domain.
const DefaultInitialDomain = "emulator.onmicrosoft.com"

// Domain is a tenant domain of the emulator.
type Domain struct {
	Name              string
	IsVerified        bool
	IsInitial         bool
	IsDefault         bool
	SupportedServices []string // default Email, OfficeCommunicationsOnline
}

// directory is the emulator's domains and proxy-address overrides.
type directory struct {
	mu      sync.Mutex
	domains map[string]Domain   // lower-case name; nil until first use
	proxies map[string][]string // lower-case mailbox address
	removed map[string]bool     // mailbox domains a test removed
}

// SetDomain adds or replaces a tenant domain. With IsInitial it becomes the
// initial domain (the old one stays, no longer initial).
func (s *Server) SetDomain(d Domain) {
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	s.initDomainsLocked()
	d.Name = strings.ToLower(d.Name)
	if d.IsInitial {
		for k, o := range s.dir.domains {
			o.IsInitial = false
			s.dir.domains[k] = o
		}
	}
	if d.SupportedServices == nil {
		d.SupportedServices = []string{"Email", "OfficeCommunicationsOnline"}
	}
	s.dir.domains[d.Name] = d
}

// RemoveDomain removes a tenant domain.
func (s *Server) RemoveDomain(name string) {
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	s.initDomainsLocked()
	delete(s.dir.domains, strings.ToLower(name))
	s.dir.removed[strings.ToLower(name)] = true
}

// SetProxyAddresses replaces a mailbox's proxyAddresses.
func (s *Server) SetProxyAddresses(address string, proxies []string) {
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	if s.dir.proxies == nil {
		s.dir.proxies = map[string][]string{}
	}
	s.dir.proxies[strings.ToLower(address)] = slices.Clone(proxies)
}

// initDomainsLocked creates the initial domain once and adds, verified,
// the domain of every mailbox provisioned so far (unless a test removed
// it).
func (s *Server) initDomainsLocked() {
	svc := []string{"Email", "OfficeCommunicationsOnline"}
	if s.dir.domains == nil {
		s.dir.domains, s.dir.removed = map[string]Domain{}, map[string]bool{}
		s.dir.domains[DefaultInitialDomain] = Domain{Name: DefaultInitialDomain, IsVerified: true, IsInitial: true, IsDefault: true, SupportedServices: svc}
	}
	s.mu.Lock()
	for addr := range s.mailboxes {
		if _, d, ok := strings.Cut(addr, "@"); ok {
			if _, has := s.dir.domains[d]; !has && !s.dir.removed[d] {
				s.dir.domains[d] = Domain{Name: d, IsVerified: true, SupportedServices: svc}
			}
		}
	}
	s.mu.Unlock()
}

func (s *Server) initialDomainLocked() string {
	for _, d := range s.dir.domains {
		if d.IsInitial {
			return d.Name
		}
	}
	return DefaultInitialDomain
}

func domainJSON(d Domain) map[string]any {
	return map[string]any{
		"id": d.Name, "authenticationType": "Managed", "availabilityStatus": nil, "isAdminManaged": true,
		"isDefault": d.IsDefault, "isInitial": d.IsInitial, "isRoot": true, "isVerified": d.IsVerified,
		"passwordNotificationWindowInDays": 14, "passwordValidityPeriodInDays": 2147483647,
		"supportedServices": d.SupportedServices, "state": nil,
	}
}

// serviceRecords are the records Microsoft lists for a domain's services.
func serviceRecords(d Domain) []map[string]any {
	rec := func(typ, odata, label, svc string, kv ...any) map[string]any {
		m := map[string]any{"@odata.type": "#microsoft.graph." + odata, "id": typ + "-" + label + "-" + svc,
			"isOptional": false, "label": label, "recordType": typ, "supportedService": svc, "ttl": 3600}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	var out []map[string]any
	if slices.Contains(d.SupportedServices, "Email") {
		out = append(out,
			rec("Mx", "domainDnsMxRecord", d.Name, "Email", "mailExchange", strings.ReplaceAll(d.Name, ".", "-")+".mail.protection.outlook.com", "preference", 0),
			rec("Txt", "domainDnsTxtRecord", d.Name, "Email", "text", "v=spf1 include:spf.protection.outlook.com -all"),
			rec("CName", "domainDnsCnameRecord", "autodiscover."+d.Name, "Email", "canonicalName", "autodiscover.outlook.com"))
	}
	if slices.Contains(d.SupportedServices, "OfficeCommunicationsOnline") {
		out = append(out,
			rec("CName", "domainDnsCnameRecord", "sip."+d.Name, "OfficeCommunicationsOnline", "canonicalName", "sipdir.online.lync.com"),
			rec("CName", "domainDnsCnameRecord", "lyncdiscover."+d.Name, "OfficeCommunicationsOnline", "canonicalName", "webdir.online.lync.com"))
	}
	return out
}

// serveDirectory answers the directory requests above; false means the
// request is not one of them.
func (s *Server) serveDirectory(w http.ResponseWriter, r *http.Request, segs []string) bool {
	if len(segs) == 0 || r.Method != http.MethodGet {
		return false
	}
	isDomains := strings.EqualFold(segs[0], "domains")
	isUserSelect := strings.EqualFold(segs[0], "users") && len(segs) == 2 &&
		strings.Contains(strings.ToLower(r.URL.Query().Get("$select")), "proxyaddresses")
	if !isDomains && !isUserSelect {
		return false
	}
	s.stats.requests.Add(1)
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	s.initDomainsLocked()
	if isUserSelect {
		s.mu.Lock()
		mb := s.mailboxLocked(segs[1])
		s.mu.Unlock()
		if mb == nil {
			writeError(w, 404, "Request_ResourceNotFound", "Resource '"+segs[1]+"' does not exist or one of its queried reference-property objects are not present.")
			return true
		}
		px, ok := s.dir.proxies[strings.ToLower(mb.address)]
		if !ok {
			local, _, _ := strings.Cut(mb.address, "@")
			px = []string{"SMTP:" + mb.address, "smtp:" + local + "@" + s.initialDomainLocked()}
		}
		all := map[string]any{"id": mb.id, "mail": mb.address, "userPrincipalName": mb.address, "displayName": mb.address, "proxyAddresses": px}
		out := map[string]any{"@odata.context": s.baseURL + "/v1.0/$metadata#users(" + r.URL.Query().Get("$select") + ")/$entity"}
		for _, f := range strings.Split(r.URL.Query().Get("$select"), ",") {
			for k, v := range all {
				if strings.EqualFold(k, strings.TrimSpace(f)) {
					out[k] = v
				}
			}
		}
		writeJSON(w, 200, out)
		return true
	}
	switch len(segs) {
	case 1:
		names := make([]string, 0, len(s.dir.domains))
		for n := range s.dir.domains {
			names = append(names, n)
		}
		sort.Strings(names)
		vals := make([]map[string]any, 0, len(names))
		for _, n := range names {
			vals = append(vals, domainJSON(s.dir.domains[n]))
		}
		writeJSON(w, 200, map[string]any{"@odata.context": s.baseURL + "/v1.0/$metadata#domains", "value": vals})
		return true
	case 2, 3:
		d, ok := s.dir.domains[strings.ToLower(segs[1])]
		if !ok {
			writeError(w, 404, "Request_ResourceNotFound", "Resource '"+segs[1]+"' does not exist or one of its queried reference-property objects are not present.")
			return true
		}
		if len(segs) == 2 {
			writeJSON(w, 200, domainJSON(d))
			return true
		}
		if strings.EqualFold(segs[2], "serviceConfigurationRecords") {
			writeJSON(w, 200, map[string]any{"@odata.context": s.baseURL + "/v1.0/$metadata#domains('" + d.Name + "')/serviceConfigurationRecords", "value": serviceRecords(d)})
			return true
		}
	}
	writeError(w, 400, "BadRequest", "Resource not found for the segment '"+strings.Join(segs, "/")+"'.")
	return true
}
