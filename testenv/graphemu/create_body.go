package graphemu

import (
	"bytes"
	"encoding/json"
	"errors"
)

// createBody is what one json.Unmarshal of a message create's body
// decodes: the attachments, whose base64 is most of a large body, into
// their structs directly. The other properties are split out of the same
// body afterwards by topLevel, which relies on the body being valid JSON
// (json.Unmarshal checks that first), so the attachments' bytes are
// scanned by encoding/json once for validity and once for decoding
// instead of four times (validity and skip into a map, validity and
// decode of the property).
type createBody struct {
	Attachments []inAttachment `json:"attachments"`
}

// decodeCreate reads a JSON create body: the properties by exact name,
// the attachments decoded, and the error from decoding them (a type
// error, or contentBytes that is not a string), which the caller reports
// as a property error of "attachments". ok is false when the body must
// go through the general path instead: a syntax error (err is the error
// to answer), a body that is not an object, or a property given twice.
func decodeCreate(body []byte) (in map[string]json.RawMessage, as []inAttachment, attErr error, ok bool, err error) {
	var cb createBody
	attErr = json.Unmarshal(body, &cb)
	var syn *json.SyntaxError
	if errors.As(attErr, &syn) {
		return nil, nil, nil, false, attErr
	}
	in, ok = topLevel(body)
	if !ok {
		return nil, nil, nil, false, nil
	}
	return in, cb.Attachments, attErr, true, nil
}

// topLevel splits a valid JSON object into its members, each value
// copied but the attachments'; false if body is not an object or repeats a name.
func topLevel(body []byte) (map[string]json.RawMessage, bool) {
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return nil, false
	}
	in := make(map[string]json.RawMessage, 8)
	i = skipSpace(body, i+1)
	if i < len(body) && body[i] == '}' {
		return in, true
	}
	for i < len(body) && body[i] == '"' {
		end := skipString(body, i)
		if end < 0 {
			return nil, false
		}
		key, ok := jsonKey(body[i:end])
		if !ok {
			return nil, false
		}
		i = skipSpace(body, end)
		if i >= len(body) || body[i] != ':' {
			return nil, false
		}
		i = skipSpace(body, i+1)
		vend := skipValue(body, i)
		if vend < 0 {
			return nil, false
		}
		if _, dup := in[key]; dup {
			return nil, false
		}
		if key == "attachments" {
			// decoded into createBody; readMessageFields does not keep
			// this value, so it is not copied (it is most of the body)
			in[key] = body[i:vend:vend]
		} else {
			in[key] = bytes.Clone(body[i:vend])
		}
		i = skipSpace(body, vend)
		if i >= len(body) {
			return nil, false
		}
		if body[i] == '}' {
			return in, true
		}
		if body[i] != ',' {
			return nil, false
		}
		i = skipSpace(body, i+1)
	}
	return nil, false
}

// jsonKey is a member name as encoding/json decodes it.
func jsonKey(quoted []byte) (string, bool) {
	plain := true
	for _, c := range quoted {
		if c == '\\' || c >= 0x80 {
			plain = false
			break
		}
	}
	if plain {
		return string(quoted[1 : len(quoted)-1]), true
	}
	var s string
	if err := json.Unmarshal(quoted, &s); err != nil {
		return "", false
	}
	return s, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] (a
// quote), or -1.
func skipString(b []byte, i int) int {
	i++
	for {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return -1
		}
		q := i + j
		n := 0 // backslashes right before the quote
		for k := q - 1; k >= i && b[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return q + 1
		}
		i = q + 1
	}
}

// skipValue returns the index after the valid JSON value starting at
// b[i], or -1.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				if i < 0 {
					return -1
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	default: // number, true, false, null
		for i < len(b) {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i
			}
			i++
		}
		return i
	}
}
