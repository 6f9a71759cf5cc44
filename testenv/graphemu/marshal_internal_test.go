package graphemu

import (
	"bytes"
	"encoding/base64"
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

// TestB64Content_AsStringThenBase64: contentBytes decodes to what the
// emulator got before by decoding a Go string and then its base64: plain,
// with escapes (a JSON "\/", "\u0041", "\r\n" between lines), empty,
// null, absent, and invalid base64 (refused by decodeAttachment).
func TestB64Content_AsStringThenBase64(t *testing.T) {
	for _, body := range []string{
		`{"contentBytes":"SGVsbG8sIHdvcmxk"}`, `{"contentBytes":"SGVs\/bG8="}`, `{"contentBytes":"\u0053GVsbG8="}`,
		`{"contentBytes":"SGVs\r\nbG8="}`, `{"contentBytes":""}`, `{"contentBytes":null}`, `{}`,
		`{"contentBytes":"SGVsbG8*"}`, `{"contentBytes":"SGVsbG8"}`,
	} {
		var old struct {
			ContentBytes string `json:"contentBytes"`
		}
		if err := json.Unmarshal([]byte(body), &old); err != nil {
			t.Fatal(err)
		}
		want, werr := base64.StdEncoding.DecodeString(old.ContentBytes)
		var a inAttachment
		if err := json.Unmarshal([]byte(body), &a); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if a.ContentBytes.bad != (werr != nil) {
			t.Fatalf("%s: refused %v, want %v", body, a.ContentBytes.bad, werr != nil)
		}
		if werr == nil && !bytes.Equal(a.ContentBytes.data, want) {
			t.Fatalf("%s: %q, want %q", body, a.ContentBytes.data, want)
		}
	}
	var a inAttachment
	if err := json.Unmarshal([]byte(`{"contentBytes":5}`), &a); err == nil {
		t.Fatal("a number as contentBytes was accepted")
	}
}
