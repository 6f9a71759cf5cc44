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
	// uploadDepth is how many creates of a folder run at once.
	uploadDepth = 4
	// spoolBudget bounds the bytes of fetched bodies waiting for or in
	// their create.
	spoolBudget = int64(64 << 20)
)

// createAll applies a folder's create, adopt and skip actions in order:
// bodies are fetched one at a time from IMAP into the spool while up to
// uploadDepth creates run against the target (an errgroup with a limit;
// a weighted semaphore bounds the spooled bytes); the committer records
// every outcome.
func (p *pass) createAll(ctx context.Context, s *folderScan, folderID string, acts []action) error {
	budget := semaphore.NewWeighted(spoolBudget)
	// In-flight creates finish even when the pass is stopped, so a stop
	// lands on a message boundary; their waits for the target's budget
	// end with the pass (WithStop), so a stop does not wait for Graph's
	// windows.
	upCtx, upCancel := context.WithCancel(WithStop(context.WithoutCancel(ctx), ctx))
	defer upCancel()
	// At shutdown they get a grace period, then they are cut (shutdown.go).
	defer context.AfterFunc(p.e.abortCtx(), upCancel)()
	// gctx ends with the pass or the first failed create: no new work
	// starts after either.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(uploadDepth)
	c := p.newCommitter(s)

	var stopErr error
	for _, a := range acts {
		if err := c.failed(); err != nil {
			break
		}
		if gctx.Err() != nil {
			stopErr = ctx.Err() // nil when a create failed: g.Wait has it
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
			var body Body
			var weight int64
			body, weight, stopErr = p.fetchBody(ctx, s, c, budget, m)
			if stopErr != nil || body == nil {
				break
			}
			g.Go(func() error {
				defer budget.Release(weight)
				defer body.Close()
				if err := ctx.Err(); err != nil {
					// Stopped while this create waited for its turn: the
					// message is not in the target, so the folder must not
					// be finished (it may be the folder's last action, and
					// the next pass reads only UIDs above the saved UIDNEXT).
					return err
				}
				return p.create(upCtx, s, c, folderID, m, body)
			})
		}
		if stopErr != nil {
			break
		}
	}
	werr := g.Wait()
	if err := c.close(); err != nil {
		return err
	}
	return cmp.Or(werr, c.failed(), stopErr)
}

// fetchBody reserves spool room for a message and fetches its body. A nil
// body with a nil error means the message needs no create: expunged since
// the scan (out of scope now) or unreadable (skipped).
func (p *pass) fetchBody(ctx context.Context, s *folderScan, c *committer, budget *semaphore.Weighted, m newMsg) (Body, int64, error) {
	weight := min(max(m.Size, 1), spoolBudget)
	if err := budget.Acquire(ctx, weight); err != nil {
		return nil, 0, err
	}
	body, err := retry(ctx, p, func() (Body, error) { return p.src.Fetch(ctx, s.plan.Src, m.UID) })
	if err == nil {
		return body, weight, nil
	}
	budget.Release(weight)
	switch {
	case errors.Is(err, ErrMessageGone):
		// Expunged since the scan: not in scope any more.
		s.inScope--
		s.inBytes -= m.Size
		return nil, 0, nil
	case KindOf(err) == KindSkipItem:
		return nil, 0, p.skipped(s, c, m, cmp.Or(ReasonOf(err), ReasonMalformedMessage), err.Error())
	}
	return nil, 0, err
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
