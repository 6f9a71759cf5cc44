package migrate

import (
	"cmp"
)

// bodyBatch is how many bodies one command fetches at most: the creates
// under way of a pass (createDepth), so a batch never waits for a slot.
const bodyBatch = createDepth

// reservedCreate is a create action with its slot and spool room held.
type reservedCreate struct {
	m      newMsg
	weight int64
	handed bool // its body was delivered and its create started
}

// createRun hands over the create actions at the head of acts (acts[0] is
// one) and returns how many it handled. The first waits for a slot and its
// spool room; the creates right after it join it while a slot and room are
// free at once, up to bodyBatch. When the source is a BodyBatcher their
// bodies come in one command, each create starting as its body arrives:
// one round trip for the run instead of one per message, so on a mailbox
// of small messages the IMAP side keeps up with the Graph slots. Bodies
// the command did not deliver are fetched one by one (Fetch says why one
// is missing: expunged, unreadable, or the connection). Within a run the
// creates start in the order the bodies arrive (ascending UID), not in
// plan order; runs stay in plan order.
func (fc *folderCreates) createRun(acts []action) (int, error) {
	p, ctx, fctx, up, s, c := fc.p, fc.ctx, fc.fctx, fc.up, fc.s, fc.c
	if err := up.slots.Acquire(fctx, 1); err != nil {
		return 1, cmp.Or(ctx.Err(), err)
	}
	w := spoolWeight(acts[0].msg)
	if err := up.budget.Acquire(fctx, w); err != nil {
		up.slots.Release(1)
		return 1, cmp.Or(ctx.Err(), err)
	}
	run := []reservedCreate{{m: acts[0].msg, weight: w}}
	bb, batching := p.src.(BodyBatcher)
	for batching && len(run) < bodyBatch && len(run) < len(acts) && acts[len(run)].op == opCreate {
		m := acts[len(run)].msg
		w := spoolWeight(m)
		if !up.slots.TryAcquire(1) {
			break
		}
		if !up.budget.TryAcquire(w) {
			up.slots.Release(1)
			break
		}
		run = append(run, reservedCreate{m: m, weight: w})
	}
	var stopErr error
	if len(run) > 1 {
		at := make(map[uint32]int, len(run))
		uids := make([]uint32, len(run))
		for i, r := range run {
			at[r.m.UID], uids[i] = i, r.m.UID
		}
		err := bb.FetchBodies(ctx, s.plan.Src, uids, func(uid uint32, body Body) error {
			i, ok := at[uid]
			if !ok || run[i].handed {
				body.Close()
				return nil
			}
			run[i].handed = true
			fc.spawn(run[i].m, body, run[i].weight)
			return nil
		})
		if err != nil && ctx.Err() != nil {
			stopErr = ctx.Err()
		}
	}
	for i := range run {
		r := &run[i]
		if r.handed {
			continue
		}
		if stopErr == nil {
			if err := c.failed(); err != nil {
				stopErr = err
			} else if err := fctx.Err(); err != nil {
				stopErr = cmp.Or(ctx.Err(), err)
			}
		}
		var body Body
		if stopErr == nil {
			body, stopErr = p.fetchBody(ctx, s, c, r.m)
		}
		if body == nil {
			up.slots.Release(1)
			up.budget.Release(r.weight)
			continue
		}
		r.handed = true
		fc.spawn(r.m, body, r.weight)
	}
	return len(run), stopErr
}
