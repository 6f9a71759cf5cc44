package convert

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

// decodedAsAny is the JSON b as generic values, so that a key written as
// null differs from a key left out.
func decodedAsAny(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	return v
}

// sameAsMarshal fails unless m's JSON decodes to what json.Marshal's does.
func sameAsMarshal(t testing.TB, m *Message) {
	t.Helper()
	want, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	got := m.marshal()
	if g, w := decodedAsAny(t, got), decodedAsAny(t, want); !reflect.DeepEqual(g, w) {
		t.Fatalf("written:\n%s\nencoding/json:\n%s", got, want)
	}
}

var jsonSamples = []string{"", "plain", `quote " backslash \ slash /`, "<p>a & b</p>", "tab\tcr\rlf\n", "\x00\x01\x1f\x7f",
	"caf\xc3\xa9", "bad \xff\xfe utf-8", "\xe2\x80\xa8 line sep \xe2\x80\xa9", "cut \xe2\x82", "emoji \U0001F600", "\xed\xa0\x80 surrogate"}

func randomString(r *rand.Rand) string {
	var b strings.Builder
	for n := r.IntN(4); n > 0; n-- {
		b.WriteString(jsonSamples[r.IntN(len(jsonSamples))])
	}
	return b.String()
}

// TestAppendMessage_DecodesAsMarshal: the message's JSON decodes to what
// encoding/json writes for it, with every field empty or set, nil or not,
// and strings with escapes, HTML, control characters and invalid UTF-8.
func TestAppendMessage_DecodesAsMarshal(t *testing.T) {
	sameAsMarshal(t, &Message{})
	r := rand.New(rand.NewPCG(5, 6))
	rcpts := func() []Recipient {
		if r.IntN(3) == 0 {
			return nil
		}
		out := make([]Recipient, r.IntN(3))
		for i := range out {
			out[i] = Recipient{EmailAddress{Name: randomString(r), Address: randomString(r)}}
		}
		return out
	}
	for n := 0; n < 3000; n++ {
		m := &Message{Subject: randomString(r), Body: ItemBody{ContentType: randomString(r), Content: randomString(r)},
			To: rcpts(), Cc: rcpts(), Bcc: rcpts(), ReplyTo: rcpts(), Importance: randomString(r), IsRead: r.IntN(2) == 0}
		if r.IntN(2) == 0 {
			m.From = &Recipient{EmailAddress{Name: randomString(r), Address: randomString(r)}}
		}
		if r.IntN(2) == 0 {
			m.Sender = &Recipient{EmailAddress{Address: randomString(r)}}
		}
		if r.IntN(2) == 0 {
			m.Flag = &struct {
				FlagStatus string `json:"flagStatus"`
			}{randomString(r)}
		}
		switch r.IntN(3) {
		case 0:
			m.Categories = []string{}
		case 1:
			m.Categories = []string{randomString(r), randomString(r)}
		}
		switch r.IntN(3) {
		case 0:
			m.Props = []ExtProp{}
		case 1:
			m.Props = []ExtProp{Ext(randomString(r), randomString(r)), Ext(propMessageFlags, "1")}
		}
		sameAsMarshal(t, m)
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range jsonSamples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sameAsMarshal(t, &Message{Subject: s, Body: ItemBody{Content: s}, Props: []ExtProp{Ext(s, s)}})
	})
}

// BenchmarkMessageJSON writes the JSON of a message with a 60 KB HTML body
// and a transport header of 2 KB: encoding/json against the writer.
func BenchmarkMessageJSON(b *testing.B) {
	m := &Message{Subject: "Quarterly report, second draft", IsRead: true,
		Body: ItemBody{ContentType: "html", Content: strings.Repeat(`<p class="x">Some text &amp; more text of the message.</p>`+"\r\n", 1000)},
		To:   []Recipient{{EmailAddress{Name: "Bob Example", Address: "bob@example.org"}}},
		Props: []ExtProp{Ext(propMessageFlags, "1"), Ext(propTransportHeader, strings.Repeat("Received: from mx.example.org by mx2.example.org; Tue, 1 Dec 2026\r\n", 30)),
			Ext(propMessageID, "<abc@example.org>")}}
	m.From, m.Sender = &m.To[0], &m.To[0]
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		cpu0 := cpuTime()
		for i := 0; i < b.N; i++ {
			if _, err := json.Marshal(m); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	})
	b.Run("writer", func(b *testing.B) {
		b.ReportAllocs()
		cpu0 := cpuTime()
		for i := 0; i < b.N; i++ {
			if len(m.marshal()) == 0 {
				b.Fatal("empty")
			}
		}
		b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	})
}

// cpuTime is the process's CPU time (user and system) in nanoseconds: on a
// shared machine it says more than the wall time.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
