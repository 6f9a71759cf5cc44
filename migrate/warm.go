package migrate

import (
	"context"

	"github.com/imapmig/imapmig/state"
)

// startWarm makes, on a user's first pass (no folder state at all), the
// target folders of the source folders that hold messages, in plan order,
// while the pass reads the folders' metadata: making a folder is a lookup
// and a create on Graph, one folder after another per mailbox, and on a
// mailbox of many small folders the creates would otherwise wait for
// them (docs/BENCHMARKS.md, the mbsync section). Only the user's first
// pass: later a new source folder may be a renamed one, whose target
// folder is renamed rather than made. An error ends the warming; the
// folder's own preparation tries again and reports it. stopWarm ends it.
func (p *pass) startWarm(ctx context.Context, plans []folderPlan, saved map[string]state.FolderState) {
	if len(saved) > 0 {
		return
	}
	var todo []folderPlan
	for _, pl := range plans {
		if !pl.Src.NoSelect && pl.Src.Messages > 0 {
			todo = append(todo, pl)
		}
	}
	if len(todo) == 0 {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, pl := range todo {
			if ctx.Err() != nil {
				return
			}
			if _, err := p.planFolderID(ctx, pl, false); err != nil {
				return
			}
		}
	}()
	p.warmStop = func() { cancel(); <-done }
}

// stopWarm ends startWarm's work and waits for it.
func (p *pass) stopWarm() {
	if p.warmStop != nil {
		p.warmStop()
	}
}
