package migrate

import (
	"context"

	"golang.org/x/sync/errgroup"
)

// prepareAhead is how many folders are prepared at once ahead of the one
// whose creates are being handed over. A prepared folder is marked dirty,
// so a stop leaves at most this many folders more to check against the
// target in the next pass.
const prepareAhead = 4

// applyFolders applies the changed folders in order as one pipeline, so
// that the mailbox's Graph slots stay busy across folder boundaries
// (docs/ARCHITECTURE.md, "Keeping the Graph slots busy"):
//
//   - prepare (target folder, dirty mark, the target's keys, the plan)
//     runs for up to prepareAhead folders at once, ahead of their creates:
//     it only talks to the target, one request after the other, so on a
//     mailbox of many small folders one preparer would fall behind;
//   - the creates are handed over here, folder after folder, in folder
//     order, because the IMAP connection reads one body at a time; they
//     share the pass's uploads (createDepth under way, spoolBudget bytes);
//   - each folder's completion (waiting for its creates, flags, deletes,
//     saving its state) runs in a goroutine of its own while the next
//     folder's creates start.
//
// A folder is saved as finished only by its completion, and only when all
// its creates are done. The first error ends the pipeline: no new folder
// is prepared or started, and the folders under way stop as a stopped
// pass would (their in-flight creates finish and are recorded).
func (p *pass) applyFolders(ctx context.Context, folders []*folderScan) error {
	if len(folders) == 0 {
		return nil
	}
	g, gctx := errgroup.WithContext(ctx)
	type prepared struct {
		pf  *preparedFolder
		err error
	}
	ready := make([]chan prepared, len(folders))
	for i := range ready {
		ready[i] = make(chan prepared, 1)
	}
	ahead := make(chan struct{}, prepareAhead) // a slot per folder prepared but not started
	g.Go(func() error {
		for i, s := range folders {
			select {
			case ahead <- struct{}{}:
			case <-gctx.Done():
				return nil
			}
			g.Go(func() error {
				pf, err := p.prepareFolder(gctx, s)
				ready[i] <- prepared{pf, err}
				return err
			})
		}
		return nil
	})
	up := newUploads()
	for i := range folders {
		var r prepared
		select {
		case r = <-ready[i]:
		case <-gctx.Done():
		}
		if r.pf == nil { // failed (g has the error) or the pass ended
			break
		}
		<-ahead
		fc := p.startCreates(ctx, gctx, up, r.pf.s, r.pf.id, r.pf.creates)
		g.Go(func() error { return p.completeFolder(gctx, r.pf, fc) })
		if fc.err != nil {
			break
		}
	}
	return g.Wait()
}
