package imapsrc

import (
	"context"
	"errors"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/imapmig/imapmig/migrate"
)

var _ migrate.BodyBatcher = (*source)(nil)

// FetchBodies implements migrate.BodyBatcher: one UID FETCH BODY.PEEK[] of
// the set, each body spooled as it arrives (Dovecot answers a set in
// ascending UID order). After a lost connection it asks again for the
// UIDs not yet delivered. A callback error stops the deliveries (the rest
// of the command's bodies are read and dropped) and is returned.
func (s *source) FetchBodies(ctx context.Context, folder migrate.Folder, uids []uint32, fn func(uint32, migrate.Body) error) error {
	want := make(map[uint32]bool, len(uids))
	for _, u := range uids {
		want[u] = true
	}
	var fnErr error
	err := s.do(ctx, "UID FETCH bodies", func(ctx context.Context, c *imapclient.Client) error {
		if fnErr != nil {
			return nil // lost after the callback failed: nothing more to deliver
		}
		if _, err := s.selectFolder(c, folder, false); err != nil {
			return err
		}
		var set imap.UIDSet
		for _, u := range uids {
			if want[u] {
				set.AddNum(imap.UID(u))
			}
		}
		if len(set) == 0 {
			return nil
		}
		fc := c.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{bodySection}})
		var spoolErr error
		for m := fc.Next(); m != nil; m = fc.Next() {
			uid, body, err := s.readBody(m)
			s.progress()
			if err != nil {
				spoolErr = err
				continue // the rest of the command is read, not spooled
			}
			if body == nil {
				continue
			}
			if spoolErr != nil || fnErr != nil || !want[uid] {
				body.Close()
				continue
			}
			delete(want, uid)
			if err := fn(uid, body); err != nil {
				fnErr = err
			}
		}
		err := fc.Close()
		if spoolErr != nil {
			err = errors.Join(spoolErr, err)
		}
		return err
	})
	if fnErr != nil {
		return fnErr
	}
	return err
}

// readBody reads one message of a body FETCH: its UID and its spooled
// body (nil when the response has none, an unsolicited FETCH).
func (s *source) readBody(m *imapclient.FetchMessageData) (uint32, *spoolBody, error) {
	var uid uint32
	var body *spoolBody
	var spoolErr error
	for item := m.Next(); item != nil; item = m.Next() {
		switch it := item.(type) {
		case imapclient.FetchItemDataUID:
			uid = uint32(it.UID)
		case imapclient.FetchItemDataBodySection:
			if it.Literal == nil || body != nil || spoolErr != nil {
				continue
			}
			body, spoolErr = s.conn.spool(it.Literal)
		}
	}
	if spoolErr != nil {
		if body != nil {
			body.Close()
		}
		return 0, nil, spoolErr
	}
	if body != nil && uid == 0 {
		body.Close()
		return 0, nil, nil
	}
	return uid, body, nil
}
