package imapwire

import (
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

func has(ts []string, words ...string) bool {
	for _, t := range ts {
		for _, w := range words {
			if t == w {
				return true
			}
		}
	}
	return false
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

	var needs []string
	need := func(feature string, capsAny ...string) {
		if feature != "" {
			features = append(features, feature)
		}
		needs = append(needs, strings.Join(capsAny, "|"))
	}
	switch cmd {
	case "ENABLE":
		need("", "ENABLE")
		for _, a := range args {
			features = append(features, "ENABLE "+a)
			needs = append(needs, a)
			switch a {
			case "CONDSTORE":
				features = append(features, FeatureCondStore)
			case "QRESYNC":
				features = append(features, FeatureQResync)
			}
		}
	case "SELECT", "EXAMINE":
		if len(args) > 1 {
			if has(args[1:], "CONDSTORE") {
				need(FeatureCondStore, "CONDSTORE")
			}
			if has(args[1:], "QRESYNC") {
				need(FeatureQResync, "QRESYNC")
			}
		}
	case "STATUS":
		if has(args, "HIGHESTMODSEQ") {
			need(FeatureCondStore, "CONDSTORE")
		}
	case "FETCH", "UID FETCH":
		if has(args, "MODSEQ") {
			need(FeatureCondStore, "CONDSTORE")
		}
		if has(args, "CHANGEDSINCE") {
			need(FeatureCondStore, "CONDSTORE")
			features = append(features, FeatureChangedSince)
		} else if has(args, "FLAGS", "FAST", "ALL", "FULL") {
			features = append(features, FeatureFlagsScan)
		}
		if has(args, "VANISHED") {
			need(FeatureQResync, "QRESYNC")
		}
	case "STORE", "UID STORE":
		if has(args, "UNCHANGEDSINCE") {
			need(FeatureCondStore, "CONDSTORE")
		}
	case "SEARCH", "UID SEARCH":
		if len(args) > 0 && args[0] == "RETURN" {
			need(FeatureESearch, "ESEARCH")
		}
		if has(args, "MODSEQ") {
			need(FeatureCondStore, "CONDSTORE")
		}
	case "MOVE", "UID MOVE":
		need(FeatureMove, "MOVE")
	case "UID EXPUNGE":
		need(FeatureUIDExpunge, "UIDPLUS")
	case "LIST":
		if len(args) > 0 && args[0] == "(" {
			sel := group(append([]string{"SEL"}, args...), "SEL")
			need("", "LIST-EXTENDED")
			if has(sel, "SPECIAL-USE") {
				need(FeatureSpecialUse, "SPECIAL-USE")
			}
		}
		ret := group(args, "RETURN")
		if has(ret, "STATUS") {
			need(FeatureListStatus, "LIST-STATUS")
		}
		if has(ret, "SPECIAL-USE") {
			need(FeatureSpecialUse, "SPECIAL-USE")
		}
		if has(ret, "CHILDREN", "SUBSCRIBED", "MYRIGHTS", "METADATA") {
			need("", "LIST-EXTENDED")
		}
	case "ID":
		need("", "ID")
	case "NAMESPACE":
		need("", "NAMESPACE")
	case "UNSELECT":
		need("", "UNSELECT")
	case "IDLE":
		need("", "IDLE")
	case "COMPRESS":
		return tag, cmd, features, "the proxy needs plaintext"
	case "STARTTLS":
		return tag, cmd, features, "the proxy needs plaintext"
	case "XLIST":
		need("", "XLIST")
	case "GETMETADATA", "SETMETADATA":
		need("", "METADATA", "METADATA-SERVER")
	case "SORT", "UID SORT":
		need("", "SORT")
	}
	if caps == nil {
		return tag, cmd, features, ""
	}
	for _, n := range needs {
		ok := false
		for _, alt := range strings.Split(n, "|") {
			ok = ok || caps[alt]
		}
		if !ok {
			return tag, cmd, features, n + " is not advertised"
		}
	}
	return tag, cmd, features, ""
}
