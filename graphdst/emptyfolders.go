package graphdst

// A folder this Mailbox has just created holds no items, so the first
// pass over a new mailbox need not list what its new folders hold: the
// key listing (Keys), the sweep of incomplete items (SweepPending) and a
// key lookup (LookupKey) are answered without a request until something
// may have been written into the folder. That saves two or three GETs per
// folder of a first copy (their latency and their share of the mailbox's
// request budget).
//
// A folder counts as empty from its create's 201 until the first request
// that may put an item there (a message create, a move into it) is about
// to be sent: the mark is dropped before sending, so a create whose
// outcome is unknown is resolved by a real lookup. A Mailbox lives for
// one pass and only one pass per mailbox runs at a time, so nothing else
// of ours writes into the folder meanwhile; items someone else puts there
// carry no source key and are not what these calls report.

// markEmpty records a folder this Mailbox created.
func (m *Mailbox) markEmpty(id string) {
	m.emu.Lock()
	if m.empty == nil {
		m.empty = map[string]bool{}
	}
	m.empty[id] = true
	m.emu.Unlock()
}

// filling drops the mark before a request that may put an item into id.
func (m *Mailbox) filling(id string) {
	m.emu.Lock()
	delete(m.empty, id)
	m.emu.Unlock()
}

// knownEmpty says that id was created by this Mailbox and nothing has
// been written into it since.
func (m *Mailbox) knownEmpty(id string) bool {
	m.emu.Lock()
	defer m.emu.Unlock()
	return m.empty[id]
}
