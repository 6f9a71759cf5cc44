package cutover

import "time"

// Status is a finding's judgement.
type Status string

// Statuses, from good to bad.
const (
	OK   Status = "ok"
	Warn Status = "warn"
	Fail Status = "fail"
)

func (s Status) rank() int {
	switch s {
	case Fail:
		return 2
	case Warn:
		return 1
	}
	return 0
}

// Worse is the worse of two statuses.
func Worse(a, b Status) Status {
	if b.rank() > a.rank() {
		return b
	}
	return a
}

// Finding is one judged check.
type Finding struct {
	// Check names what was looked at: MX, MX TTL, SPF, SPF include, SPF old
	// provider, SPF all, SPF lookups, Autodiscover, DKIM selector1, DKIM
	// selector2, DMARC, Tenant domain, Expected MX/TXT/CNAME/SRV,
	// Routing addresses.
	Check    string `json:"Check"`
	Status   Status `json:"Status"`
	Evidence string `json:"Evidence"`
	Advice   string `json:"Advice,omitempty"`
}

// MXState is where a domain's mail goes.
type MXState string

// MX states.
const (
	MXProvider MXState = "provider" // only hosts that are not Exchange Online
	MXExchange MXState = "exchange" // only *.mail.protection.outlook.com
	MXMixed    MXState = "mixed"    // both
	MXNone     MXState = "none"     // no MX record
	MXUnknown  MXState = "unknown"  // the lookup failed
)

// Report is the result of a check.
type Report struct {
	Domain   string    `json:"Domain"`
	Tenant   string    `json:"Tenant,omitempty"`
	Resolver string    `json:"Resolver"`
	At       time.Time `json:"CheckedAt"`
	// Status is the worst finding's.
	Status  Status  `json:"Status"`
	MXState MXState `json:"MXState"`
	MX      []MX    `json:"MX"`
	// MXTTL is the highest TTL of the MX answer (seconds; from a caching
	// resolver it is what is left of the cached TTL).
	MXTTL uint32 `json:"MXTTL"`
	// InitialDomain is the tenant's tenant.onmicrosoft.com domain (with a
	// Directory).
	InitialDomain string    `json:"InitialDomain,omitempty"`
	Findings      []Finding `json:"Findings"`
	// Batches are the migration batches with users on the domain (filled
	// in by the daemon; the Plan reads them).
	Batches []BatchState `json:"Batches,omitempty"`
}

// BatchState is what the plan needs to know of a batch on the domain.
type BatchState struct {
	Name string `json:"Name"`
	// Status is the batch's status (Created, Syncing, Synced,
	// SyncedWithErrors, Completing, Completed, ...).
	Status string `json:"Status"`
	Users  int    `json:"Users"`
	// LastSynced is the batch's last finished incremental pass.
	LastSynced *time.Time `json:"LastSynced,omitempty"`
}

func (r *Report) add(f Finding) {
	r.Findings = append(r.Findings, f)
	r.Status = Worse(r.Status, f.Status)
}

// Finding returns the first finding of a check, and whether there is one.
func (r *Report) Finding(check string) (Finding, bool) {
	for _, f := range r.Findings {
		if f.Check == check {
			return f, true
		}
	}
	return Finding{}, false
}
