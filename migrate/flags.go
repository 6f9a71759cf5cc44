package migrate

import (
	"slices"
	"strings"

	"github.com/imapmig/imapmig/state"
)

// thunderbirdLabels are Thunderbird's default tag keywords and the names
// users see for them.
var thunderbirdLabels = map[string]string{
	"$label1": "Important", "$label2": "Work", "$label3": "Personal", "$label4": "To Do", "$label5": "Later",
}

// noiseKeywords are keywords that are client bookkeeping, not tags a user
// set: they do not become categories (imapsync users complain about
// $MDNSent showing up in Outlook).
func noiseKeyword(k string) bool {
	switch strings.ToLower(k) {
	case "junk", "nonjunk", "notjunk", "$junk", "$notjunk", "$nonjunk", "$mdnsent", "$forwarded", "$submitpending",
		"$submitted", "$phishing", "$hasattachment", "$hasnoattachment", "$isforwarded", "$ismailinglist", "$recent":
		return true
	}
	return false
}

// flagsFromIMAP converts IMAP flags and keywords to the target's flags.
func flagsFromIMAP(in []string) Flags {
	var f Flags
	for _, fl := range in {
		switch strings.ToLower(fl) {
		case `\seen`:
			f.Seen = true
		case `\flagged`:
			f.Flagged = true
		case `\answered`:
			f.Answered = true
		case `\draft`, `\deleted`, `\recent`:
		default:
			if strings.HasPrefix(fl, `\`) || noiseKeyword(fl) {
				continue
			}
			name := fl
			if l, ok := thunderbirdLabels[strings.ToLower(fl)]; ok {
				name = l
			}
			if !slices.Contains(f.Categories, name) {
				f.Categories = append(f.Categories, name)
			}
		}
	}
	slices.Sort(f.Categories)
	return f
}

// flagBits packs the system flags for the state file.
func flagBits(f Flags) uint8 {
	var b uint8
	if f.Seen {
		b |= state.FlagSeen
	}
	if f.Flagged {
		b |= state.FlagFlagged
	}
	if f.Answered {
		b |= state.FlagAnswered
	}
	return b
}

// recordFlags unpacks a state record's flags.
func recordFlags(r state.MessageRecord) Flags {
	return Flags{
		Seen: r.Flags&state.FlagSeen != 0, Flagged: r.Flags&state.FlagFlagged != 0, Answered: r.Flags&state.FlagAnswered != 0,
		Categories: r.Keywords,
	}
}

// sameFlags reports whether two flag sets would look the same in the target.
func sameFlags(a, b Flags) bool {
	return a.Seen == b.Seen && a.Flagged == b.Flagged && a.Answered == b.Answered && slices.Equal(a.Categories, b.Categories)
}
