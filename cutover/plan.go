package cutover

import (
	"fmt"
	"strings"
)

// StepState is where a plan step stands.
type StepState string

// Step states.
const (
	StepDone StepState = "done"
	StepTodo StepState = "todo"
	// StepVerify: imapmig cannot see it (the old provider's forwarding);
	// the administrator confirms it.
	StepVerify StepState = "verify"
)

// Step is one step of the cutover.
type Step struct {
	N     int       `json:"N"`
	Title string    `json:"Title"`
	State StepState `json:"State"`
	// Next marks the first step that is not done.
	Next   bool   `json:"Next"`
	Detail string `json:"Detail"`
}

// Plan is the ordered cutover checklist for a domain.
type Plan struct {
	Domain string  `json:"Domain"`
	Steps  []Step  `json:"Steps"`
	Report *Report `json:"Report"`
}

// batch status names (state.BatchStatus values) the plan reads.
const (
	bSynced           = "Synced"
	bSyncedWithErrors = "SyncedWithErrors"
	bCompleting       = "Completing"
	bCompleted        = "Completed"
)

// PlanFor derives the checklist from a check's report (with its Batches).
func PlanFor(r *Report) *Plan {
	p := &Plan{Domain: r.Domain, Report: r}
	switched := r.MXState == MXExchange
	names := make([]string, 0, len(r.Batches))
	synced, completed, completing := len(r.Batches) > 0, len(r.Batches) > 0, len(r.Batches) > 0
	for _, b := range r.Batches {
		names = append(names, b.Name)
		switch b.Status {
		case bCompleted:
		case bCompleting:
			completed = false
		case bSynced, bSyncedWithErrors:
			completed, completing = false, false
		default:
			synced, completed, completing = false, false, false
		}
	}
	batches := strings.Join(names, " ")
	if batches == "" {
		batches = "NAME"
	}
	add := func(title string, st StepState, detail string) {
		p.Steps = append(p.Steps, Step{N: len(p.Steps) + 1, Title: title, State: st, Detail: detail})
	}
	noBatch := ""
	if len(r.Batches) == 0 {
		noBatch = " (no batch has users on " + r.Domain + ")"
	}

	// 1. Lower the MX TTL.
	switch {
	case switched:
		add("Lower the MX TTL", StepDone, "MX already points at Exchange Online")
	case r.MXState == MXUnknown:
		add("Lower the MX TTL", StepTodo, "the MX lookup failed; run the check again")
	case r.MXTTL <= IdealTTL:
		add("Lower the MX TTL", StepDone, fmt.Sprintf("MX TTL is %d s", r.MXTTL))
	default:
		add("Lower the MX TTL", StepTodo, fmt.Sprintf("MX TTL is %d s: lower it to %d s, then wait at least %d s (the old TTL) before the switch", r.MXTTL, IdealTTL, r.MXTTL))
	}

	// 2. Forwarding or dual delivery.
	fwd := "at the old provider, forward each mailbox to its routing address: imapmig cutover forwarding --batch " + names0(names)
	if rf, ok := r.Finding("Routing addresses"); ok && rf.Status != OK {
		add("Forward or dual delivery", StepTodo, "first give every mailbox its routing address ("+rf.Evidence+"); then "+fwd)
	} else if switched {
		add("Forward or dual delivery", StepDone, "MX switched; keep the forwarding until the old MX TTL has passed")
	} else {
		add("Forward or dual delivery", StepVerify, fwd+" (imapmig cannot see the old provider's settings)")
	}

	// 3. Final SyncNow before the switch.
	switch {
	case switched || synced:
		add("Final SyncNow before the switch", StepDone, "every batch on the domain has finished its initial sync"+noBatch)
	default:
		add("Final SyncNow before the switch", StepTodo, "wait until the batches are Synced, then: imapmig batch syncnow "+batches+noBatch)
	}

	// 4. Switch MX.
	want := ExpectedMX(r.Domain)
	if f, ok := r.Finding("Expected MX"); ok {
		if i := strings.Index(f.Evidence, "expects MX "); i >= 0 {
			want = strings.Fields(f.Evidence[i+len("expects MX "):])[0]
		}
	}
	if switched {
		add("Switch MX to Exchange Online", StepDone, "MX: "+mxHosts(r.MX))
	} else {
		add("Switch MX to Exchange Online", StepTodo, "set MX 0 "+want+" (only that host), autodiscover CNAME "+AutodiscoverTarget+", SPF with include:"+ExchangeSPFInclude)
	}

	// 5. SyncNow after the switch.
	switch {
	case completing:
		add("SyncNow after the switch", StepDone, "the batches are completing or completed (completion runs the last incremental sync)")
	case switched:
		add("SyncNow after the switch", StepTodo, "copy what reached the old provider while the switch propagated: imapmig batch syncnow "+batches+noBatch)
	default:
		add("SyncNow after the switch", StepTodo, "after the switch: imapmig batch syncnow "+batches+noBatch)
	}

	// 6. Complete.
	switch {
	case completed:
		add("Complete the batches", StepDone, "every batch on the domain is Completed")
	default:
		add("Complete the batches", StepTodo, "imapmig batch complete "+batches+" (refused while MX points at the old provider)"+noBatch)
	}

	// 7. Raise the TTL again.
	switch {
	case switched && completed && r.MXTTL >= MaxTTL:
		add("Raise the MX TTL again", StepDone, fmt.Sprintf("MX TTL is %d s", r.MXTTL))
	default:
		add("Raise the MX TTL again", StepTodo, fmt.Sprintf("after completion, raise the MX TTL again (for example to %d s)", MaxTTL))
	}
	for i := range p.Steps {
		if p.Steps[i].State != StepDone {
			p.Steps[i].Next = true
			break
		}
	}
	return p
}

func names0(names []string) string {
	if len(names) == 0 {
		return "NAME"
	}
	return names[0]
}
