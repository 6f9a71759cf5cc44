package imapsrc

import (
	"errors"
	"fmt"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/imapmig/imapmig/migrate"
)

// statusWindow is how many STATUS commands Folders keeps in flight. A user
// with a thousand folders costs one round trip per statusWindow folders,
// not one per folder, and the server never has more than this many
// answers queued (docs/BENCHMARKS.md, "Fourth round: the listing").
var statusWindow = 64

// errNoStatusData: the server ended a STATUS with OK but sent no STATUS
// answer that names the folder asked about.
var errNoStatusData = errors.New("no STATUS data for the folder")

// statuses fills in the status of every selectable folder of fs that has
// none yet (LIST-STATUS gives one to most), with up to
// statusWindow STATUS commands in flight. inbox, when not nil, is the
// STATUS already sent for "INBOX"; its answer is used for the folder of
// that name. go-imap attributes an untagged STATUS to the pending STATUS
// command of the same (decoded) name, so a name is never asked about twice
// at once. A folder the server refuses STATUS for (a \Noselect it did not
// mark, one deleted since the LIST) is treated as not selectable for this
// pass, as is one whose OK came without data.
func (s *source) statuses(c *imapclient.Client, fs []migrate.Folder, inbox *imapclient.StatusCommand) error {
	answers := make(map[string]*imap.StatusData, len(fs))
	refused := map[string]error{}
	wait := func(name string, cmd *imapclient.StatusCommand) error {
		st, err := cmd.Wait()
		var ie *imap.Error
		switch {
		case errors.As(err, &ie) && ie.Type != imap.StatusResponseTypeBye:
			refused[name] = ie
		case err != nil:
			return fmt.Errorf("IMAP STATUS %q: %w", name, err)
		case st.Mailbox != name:
			refused[name] = errNoStatusData
		default:
			answers[name] = st
		}
		return nil
	}
	type pending struct {
		name string
		cmd  *imapclient.StatusCommand
	}
	asked := map[string]bool{}
	var queue []pending
	if inbox != nil {
		asked["INBOX"] = true
		queue = append(queue, pending{"INBOX", inbox})
	}
	for _, f := range fs {
		if f.NoSelect || f.UIDValidity != 0 || asked[f.Name] {
			continue
		}
		asked[f.Name] = true
		if len(queue) >= statusWindow {
			if err := wait(queue[0].name, queue[0].cmd); err != nil {
				return err
			}
			queue = queue[1:]
		}
		queue = append(queue, pending{f.Name, c.Status(f.Name, s.statusOptions())})
	}
	for _, p := range queue {
		if err := wait(p.name, p.cmd); err != nil {
			return err
		}
	}
	for i := range fs {
		f := &fs[i]
		if f.NoSelect || (f.UIDValidity != 0 && !asked[f.Name]) {
			continue
		}
		if st, ok := answers[f.Name]; ok {
			applyStatus(f, st)
			continue
		}
		why := refused[f.Name]
		var ie *imap.Error
		text := fmt.Sprint(why)
		if errors.As(why, &ie) {
			text = ie.Text
		}
		s.log.Info("IMAP STATUS refused; folder skipped this pass", "folder", f.Name, "response", text)
		f.NoSelect = true
	}
	return nil
}
