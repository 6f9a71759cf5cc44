package migrate

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/imapmig/imapmig/state"
)

const (
	// uploadDepth is how many requests one mailbox has in flight at most
	// (Exchange Online allows 4 per app and mailbox; the Target's governor
	// enforces it).
	uploadDepth = 4
	// createDepth is how many creates of a pass are under way at once:
	// body fetched, converted, waiting for one of the target's slots or in
	// flight. Twice uploadDepth, so that a create is ready to go out the
	// moment a slot frees (docs/ARCHITECTURE.md, "Keeping the Graph slots
	// busy").
	createDepth = 2 * uploadDepth
	// spoolBudget bounds the bytes of fetched bodies waiting for or in
	// their create, over all folders of a pass.
	spoolBudget = int64(64 << 20)
)

// uploads is a pass's create pipeline, shared by its folders so that one
// folder's last creates overlap the next folder's first: at most
// createDepth creates under way, holding at most spoolBudget bytes.
type uploads struct {
	slots  *semaphore.Weighted
	budget *semaphore.Weighted
}

func newUploads() *uploads {
	return &uploads{slots: semaphore.NewWeighted(createDepth), budget: semaphore.NewWeighted(spoolBudget)}
}

// folderCreates is one folder's creates once handed over: finish waits for
// them and says whether every one of them is done.
type folderCreates struct {
	p        *pass
	ctx      context.Context // the pass's: bodies are fetched with it
	fctx     context.Context // ends with the pass, a failure elsewhere or here
	upCtx    context.Context // the creates': survives a stop (see beginCreates)
	up       *uploads
	s        *folderScan
	folderID string
	c        *committer
	g        *errgroup.Group
	end      func() // releases the folder's upload context
	// err is why the hand-over ended before the folder's last action
	// (a stop, a failure elsewhere in the pass, a failed fetch); nil when
	// every action was handed over.
	err error
}

// startCreates applies a folder's create, adopt and skip actions in order:
// bodies are fetched one at a time from IMAP into the spool and each create
// is handed to a goroutine (the pass's uploads bound them); adopts and
// skips are recorded at once. It returns when the folder's last action has
// been handed over, or earlier (fc.err) when gctx ends (the pass is stopped
// or another folder failed) or a fetch fails; the creates may still be
// running: finishCreates waits for them.
func (p *pass) startCreates(ctx, gctx context.Context, up *uploads, s *folderScan, folderID string, acts []action) *folderCreates {
	fc := p.beginCreates(ctx, gctx, up, s, folderID)
	_ = fc.hand(acts)
	return fc
}

// beginCreates opens a folder's creates; hand gives them their actions,
// in one go (startCreates) or chunk by chunk (a streamed folder).
func (p *pass) beginCreates(ctx, gctx context.Context, up *uploads, s *folderScan, folderID string) *folderCreates {
	// In-flight creates finish even when the pass is stopped, so a stop
	// lands on a message boundary; their waits for the target's budget
	// end with the pass (WithStop), so a stop does not wait for Graph's
	// windows.
	upCtx, upCancel := context.WithCancel(WithStop(context.WithoutCancel(ctx), ctx))
	// At shutdown they get a grace period, then they are cut (shutdown.go).
	stopAbort := context.AfterFunc(p.e.abortCtx(), upCancel)
	// fctx ends with the pass, a failure elsewhere in the pass or the
	// first failed create of this folder: no new work starts after any.
	g, fctx := errgroup.WithContext(gctx)
	return &folderCreates{p: p, ctx: ctx, fctx: fctx, upCtx: upCtx, up: up, s: s, folderID: folderID,
		c: p.newCommitter(s), g: g, end: func() { stopAbort(); upCancel() }}
}

// abort ends the hand-over early for err (never nil): the folder is not
// done and must not be finished.
func (fc *folderCreates) abort(err error) {
	if fc.err == nil {
		fc.err = err
	}
}

// hand hands over actions in order (see startCreates). After the first
// error it hands over nothing more and returns that error, also kept in
// fc.err.
func (fc *folderCreates) hand(acts []action) error {
	p, ctx, fctx, s, c := fc.p, fc.ctx, fc.fctx, fc.s, fc.c
	if fc.err != nil {
		return fc.err
	}
	var stopErr error
	for i := 0; i < len(acts); i++ {
		a := acts[i]
		if err := c.failed(); err != nil {
			stopErr = err
			break
		}
		if err := fctx.Err(); err != nil {
			// Never nil here: the folder is not done, so it must not be
			// finished (a create's own failure is also in g.Wait).
			stopErr = cmp.Or(ctx.Err(), err)
			break
		}
		m := a.msg
		switch a.op {
		case opSkip:
			stopErr = p.skipNew(s, c, a)
		case opAdopt:
			stopErr = c.record(m, a.itemID, nil)
			if !a.prior {
				p.prog.matched(m.Size)
			}
		case opCreate:
			var n int
			n, stopErr = fc.createRun(acts[i:])
			i += n - 1
		}
		if stopErr != nil {
			break
		}
	}
	if stopErr != nil {
		fc.abort(stopErr)
	}
	return stopErr
}

// spawn starts the create of m with its fetched body; the create holds
// one of the pass's slots and weight bytes of its spool room, and gives
// them back when it ends.
func (fc *folderCreates) spawn(m newMsg, body Body, weight int64) {
	p, ctx, up := fc.p, fc.ctx, fc.up
	fc.g.Go(func() error {
		defer up.slots.Release(1)
		defer up.budget.Release(weight)
		defer body.Close()
		if err := ctx.Err(); err != nil {
			// Stopped while this create waited for its turn: the
			// message is not in the target, so the folder must not
			// be finished (it may be the folder's last action, and
			// the next pass reads only UIDs above the saved UIDNEXT).
			return err
		}
		return p.create(fc.upCtx, fc.s, fc.c, fc.folderID, m, body)
	})
}

// finishCreates waits for a folder's creates, writes what the committer
// holds and returns nil only when every create action of the folder is
// done: then, and only then, may the folder be finished.
func (p *pass) finishCreates(fc *folderCreates) error {
	defer fc.end()
	werr := fc.g.Wait()
	if err := fc.c.close(); err != nil {
		return err
	}
	return cmp.Or(werr, fc.c.failed(), fc.err)
}

// finishCreatesHolding is finishCreates for a folder that is to be
// finished: when every create is done, the records still queued are
// returned, not written, for finishFolder to write with the folder's
// state. When not, what is queued is written, as finishCreates does.
func (p *pass) finishCreatesHolding(fc *folderCreates) ([]state.MessageRecord, error) {
	defer fc.end()
	werr := fc.g.Wait()
	if err := cmp.Or(werr, fc.c.failed(), fc.err); err != nil {
		if cerr := fc.c.close(); cerr != nil {
			return nil, cerr
		}
		return nil, err
	}
	recs := fc.c.take()
	if err := fc.c.addNotes(); err != nil {
		return nil, cmp.Or(p.putRecords(fc.s, recs), err)
	}
	return recs, nil
}

// putRecords writes records taken from a committer (finishCreatesHolding)
// when the folder is not finished after all.
func (p *pass) putRecords(s *folderScan, recs []state.MessageRecord) error {
	if err := p.e.store.PutMessages(p.email, s.plan.Src.Name, recs); err != nil {
		return Fatal(err)
	}
	return nil
}

// spoolWeight is the spool room a message's body is counted for.
func spoolWeight(m newMsg) int64 { return min(max(m.Size, 1), spoolBudget) }

// fetchBody fetches one message's body with Fetch (its spool room is
// already reserved). A nil body with a nil error means the message needs
// no create: expunged since the scan (out of scope now) or unreadable
// (skipped).
func (p *pass) fetchBody(ctx context.Context, s *folderScan, c *committer, m newMsg) (Body, error) {
	body, err := retry(ctx, p, func() (Body, error) { return p.src.Fetch(ctx, s.plan.Src, m.UID) })
	if err == nil {
		return body, nil
	}
	switch {
	case errors.Is(err, ErrMessageGone):
		// Expunged since the scan: not in scope any more.
		s.inScope--
		s.inBytes -= m.Size
		return nil, nil
	case KindOf(err) == KindSkipItem:
		return nil, p.skipped(s, c, m, cmp.Or(ReasonOf(err), ReasonMalformedMessage), err.Error())
	}
	return nil, err
}

// create copies one message into the target folder and hands the outcome
// to the committer; it returns an error only when the pass must stop.
func (p *pass) create(ctx context.Context, s *folderScan, c *committer, folderID string, m newMsg, body Body) error {
	nm := NewMessage{Meta: m.MessageMeta, Body: body, Draft: s.plan.Draft, Flags: flagsFromIMAP(m.Flags)}
	var itemID string
	var notes []string
	var err error
	if noter, ok := p.mbx.(NotingCreator); ok {
		itemID, notes, err = noter.CreateNoted(ctx, folderID, nm)
	} else {
		itemID, err = p.mbx.Create(ctx, folderID, nm)
	}
	switch {
	case err == nil:
		if err := c.record(m, itemID, notes); err != nil {
			return err
		}
		p.prog.copied(m.Size)
		p.e.observe().ItemCopied(m.Size)
		return nil
	case KindOf(err) == KindSkipItem:
		return p.skipped(s, c, m, cmp.Or(ReasonOf(err), ReasonMalformedMessage), err.Error())
	}
	return fmt.Errorf("folder %s, UID %d: %w", s.plan.Display, m.UID, err)
}

// skipNew applies a skip action: an out-of-scope message is only
// recorded; the others are reported as skipped items too.
func (p *pass) skipNew(s *folderScan, c *committer, a action) error {
	if a.outOfScope {
		return c.record(a.msg, "", nil)
	}
	return p.skipped(s, c, a.msg, a.reason, a.detail)
}

// skipped reports a message as a skipped item and records it as handled.
func (p *pass) skipped(s *folderScan, c *committer, m newMsg, reason, msg string) error {
	added, err := p.e.store.AddSkipped(p.email, state.SkippedItem{
		Folder: s.plan.Display, UID: m.UID, SourceKey: m.SourceKey, Date: ReceivedTime(m.MessageMeta), Subject: m.Subject,
		Size: m.Size, Reason: reason, Message: msg,
	})
	if err != nil {
		p.log.Error("record skipped item", "folder", s.plan.Display, "uid", m.UID, "err", err)
	} else if added {
		p.e.observe().ItemSkipped(reason)
		p.log.Info("message skipped", "folder", s.plan.Display, "uid", m.UID, "reason", reason, "size", m.Size)
	}
	return c.record(m, "", nil)
}
