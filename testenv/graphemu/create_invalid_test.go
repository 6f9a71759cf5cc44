package graphemu_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/imapmig/imapmig/testenv/graphemu"
)

// TestCreate_InvalidBodies pins the status and error code of a JSON
// message create for bodies Exchange refuses (and a few it accepts that
// look wrong), so that a change to how the emulator reads the body keeps
// every answer: bad JSON, wrong types, unknown and read-only properties,
// invalid attachments and an oversize request.
func TestCreate_InvalidBodies(t *testing.T) {
	e := newEnv(t, graphemu.Options{})
	b64 := base64.StdEncoding.EncodeToString([]byte("hello"))
	att := func(fields string) string {
		return `{"subject":"a","attachments":[{` + fields + `}]}`
	}
	file := `"@odata.type":"#microsoft.graph.fileAttachment"`
	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantCode   string
	}{
		{"Valid", `{"subject":"a","isRead":true,"categories":["x"],"flag":{"flagStatus":"flagged"}}`, 201, ""},
		{"Truncated", `{"subject":`, 400, "RequestBodyRead"},
		{"Empty", ``, 400, "RequestBodyRead"},
		{"TrailingGarbage", `{"subject":"a"} x`, 400, "RequestBodyRead"},
		{"ArrayNotObject", `[{"subject":"a"}]`, 400, "RequestBodyRead"},
		{"StringNotObject", `"a"`, 400, "RequestBodyRead"},
		{"BadEscape", `{"subject":"a\q"}`, 400, "RequestBodyRead"},
		{"UnknownProperty", `{"subjekt":"a"}`, 400, "RequestBodyRead"},
		{"PropertyNameCase", `{"Subject":"a"}`, 400, "RequestBodyRead"},
		{"UnknownAfterBadType", `{"isRead":"yes","nope":1}`, 400, "RequestBodyRead"},
		{"IsReadString", `{"isRead":"yes"}`, 400, "RequestBodyRead"},
		{"IsReadNull", `{"isRead":null}`, 201, ""},
		{"CategoriesString", `{"categories":"a"}`, 400, "RequestBodyRead"},
		{"CategoriesNumbers", `{"categories":[1]}`, 400, "RequestBodyRead"},
		{"FlagString", `{"flag":"flagged"}`, 400, "RequestBodyRead"},
		{"FlagStatusInvalid", `{"flag":{"flagStatus":"red"}}`, 400, "RequestBodyRead"},
		{"ExtObject", `{"singleValueExtendedProperties":{"id":"String 0x1","value":"a"}}`, 400, "RequestBodyRead"},
		{"ExtValueNumber", `{"singleValueExtendedProperties":[{"id":"Integer 0x0E07","value":1}]}`, 400, "RequestBodyRead"},
		{"ExtBadId", `{"singleValueExtendedProperties":[{"id":"Nonsense 0x1","value":"a"}]}`, 400, "ErrorInvalidExtendedPropertyValue"},
		{"ExtBadTime", `{"singleValueExtendedProperties":[{"id":"SystemTime 0x0E06","value":"yesterday"}]}`, 400, "ErrorInvalidExtendedPropertyValue"},
		{"HeadersString", `{"internetMessageHeaders":"X-A: 1"}`, 400, "RequestBodyRead"},
		{"HeaderNotX", `{"internetMessageHeaders":[{"name":"Received","value":"x"}]}`, 400, "InvalidInternetMessageHeader"},
		{"ReadOnlyIgnored", `{"isDraft":"no","receivedDateTime":5,"sentDateTime":{},"bodyPreview":[1],"uniqueBody":true,"@odata.type":3}`, 201, ""},
		{"AttachmentsObject", `{"attachments":{}}`, 400, "RequestBodyRead"},
		// The attachment is checked before the type error is reported.
		{"AttachmentNameNumber", att(file + `,"name":7,"contentBytes":"` + b64 + `"`), 400, "ErrorInvalidRequest"},
		{"AttachmentSizeString", att(file + `,"name":"a","size":"1","contentBytes":"` + b64 + `"`), 400, "RequestBodyRead"},
		{"AttachmentNotFile", att(`"@odata.type":"#microsoft.graph.itemAttachment","name":"a"`), 400, "ErrorInvalidRequest"},
		{"AttachmentNoName", att(file + `,"contentBytes":"` + b64 + `"`), 400, "ErrorInvalidRequest"},
		{"AttachmentBadBase64", att(file + `,"name":"a","contentBytes":"not base64!"`), 400, "ErrorInvalidRequest"},
		{"AttachmentBytesNumber", att(file + `,"name":"a","contentBytes":12`), 400, "RequestBodyRead"},
		{"AttachmentBytesNull", att(file + `,"name":"a","contentBytes":null`), 201, ""},
		{"AttachmentBytesEscaped", att(file + `,"name":"a","contentBytes":"aGVs\u0062G8="`), 201, ""},
		{"AttachmentIsInlineString", att(file + `,"name":"a","isInline":"yes"`), 400, "RequestBodyRead"},
		{"Oversize", `{"subject":"a","attachments":[{` + file + `,"name":"a","contentBytes":"` + strings.Repeat("QUFB", 1<<20+1) + `"}]}`, 413, "RequestEntityTooLarge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			r := e.do("POST", "/users/"+user+"/mailFolders/inbox/messages", []byte(tt.body))
			if r.status != tt.wantStatus || r.code() != tt.wantCode {
				t.Fatalf("got %d %q, want %d %q: %.300s", r.status, r.code(), tt.wantStatus, tt.wantCode, r.raw)
			}
		})
	}
}
