package migrate

import (
	"context"
	"fmt"
	"time"

	"github.com/imapmig/imapmig/state"
)

// DataConsistencyScore values (docs/ARCHITECTURE.md, "Objects and statuses"), best first.
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

// rescore recomputes a user's figures and score from the state (after an
// approval, or a verification).
func (e *Engine) rescore(email string) (userTotals, error) {
	t, err := e.totals(email)
	if err != nil {
		return t, err
	}
	_, err = e.store.UpdateUser(email, func(u *state.User) error {
		if u.LastSuccessfulSyncTime.IsZero() {
			return nil // never synced: no score yet
		}
		t.apply(u)
		return nil
	})
	return t, err
}

// Difference is one disagreement between the source and the target found by
// VerifyUser.
type Difference struct {
	Folder    string `json:"Folder"`
	UID       uint32 `json:"Uid,omitempty"`
	SourceKey string `json:"SourceKey"`
	Subject   string `json:"Subject,omitempty"`
	// Kind is MissingInTarget (in scope on the source, not in the target,
	// no recorded reason), DuplicateInTarget, or FolderMissingInTarget.
	Kind string `json:"Kind"`
}

// Verification is the outcome of VerifyUser.
type Verification struct {
	EmailAddress         string       `json:"EmailAddress"`
	SourceCount          int64        `json:"SourceCount"`
	TargetCount          int64        `json:"TargetCount"`
	SkippedCount         int64        `json:"SkippedItemCount"`
	DataConsistencyScore string       `json:"DataConsistencyScore"`
	Verdict              string       `json:"Verdict"`
	Differences          []Difference `json:"Differences"`
}

// VerifyUser compares a synced user's source and target directly, folder by
// folder, by source key: every message in scope must be in the target or
// recorded as skipped. The score it finds is stored on the user.
func (e *Engine) VerifyUser(ctx context.Context, email string) (*Verification, error) {
	u, err := e.store.User(email)
	if err != nil {
		return nil, err
	}
	b, err := e.store.Batch(u.Batch)
	if err != nil {
		return nil, err
	}
	eps, err := e.store.Endpoints()
	if err != nil {
		return nil, err
	}
	var ep state.Endpoint
	for _, x := range eps {
		if x.Name == b.Endpoint {
			ep = x
		}
	}
	src, mbx, err := e.open(ctx, u, b, ep, e.log.With("user", email, "op", "verify"))
	if err != nil {
		return nil, err
	}
	defer src.Close()
	folders, err := src.Folders(ctx)
	if err != nil {
		return nil, err
	}
	plans, _ := mapFolders(folders, b.Options)
	saved, skipped, err := e.savedFolders(email)
	if err != nil {
		return nil, err
	}
	skippedKeys := map[string]bool{}
	for _, it := range skipped {
		skippedKeys[it.Folder+"|"+it.SourceKey] = true
	}
	v := &Verification{EmailAddress: u.EmailAddress, SkippedCount: int64(len(skipped)), Differences: []Difference{}}
	for _, pl := range plans {
		if pl.Src.NoSelect {
			continue
		}
		if err := verifyFolder(ctx, src, mbx, pl, saved, b.Options.ReceivedAfter, skippedKeys, v); err != nil {
			return nil, err
		}
	}
	t, err := e.totals(email)
	if err != nil {
		return nil, err
	}
	missing := int64(0)
	for _, d := range v.Differences {
		if d.Kind == "MissingInTarget" {
			missing++
		}
	}
	switch {
	case missing > 0:
		t.score = ScorePoor
		v.Verdict = fmt.Sprintf("Poor: %d of %d messages in scope are missing from the target without a recorded reason", missing, v.SourceCount)
	default:
		t.score = scoreOf(t.inScope, t.items, t.skipped, t.unapproved)
		if t.score == ScorePoor { // the state disagrees but the target is complete
			t.score = scoreOf(0, 0, t.skipped, t.unapproved)
		}
		v.Verdict = fmt.Sprintf("%s: all %d messages in scope are in the target or recorded as skipped (%d skipped)", t.score, v.SourceCount, t.skipped)
	}
	v.DataConsistencyScore = t.score
	if _, err := e.store.UpdateUser(email, func(u *state.User) error { u.DataConsistencyScore = t.score; return nil }); err != nil {
		return nil, err
	}
	return v, nil
}

// verifyFolder compares one source folder with its target folder by source
// key and adds the counts and differences to v.
func verifyFolder(ctx context.Context, src Source, mbx Mailbox, pl folderPlan, saved map[string]state.FolderState, after time.Time, skippedKeys map[string]bool, v *Verification) error {
	ordinals := map[string]int{}
	var metas []MessageMeta
	if err := src.Metas(ctx, pl.Src, 1, 0, func(m MessageMeta) error {
		ordinals[m.HeaderHash]++
		m.SourceKey = SourceKey(m.HeaderHash, ordinals[m.HeaderHash])
		if after.IsZero() || !ReceivedTime(m).Before(after) {
			metas = append(metas, m)
		}
		return nil
	}); err != nil {
		return err
	}
	v.SourceCount += int64(len(metas))
	inTarget := map[string]int{}
	if fs, ok := saved[pl.Src.Name]; ok && fs.TargetID != "" {
		if err := mbx.Keys(ctx, fs.TargetID, func(k KeyedItem) error { inTarget[k.SourceKey]++; return nil }); err != nil {
			return err
		}
	} else if len(metas) > 0 {
		v.Differences = append(v.Differences, Difference{Folder: pl.Display, Kind: "FolderMissingInTarget"})
	}
	for k, n := range inTarget {
		v.TargetCount += int64(n)
		if n > 1 {
			v.Differences = append(v.Differences, Difference{Folder: pl.Display, SourceKey: k, Kind: "DuplicateInTarget"})
		}
	}
	for _, m := range metas {
		if inTarget[m.SourceKey] > 0 || skippedKeys[pl.Display+"|"+m.SourceKey] {
			continue
		}
		v.Differences = append(v.Differences, Difference{Folder: pl.Display, UID: m.UID, SourceKey: m.SourceKey, Subject: m.Subject, Kind: "MissingInTarget"})
	}
	return nil
}
