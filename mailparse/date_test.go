package mailparse_test

import (
	"net/mail"
	"testing"
	"time"

	"github.com/imapmig/imapmig/mailparse"
)

var dates = []string{
	"Mon, 2 Jan 2006 15:04:05 -0700",
	"Tue, 12 Mar 2024 09:00:00 +0100",
	"Tue,  3 Mar 2024 09:00:00 +0000",
	"3 Mar 2024 09:00:00 +0000",
	"Tue, 12 Mar 2024 09:00 +0100",
	"Tue, 12 Mar 2024 09:00:00 GMT",
	"Tue, 12 Mar 2024 09:00:00 +0100 (CET)",
	"Wed, 12 Mar 2024 09:00:00 +0100", // wrong weekday: ignored, as net/mail does
	"Tue, 31 Feb 2024 09:00:00 +0100",
	"Tue, 12 Mar 2024 25:00:00 +0100",
	"Tue, 12 Mar 24 09:00:00 +0100",
	"Tue, 12 Mar 2024 09:00:00 +0100 extra words here",
	"garbage",
}

// TestDate_SameAsNetMail: the fast path gives what net/mail.ParseDate gives
// for every string it accepts (time and offset), and the lenient fallback
// still reads the damaged forms.
func TestDate_SameAsNetMail(t *testing.T) {
	for _, d := range dates {
		h, _ := mailparse.ReadHeader([]byte("Date: " + d + "\r\n\r\n"))
		got := h.Date()
		want, err := mail.ParseDate(d)
		if err != nil {
			t.Logf("%q: net/mail refuses (%v); mailparse gives %v", d, err, got)
			continue
		}
		_, gotOff := got.Zone()
		_, wantOff := want.Zone()
		if !got.Equal(want) || gotOff != wantOff {
			t.Errorf("%q: %v, net/mail %v", d, got, want)
		}
	}
	h, _ := mailparse.ReadHeader([]byte("Date: Tue, 12 Mar 2024 09:00:00 +0100 extra words here\r\n\r\n"))
	if want := time.Date(2024, 3, 12, 8, 0, 0, 0, time.UTC); !h.Date().Equal(want) {
		t.Errorf("trailing words: %v, want %v", h.Date(), want)
	}
}

func BenchmarkHeaderDate(b *testing.B) {
	h, _ := mailparse.ReadHeader([]byte("Date: Tue, 12 Mar 2024 09:00:00 +0100\r\n\r\n"))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if h.Date().IsZero() {
			b.Fatal("zero")
		}
	}
}
