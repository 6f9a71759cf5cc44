package migrate

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/imapmig/imapmig/state"
)

// A pass is one sync of one user: the initial copy or an incremental one.
// Both run the same steps (docs/ARCHITECTURE.md, "Plan, apply, commit"):
// scan every folder for what changed since the saved state (scan.go), plan
// the renames, moves, creates, flag updates and deletes on that data
// (plan.go), then apply them through the Target (apply.go), committing
// state as it goes (commit.go). A large first copy is read and copied
// chunk by chunk instead (stream.go).
type pass struct {
	e     *Engine
	user  state.User
	batch state.Batch
	src   Source
	mbx   Mailbox
	log   *slog.Logger
	prog  *progress
	email string

	fmu       sync.Mutex
	folderIDs map[string]string // source folder name → target folder id (under fmu)
	warmStop  func()            // ends startWarm's work (warm.go); nil when none
}

// run executes the pass.
func (p *pass) run(ctx context.Context) error {
	defer p.stopWarm()
	scans, stream, err := p.scanAll(ctx)
	if err != nil {
		return err
	}
	scans, err = p.applyRenames(ctx, scans, planRenames(scans))
	if err != nil {
		return err
	}
	pp := planPass(scans, p.e.opts.MaxMailboxItems)
	est := &streamEst{baseN: pp.estCount, baseB: pp.estBytes, left: stream.messages()}
	p.setEstimate(est.totals(nil))
	for _, m := range pp.moves {
		if err := p.applyMove(ctx, m); err != nil {
			return err
		}
	}
	if err := p.applyFolders(ctx, pp.folders); err != nil {
		return err
	}
	// A large first copy: its folders are read as they are copied.
	if err := p.streamFolders(ctx, stream, est); err != nil {
		return err
	}
	for _, s := range pp.gone {
		if err := p.forgetFolder(s); err != nil {
			return err
		}
	}
	return nil
}

// forgetFolder drops the state of a folder gone from the source; its
// messages not moved elsewhere stay in the target.
func (p *pass) forgetFolder(s *folderScan) error {
	if err := p.e.store.DeleteFolder(p.email, s.plan.Src.Name); err != nil {
		return Fatal(err)
	}
	left := 0
	for _, r := range s.vanished {
		if r.ItemID != "" {
			left++
		}
	}
	p.e.event(p.user.Batch, p.email, "warn", fmt.Sprintf("folder %q is gone from the source; %d of its messages stay in the target", s.plan.Display, left))
	return nil
}

// applyRenames carries out the planned folder renames: when the target can
// rename folders, the target folder is renamed and the folder's state moves
// to the new name (and is scanned again under it), so nothing is copied or
// moved message by message. The renamed folders' old scans are dropped.
func (p *pass) applyRenames(ctx context.Context, scans []*folderScan, matches []renameMatch) ([]*folderScan, error) {
	renamer, ok := p.mbx.(FolderRenamer)
	if !ok || len(matches) == 0 {
		return scans, nil
	}
	drop := map[*folderScan]bool{}
	used := map[*folderScan]bool{}
	for _, mt := range matches {
		g := mt.gone
		for _, f := range mt.fresh {
			if used[f] {
				continue
			}
			if err := renamer.RenameFolder(ctx, g.saved.TargetID, f.plan.Target); err != nil {
				if KindOf(err) != KindSkipItem {
					return nil, err
				}
				p.log.Info("folder renamed on the source, but not renamable in the target; its messages are moved", "from", g.plan.Display, "to", f.plan.Display, "err", err)
				continue
			}
			fs := g.saved
			fs.Name, fs.Path = f.plan.Src.Name, f.plan.Src.Path
			if err := p.e.store.RenameFolder(p.email, g.plan.Src.Name, fs); err != nil {
				return nil, Fatal(err)
			}
			again, err := p.scan(ctx, f.plan, map[string]state.FolderState{fs.Name: fs})
			if err != nil {
				return nil, err
			}
			*f = *again
			p.fmu.Lock()
			p.folderIDs[fs.Name] = fs.TargetID
			p.fmu.Unlock()
			drop[g] = true
			used[f] = true
			p.e.event(p.user.Batch, p.email, "info", fmt.Sprintf("folder %q was renamed on the source to %q; renamed in the target too", g.plan.Display, f.plan.Display))
			break
		}
	}
	out := scans[:0]
	for _, s := range scans {
		if !drop[s] {
			out = append(out, s)
		}
	}
	return out, nil
}
