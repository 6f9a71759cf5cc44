package imapsrc

import "testing"

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
