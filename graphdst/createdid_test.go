package graphdst

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// createdIDDecoder is the answer read with encoding/json up to its id (the
// implementation before the scanner): the reference for valid JSON.
func createdIDDecoder(body []byte) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return ""
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return ""
		}
		if k, _ := t.(string); k == "id" {
			var id string
			if dec.Decode(&id) != nil {
				return ""
			}
			return id
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return ""
		}
	}
	return ""
}

// graphAnswers are create answers shaped like Graph's and the emulator's
// (keys sorted, so the body comes before the id).
var graphAnswers = []string{
	`{"@odata.context":"x","@odata.etag":"W/\"1\"","id":"AAMk=","subject":"s","body":{"content":"<p>{\"id\":\"no\"}</p>"}}`,
	`{"subject":"s","body":{"id":"nested"},"toRecipients":[{"id":"x"}],"id":"late"}`,
	`{"subject":"s"}`,
	`[{"id":"x"}]`,
	`{"id":5}`,
	``,
	`{"id":"x"`,
	`{"body":{"contentType":"html","content":"a \\\" quote \\\\\" , \"id\":\"fake\" \\\\"},"id":"real"}`,
	`{"\u0069d":"escaped-key","id":"second"}`,
	`{"id":"a\/b\u00e9\"c"}`,
	` { "a" : [ 1 , { "id" : "deep" } , "x" ] , "b" : null , "c" : true , "d" : -1.5e3 , "id" : "spaced" } `,
	`{"a":{},"b":[],"id":""}`,
	`{"@odata.type":"#microsoft.graph.message","id":"AAMkAGI2TG93AAA=","internetMessageHeaders":[{"name":"X-A","value":"{\"id\":1}"}]}`,
}

func TestCreatedID(t *testing.T) {
	for body, want := range map[string]string{
		graphAnswers[0]:                "AAMk=",
		graphAnswers[1]:                "late",
		graphAnswers[2]:                "",
		graphAnswers[3]:                "",
		graphAnswers[4]:                "",
		graphAnswers[5]:                "",
		graphAnswers[6]:                "x",
		graphAnswers[7]:                "real",
		graphAnswers[8]:                "escaped-key",
		graphAnswers[9]:                "a/b\u00e9\"c",
		graphAnswers[10]:               "spaced",
		`{"a":1 "id":"x"}`:             "",
		`{"a":"unterminated,"id":"x"}`: "",
		`{"a":{"b":1,"id":"x"}`:        "",
	} {
		if got := createdID([]byte(body)); got != want {
			t.Errorf("%s: %q, want %q", body, got, want)
		}
	}
	big := `{"body":{"contentType":"html","content":"` + strings.Repeat(`<p>x \"q\" \\ y</p>`, 10000) + `"},"id":"after-body"}`
	if got := createdID([]byte(big)); got != "after-body" {
		t.Errorf("after a large body: %q", got)
	}
}

// FuzzCreatedID: on valid JSON the scanner finds what encoding/json finds;
// on anything it does not panic.
func FuzzCreatedID(f *testing.F) {
	for _, a := range graphAnswers {
		f.Add(a)
	}
	f.Fuzz(func(t *testing.T, body string) {
		got := createdID([]byte(body))
		if json.Valid([]byte(body)) {
			if want := createdIDDecoder([]byte(body)); got != want {
				t.Fatalf("%s: %q, encoding/json %q", body, got, want)
			}
		}
	})
}

func BenchmarkCreatedID(b *testing.B) {
	body := []byte(`{"@odata.etag":"W/\"1\"","body":{"contentType":"html","content":"` + strings.Repeat(`<p>text of a mail, with \"quotes\"</p>\r\n`, 2000) + `"},"bodyPreview":"text","id":"AAMkAGI2TG93AAA="}`)
	for _, impl := range []struct {
		name string
		f    func([]byte) string
	}{{"scan", createdID}, {"encoding-json", createdIDDecoder}} {
		b.Run(impl.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for range b.N {
				if impl.f(body) != "AAMkAGI2TG93AAA=" {
					b.Fatal("no id")
				}
			}
		})
	}
}
