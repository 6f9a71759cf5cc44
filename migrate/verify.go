package migrate

import (
	"fmt"

	"github.com/imapmig/imapmig/state"
)

// DataConsistencyScore values (DESIGN §1), best first.
const (
	ScorePerfect     = "Perfect"
	ScoreGood        = "Good"
	ScoreInvestigate = "Investigate"
	ScorePoor        = "Poor"
)

// userTotals are a user's figures as the state records them.
type userTotals struct {
	inScope, inScopeBytes int64
	items, itemBytes      int64
	skipped, unapproved   int64
	score                 string
}

// totals sums a user's folder states and skipped items and scores them:
// Perfect when every message in scope is in the target, Investigate while
// skipped items wait for approval, Good when they are approved, Poor when
// messages are missing without a recorded reason.
func (e *Engine) totals(email string) (userTotals, error) {
	var t userTotals
	fs, err := e.store.Folders(email)
	if err != nil {
		return t, err
	}
	for _, f := range fs {
		t.inScope += f.InScope
		t.inScopeBytes += f.InScopeBytes
		t.items += f.Items
		t.itemBytes += f.ItemBytes
	}
	sk, err := e.store.Skipped(email)
	if err != nil {
		return t, err
	}
	for _, it := range sk {
		t.skipped++
		if !it.Approved {
			t.unapproved++
		}
	}
	t.score = scoreOf(t.inScope, t.items, t.skipped, t.unapproved)
	return t, nil
}

func scoreOf(inScope, items, skipped, unapproved int64) string {
	switch {
	case inScope > items+skipped:
		return ScorePoor
	case unapproved > 0:
		return ScoreInvestigate
	case skipped > 0:
		return ScoreGood
	}
	return ScorePerfect
}

func (t userTotals) apply(u *state.User) {
	u.EstimatedTotalCount, u.EstimatedTotalSize = t.inScope, t.inScopeBytes
	u.SyncedItemCount, u.SyncedBytes = t.items, t.itemBytes
	u.SkippedItemCount = t.skipped
	u.DataConsistencyScore = t.score
}

// verdict is the one line an operator trusts, after imapsync's.
func (t userTotals) verdict() string {
	switch t.score {
	case ScorePerfect:
		return fmt.Sprintf("Perfect: all %d messages in scope are in the target (0 skipped)", t.inScope)
	case ScoreGood:
		return fmt.Sprintf("Good: %d of %d messages in scope are in the target; %d skipped and approved", t.items, t.inScope, t.skipped)
	case ScoreInvestigate:
		return fmt.Sprintf("Investigate: %d of %d messages in scope are in the target; %d skipped (%d not approved)", t.items, t.inScope, t.skipped, t.unapproved)
	}
	return fmt.Sprintf("Poor: %d of %d messages in scope are in the target, %d skipped, %d missing without a reason", t.items, t.inScope, t.skipped, t.inScope-t.items-t.skipped)
}
