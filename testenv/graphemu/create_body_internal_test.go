package graphemu

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestTopLevel_SplitsAsUnmarshal: topLevel splits a valid JSON object
// into the members json.Unmarshal into a map gives (names unescaped,
// values byte for byte), through escaped quotes and backslashes, nested
// values, whitespace and numbers; it declines non-objects and repeated
// names, which go through json.Unmarshal.
func TestTopLevel_SplitsAsUnmarshal(t *testing.T) {
	for _, body := range []string{
		`{}`,
		" \r\n{ } ",
		`{"subject":"a"}`,
		`{"subject":"a \"quoted\" \\","isRead":true,"n":-1.5e3,"z":null}`,
		`{"body":{"content":"<p>\\\"}]</p>","contentType":"html"},"categories":["a","]\\\\",""]}`,
		"{ \"s\" :\t\"x\" ,\n\"t\" : [ 1 , { \"u\" : [ ] } ] }",
		`{"\u0073ubject":"escaped name","\u00e9t\u00e9":"x","日本":"y"}`,
		`{"a":"\\","b":"\\\\\"","c":"}"}`,
		`{"attachments":[{"contentBytes":"aGVs\u0062G8=","name":"a{b[c"}]}`,
	} {
		var want map[string]json.RawMessage
		if err := json.Unmarshal([]byte(body), &want); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		got, ok := topLevel([]byte(body))
		if !ok || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: topLevel = %q %v, want %q", body, got, ok, want)
		}
	}
	for _, body := range []string{`null`, `[]`, `"a"`, `5`, `{"a":1,"a":2}`} {
		if got, ok := topLevel([]byte(body)); ok {
			t.Fatalf("%s: topLevel = %q, want declined", body, got)
		}
	}
}
