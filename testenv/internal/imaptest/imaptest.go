package imaptest

import (
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/imapmig/imapmig/testenv/mailgen"
)

// Msg is a small message named subject (in its Subject, Message-ID and
// body) with the flags \Seen and $Label1 and a fixed internal date.
func Msg(subject string) mailgen.Message {
	return mailgen.Message{
		Raw:          []byte("From: a@example.org\r\nTo: b@example.org\r\nSubject: " + subject + "\r\nMessage-ID: <" + subject + "@example.org>\r\n\r\nbody of " + subject + "\r\n"),
		Flags:        []string{`\Seen`, "$Label1"},
		InternalDate: time.Date(2015, 3, 4, 5, 6, 7, 0, time.UTC),
	}
}

// ListAttrs lists every mailbox of c's session (with RETURN (SPECIAL-USE))
// and returns each one's attributes by name; a failing LIST fails tb.
func ListAttrs(tb testing.TB, c *imapclient.Client) map[string][]imap.MailboxAttr {
	tb.Helper()
	l, err := c.List("", "*", &imap.ListOptions{ReturnSpecialUse: true}).Collect()
	if err != nil {
		tb.Fatal(err)
	}
	m := map[string][]imap.MailboxAttr{}
	for _, d := range l {
		m[d.Mailbox] = d.Attrs
	}
	return m
}
