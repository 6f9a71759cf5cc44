package imapwire

import (
	"slices"
	"strings"
)

// Feature keys in Counts, besides command names and "ENABLE <cap>".
const (
	// FeatureCondStore: any use of CONDSTORE (ENABLE, SELECT (CONDSTORE),
	// STATUS HIGHESTMODSEQ, FETCH MODSEQ/CHANGEDSINCE, SEARCH MODSEQ,
	// STORE UNCHANGEDSINCE).
	FeatureCondStore = "CONDSTORE"
	// FeatureChangedSince: a FETCH with CHANGEDSINCE (flag changes by
	// mod-sequence).
	FeatureChangedSince = "FETCH CHANGEDSINCE"
	// FeatureFlagsScan: a FETCH of FLAGS without CHANGEDSINCE (the flags of
	// a range, compared with state by the client).
	FeatureFlagsScan = "FETCH FLAGS scan"
	// FeatureQResync: ENABLE QRESYNC, SELECT (QRESYNC) or FETCH VANISHED.
	FeatureQResync = "QRESYNC"
	// FeatureESearch: SEARCH RETURN (…).
	FeatureESearch = "ESEARCH"
	// FeatureListStatus: LIST … RETURN (STATUS …).
	FeatureListStatus = "LIST-STATUS"
	// FeatureSpecialUse: LIST with the SPECIAL-USE selection or return
	// option.
	FeatureSpecialUse = "SPECIAL-USE"
	// FeatureMove: MOVE or UID MOVE.
	FeatureMove = "MOVE"
	// FeatureUIDExpunge: UID EXPUNGE (UIDPLUS).
	FeatureUIDExpunge = "UID EXPUNGE"
)

// tokens splits a command line into upper-case atoms, "(" and ")";
// quoted strings become `""` (their contents are never looked at).
func tokens(line string) []string {
	line = strings.TrimRight(line, "\r\n")
	if m := literalRE.FindStringIndex(line + "\n"); m != nil {
		line = line[:m[0]]
	}
	var out []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, strings.ToUpper(cur.String()))
			cur.Reset()
		}
	}
	for i := 0; i < len(line); i++ {
		switch ch := line[i]; ch {
		case ' ':
			flush()
		case '(', ')':
			flush()
			out = append(out, string(ch))
		case '"':
			flush()
			for i++; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' {
					i++
				}
			}
			out = append(out, `""`)
		case '[':
			// A section spec (BODY.PEEK[HEADER.FIELDS (…)]) stays one atom.
			depth := 0
			for ; i < len(line); i++ {
				cur.WriteByte(line[i])
				if line[i] == '[' {
					depth++
				} else if line[i] == ']' {
					depth--
					if depth == 0 {
						break
					}
				}
			}
		default:
			cur.WriteByte(ch)
		}
	}
	flush()
	return out
}

// has says whether any of words is among the tokens ts.
func has(ts []string, words ...string) bool {
	return slices.ContainsFunc(ts, func(t string) bool { return slices.Contains(words, t) })
}

// after returns the tokens after the first "(" … ")" group that follows
// the keyword kw, or nil.
func group(ts []string, kw string) []string {
	for i, t := range ts {
		if t == kw && i+1 < len(ts) && ts[i+1] == "(" {
			for j := i + 2; j < len(ts); j++ {
				if ts[j] == ")" {
					return ts[i+2 : j]
				}
			}
			return ts[i+2:]
		}
	}
	return nil
}

// inspect names the command of line, the features it uses and, when it
// needs a capability the server did not advertise, why it is refused.
func (c *conn) inspect(line string) (tag, cmd string, features []string, reason string) {
	ts := tokens(line)
	if len(ts) < 2 {
		return "", "", nil, "" // a continuation (SASL, DONE)
	}
	tag, cmd = strings.Fields(line)[0], ts[1] // the tag as sent: tags are case-sensitive
	args := ts[2:]
	if cmd == "UID" && len(args) > 0 {
		cmd, args = "UID "+args[0], args[1:]
	}
	c.mu.Lock()
	caps := c.caps
	if cmd == "LOGIN" || cmd == "AUTHENTICATE" {
		c.authed = true
	}
	c.mu.Unlock()

	u, refuse := uses(cmd, args)
	if refuse != "" {
		return tag, cmd, u.features, refuse
	}
	return tag, cmd, u.features, u.missing(caps)
}

// usage is what one command uses: the feature keys it counts under, and
// the capabilities it needs (each entry "A|B": any of them will do).
type usage struct {
	features, needs []string
}

func (u *usage) need(feature string, capsAny ...string) {
	if feature != "" {
		u.features = append(u.features, feature)
	}
	u.needs = append(u.needs, strings.Join(capsAny, "|"))
}

// missing is why the command is refused with the capabilities caps (nil:
// not known yet, nothing is refused), or "".
func (u *usage) missing(caps map[string]bool) string {
	if caps == nil {
		return ""
	}
	for _, n := range u.needs {
		ok := false
		for _, alt := range strings.Split(n, "|") {
			ok = ok || caps[alt]
		}
		if !ok {
			return n + " is not advertised"
		}
	}
	return ""
}

// commandNeeds are the commands that need a capability whatever their
// arguments, and the feature key they count under ("" for none).
var commandNeeds = map[string]struct {
	feature string
	caps    []string
}{
	"MOVE":        {FeatureMove, []string{"MOVE"}},
	"UID MOVE":    {FeatureMove, []string{"MOVE"}},
	"UID EXPUNGE": {FeatureUIDExpunge, []string{"UIDPLUS"}},
	"ID":          {"", []string{"ID"}},
	"NAMESPACE":   {"", []string{"NAMESPACE"}},
	"UNSELECT":    {"", []string{"UNSELECT"}},
	"IDLE":        {"", []string{"IDLE"}},
	"XLIST":       {"", []string{"XLIST"}},
	"GETMETADATA": {"", []string{"METADATA", "METADATA-SERVER"}},
	"SETMETADATA": {"", []string{"METADATA", "METADATA-SERVER"}},
	"SORT":        {"", []string{"SORT"}},
	"UID SORT":    {"", []string{"SORT"}},
}

// uses is what cmd with its arguments uses; refuse is set for a command
// the proxy never forwards.
func uses(cmd string, args []string) (u usage, refuse string) {
	if n, ok := commandNeeds[cmd]; ok {
		u.need(n.feature, n.caps...)
		return u, ""
	}
	switch cmd {
	case "ENABLE":
		u.enable(args)
	case "SELECT", "EXAMINE":
		if len(args) > 1 {
			u.needIf(has(args[1:], "CONDSTORE"), FeatureCondStore, "CONDSTORE")
			u.needIf(has(args[1:], "QRESYNC"), FeatureQResync, "QRESYNC")
		}
	case "STATUS":
		u.needIf(has(args, "HIGHESTMODSEQ"), FeatureCondStore, "CONDSTORE")
	case "FETCH", "UID FETCH":
		u.fetch(args)
	case "STORE", "UID STORE":
		u.needIf(has(args, "UNCHANGEDSINCE"), FeatureCondStore, "CONDSTORE")
	case "SEARCH", "UID SEARCH":
		u.needIf(len(args) > 0 && args[0] == "RETURN", FeatureESearch, "ESEARCH")
		u.needIf(has(args, "MODSEQ"), FeatureCondStore, "CONDSTORE")
	case "LIST":
		u.list(args)
	case "COMPRESS", "STARTTLS":
		return u, "the proxy needs plaintext"
	}
	return u, ""
}

func (u *usage) needIf(cond bool, feature string, capsAny ...string) {
	if cond {
		u.need(feature, capsAny...)
	}
}

func (u *usage) enable(args []string) {
	u.need("", "ENABLE")
	for _, a := range args {
		u.features = append(u.features, "ENABLE "+a)
		u.needs = append(u.needs, a)
		switch a {
		case "CONDSTORE":
			u.features = append(u.features, FeatureCondStore)
		case "QRESYNC":
			u.features = append(u.features, FeatureQResync)
		}
	}
}

func (u *usage) fetch(args []string) {
	u.needIf(has(args, "MODSEQ"), FeatureCondStore, "CONDSTORE")
	if has(args, "CHANGEDSINCE") {
		u.need(FeatureCondStore, "CONDSTORE")
		u.features = append(u.features, FeatureChangedSince)
	} else if has(args, "FLAGS", "FAST", "ALL", "FULL") {
		u.features = append(u.features, FeatureFlagsScan)
	}
	u.needIf(has(args, "VANISHED"), FeatureQResync, "QRESYNC")
}

func (u *usage) list(args []string) {
	if len(args) > 0 && args[0] == "(" {
		sel := group(append([]string{"SEL"}, args...), "SEL")
		u.need("", "LIST-EXTENDED")
		u.needIf(has(sel, "SPECIAL-USE"), FeatureSpecialUse, "SPECIAL-USE")
	}
	ret := group(args, "RETURN")
	u.needIf(has(ret, "STATUS"), FeatureListStatus, "LIST-STATUS")
	u.needIf(has(ret, "SPECIAL-USE"), FeatureSpecialUse, "SPECIAL-USE")
	u.needIf(has(ret, "CHILDREN", "SUBSCRIBED", "MYRIGHTS", "METADATA"), "", "LIST-EXTENDED")
}
