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
	ps := newPlanState(r)
	for _, step := range planSteps {
		st, detail := step.state(ps)
		p.Steps = append(p.Steps, Step{N: len(p.Steps) + 1, Title: step.title, State: st, Detail: detail})
	}
	for i := range p.Steps {
		if p.Steps[i].State != StepDone {
			p.Steps[i].Next = true
			break
		}
	}
	return p
}

// planSteps are the cutover's steps in order, each with where it stands.
var planSteps = []struct {
	title string
	state func(*planState) (StepState, string)
}{
	{"Lower the MX TTL", (*planState).lowerTTL},
	{"Forward or dual delivery", (*planState).forwarding},
	{"Final SyncNow before the switch", (*planState).syncBefore},
	{"Switch MX to Exchange Online", (*planState).switchMX},
	{"SyncNow after the switch", (*planState).syncAfter},
	{"Complete the batches", (*planState).complete},
	{"Raise the MX TTL again", (*planState).raiseTTL},
}

// planState is what the steps read from a report.
type planState struct {
	r        *Report
	switched bool // MX points at Exchange Online
	// synced, completing, completed: every batch on the domain (at least
	// one) has got that far.
	synced, completing, completed bool
	names                         []string
	batches                       string // the batch names for a command line
	noBatch                       string // a note when no batch has users on the domain
}

func newPlanState(r *Report) *planState {
	s := &planState{r: r, switched: r.MXState == MXExchange}
	some := len(r.Batches) > 0
	s.synced, s.completed, s.completing = some, some, some
	for _, b := range r.Batches {
		s.names = append(s.names, b.Name)
		switch b.Status {
		case bCompleted:
		case bCompleting:
			s.completed = false
		case bSynced, bSyncedWithErrors:
			s.completed, s.completing = false, false
		default:
			s.synced, s.completed, s.completing = false, false, false
		}
	}
	s.batches = strings.Join(s.names, " ")
	if s.batches == "" {
		s.batches = "NAME"
	}
	if !some {
		s.noBatch = " (no batch has users on " + r.Domain + ")"
	}
	return s
}

func (s *planState) lowerTTL() (StepState, string) {
	switch r := s.r; {
	case s.switched:
		return StepDone, "MX already points at Exchange Online"
	case r.MXState == MXUnknown:
		return StepTodo, "the MX lookup failed; run the check again"
	case r.MXTTL <= IdealTTL:
		return StepDone, fmt.Sprintf("MX TTL is %d s", r.MXTTL)
	default:
		return StepTodo, fmt.Sprintf("MX TTL is %d s: lower it to %d s, then wait at least %d s (the old TTL) before the switch", r.MXTTL, IdealTTL, r.MXTTL)
	}
}

func (s *planState) forwarding() (StepState, string) {
	fwd := "at the old provider, forward each mailbox to its routing address: imapmig cutover forwarding --batch " + names0(s.names)
	if rf, ok := s.r.Finding("Routing addresses"); ok && rf.Status != OK {
		return StepTodo, "first give every mailbox its routing address (" + rf.Evidence + "); then " + fwd
	} else if s.switched {
		return StepDone, "MX switched; keep the forwarding until the old MX TTL has passed"
	}
	return StepVerify, fwd + " (imapmig cannot see the old provider's settings)"
}

func (s *planState) syncBefore() (StepState, string) {
	if s.switched || s.synced {
		return StepDone, "every batch on the domain has finished its initial sync" + s.noBatch
	}
	return StepTodo, "wait until the batches are Synced, then: imapmig batch syncnow " + s.batches + s.noBatch
}

func (s *planState) switchMX() (StepState, string) {
	if s.switched {
		return StepDone, "MX: " + mxHosts(s.r.MX)
	}
	want := ExpectedMX(s.r.Domain)
	if f, ok := s.r.Finding("Expected MX"); ok {
		if i := strings.Index(f.Evidence, "expects MX "); i >= 0 {
			want = strings.Fields(f.Evidence[i+len("expects MX "):])[0]
		}
	}
	return StepTodo, "set MX 0 " + want + " (only that host), autodiscover CNAME " + AutodiscoverTarget + ", SPF with include:" + ExchangeSPFInclude
}

func (s *planState) syncAfter() (StepState, string) {
	switch {
	case s.completing:
		return StepDone, "the batches are completing or completed (completion runs the last incremental sync)"
	case s.switched:
		return StepTodo, "copy what reached the old provider while the switch propagated: imapmig batch syncnow " + s.batches + s.noBatch
	default:
		return StepTodo, "after the switch: imapmig batch syncnow " + s.batches + s.noBatch
	}
}

func (s *planState) complete() (StepState, string) {
	if s.completed {
		return StepDone, "every batch on the domain is Completed"
	}
	return StepTodo, "imapmig batch complete " + s.batches + " (refused while MX points at the old provider)" + s.noBatch
}

func (s *planState) raiseTTL() (StepState, string) {
	if s.switched && s.completed && s.r.MXTTL >= MaxTTL {
		return StepDone, fmt.Sprintf("MX TTL is %d s", s.r.MXTTL)
	}
	return StepTodo, fmt.Sprintf("after completion, raise the MX TTL again (for example to %d s)", MaxTTL)
}

func names0(names []string) string {
	if len(names) == 0 {
		return "NAME"
	}
	return names[0]
}
