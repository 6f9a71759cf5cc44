package graphemu

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestMarshalObject_DecodesAsMarshal: an answer written by marshalObject
// decodes to what json.Marshal writes for it, with kept properties (raw,
// with whitespace and HTML), strings needing escapes, nil, bools, nested
// values and an empty raw property.
func TestMarshalObject_DecodesAsMarshal(t *testing.T) {
	m := map[string]any{
		"body":           json.RawMessage(`{"contentType": "html", "content": "<p>a &amp; b</p>\r\n"}`),
		"subject":        json.RawMessage(`"caf\u00e9 \"quoted\""`),
		"empty":          json.RawMessage(nil),
		"id":             "AAMkAGI2THVSAAA=",
		"@odata.etag":    `W/"123"`,
		"odd \"key\" <":  "line\nbreak \x01 <tag> & \xff",
		"sentDateTime":   nil,
		"isRead":         true,
		"isDraft":        false,
		"flag":           map[string]string{"flagStatus": "flagged"},
		"categories":     []string{},
		"hasAttachments": false,
		"size":           12345,
	}
	got, err := marshalObject(m)
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var g, w map[string]any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("written:\n%s\nencoding/json:\n%s", got, want)
	}
}
