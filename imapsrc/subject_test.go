package imapsrc

import (
	"testing"

	"github.com/imapmig/imapmig/mailparse"
)

// A broken header line must not blank the subject shown in reports
// (issue 11): the metadata read is as lenient as the conversion.
func TestSubjectDate_BrokenHeaderLine(t *testing.T) {
	hdr := []byte("From: aperson@dom.ain\r\nDate: Fri, 4 May 2001 14:05:44 -0400\r\nSubject: here's something interesting\r\n" +
		"counter to RFC 2822, there's no separating newline here\r\n")
	subj, date := subjectDate(hdr)
	if subj != "here's something interesting" {
		t.Errorf("subject %q", subj)
	}
	if date.IsZero() {
		t.Error("date lost")
	}
	if s, _ := subjectDate([]byte("From: a@b\r\n")); s != "" {
		t.Errorf("no Subject header gave %q", s)
	}
}

// The direct parse of the common Date form gives what the lenient
// mailparse reading gives, for that form and for the others.
func TestSubjectDate_SameAsMailparse(t *testing.T) {
	for _, d := range []string{
		"Mon, 02 Jan 2006 15:04:05 +0000",
		"Fri, 4 May 2001 14:05:44 -0400",
		"Tue,  9 Dec 2014 23:59:60 +0100", // leap second: both refuse it
		"Sat, 31 Dec 2022 10:00:00 +1400",
		"4 May 2001 14:05:44 -0400",
		"Fri, 4 May 2001 14:05 -0400",
		"Fri, 4 May 2001 14:05:44 GMT",
		"Fri, 4 May 2001 14:05:44 -0400 (EDT)",
		"Fri, 4 May 2001 14:05:44 -0400 extra words here",
		"  Fri, 4 May 2001 14:05:44 -0400  ",
		"Fri, 32 May 2001 14:05:44 -0400",
		"yesterday",
		"",
	} {
		hdr := []byte("Subject: s\r\nDate: " + d + "\r\n\r\n")
		h, _ := mailparse.ReadHeader(hdr)
		_, got := subjectDate(hdr)
		if want := h.Date(); !got.Equal(want) || got.Location().String() != want.Location().String() {
			t.Errorf("Date %q: %v, mailparse reads %v", d, got, want)
		}
	}
}
