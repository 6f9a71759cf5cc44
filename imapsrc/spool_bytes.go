package imapsrc

// Bytes returns the body when it is held in memory, nil when it is in a
// file or closed. The slice is the body itself, not a copy: the caller
// reads it, never writes it, and not after Close. graphdst uses it to
// convert a small message without copying it first.
func (b *spoolBody) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done || b.path != "" {
		return nil
	}
	return b.mem
}
