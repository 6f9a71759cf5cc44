package graphdst

import "time"

// Observer is told what the mailboxes' governors do, for the daemon's
// metrics (package metrics implements it). Calls come from many requests
// at once and must not block. Config.Observer; nil is none.
type Observer interface {
	// Throttled: Graph answered 429 (to a request or inside a $batch) and
	// the mailbox is fenced until Retry-After.
	Throttled()
	// Waited: a request waited d for the mailbox's budget (concurrency,
	// request and upload windows, a 429 fence) before it was sent.
	Waited(d time.Duration)
}
