package cyrus

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/imapmig/imapmig/testenv/mailgen"
)

// AppendMany appends msgs to user's folder in one MULTIAPPEND command
// (RFC 3502) with non-synchronising literals (LITERAL+), over one admin
// session: Cyrus takes the folder's lock and commits its index once for
// the command instead of once per message, which is what makes seeding a
// folder of 100,000 messages take seconds instead of minutes. Messages
// must be CRLF-terminated lines, as APPEND requires.
func (s *Server) AppendMany(ctx context.Context, user, folder string, msgs []mailgen.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.Addr())
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	r, w := bufio.NewReader(conn), bufio.NewWriterSize(conn, 1<<16)
	if _, err := r.ReadString('\n'); err != nil { // greeting
		return err
	}
	caps, err := rawCommand(r, w, "b0", "b0 CAPABILITY")
	if err != nil {
		return err
	}
	if !strings.Contains(strings.ToUpper(caps), " LITERAL+") || !strings.Contains(strings.ToUpper(caps), " MULTIAPPEND") {
		return fmt.Errorf("cyrus: LITERAL+ or MULTIAPPEND not advertised: %s", strings.TrimSpace(caps))
	}
	// SASL PLAIN as the admin with authzid=user, the initial response
	// after the server's empty challenge (no SASL-IR needed).
	fmt.Fprintf(w, "b1 AUTHENTICATE PLAIN\r\n")
	if err := w.Flush(); err != nil {
		return err
	}
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "+") {
		return fmt.Errorf("cyrus: AUTHENTICATE PLAIN: %q %v", line, err)
	}
	ir := base64.StdEncoding.EncodeToString([]byte(user + "\x00" + s.AdminUser + "\x00" + s.AdminPassword))
	if _, err := rawCommand(r, w, "b1", ir); err != nil {
		return fmt.Errorf("cyrus: admin login as %s: %w", user, err)
	}
	fmt.Fprintf(w, "b2 APPEND %s", strconv.Quote(folder))
	for _, m := range msgs {
		fmt.Fprintf(w, " (%s) \"%s\" {%d+}\r\n", strings.Join(m.Flags, " "), m.InternalDate.Format("02-Jan-2006 15:04:05 -0700"), len(m.Raw))
		w.Write(m.Raw)
	}
	if _, err := rawCommand(r, w, "b2", ""); err != nil {
		return err
	}
	_, err = rawCommand(r, w, "b3", "b3 LOGOUT")
	return err
}

// rawCommand writes line and CRLF (the command, or the end of one already
// written), flushes, and reads responses until tag's; it returns the
// untagged lines, or an error for a NO or BAD.
func rawCommand(r *bufio.Reader, w *bufio.Writer, tag, line string) (string, error) {
	w.WriteString(line + "\r\n")
	if err := w.Flush(); err != nil {
		return "", err
	}
	var untagged strings.Builder
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			return untagged.String(), err
		}
		if !strings.HasPrefix(l, tag+" ") {
			untagged.WriteString(l)
			continue
		}
		if rest := l[len(tag)+1:]; !strings.HasPrefix(strings.ToUpper(rest), "OK") {
			return untagged.String(), fmt.Errorf("cyrus: %s %s", tag, strings.TrimSpace(rest))
		}
		return untagged.String(), nil
	}
}

// IMAPSessions is how many IMAP sessions Cyrus has open: each imapd
// registers its session in configdirectory/proc while a client is
// connected (the processes themselves stay for the next connection).
func (s *Server) IMAPSessions() (int, error) {
	ents, err := os.ReadDir(filepath.Join(s.Dir, "conf", "proc"))
	if err != nil {
		return 0, err
	}
	return len(ents), nil
}
