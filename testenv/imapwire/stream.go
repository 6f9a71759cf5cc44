package imapwire

import (
	"bufio"
	"io"
	"net"
	"regexp"
	"strconv"
)

var literalRE = regexp.MustCompile(`~?\{(\d+)(\+?)\}\r?\n$`)

// Literal reports the size of the literal announced at the end of an IMAP
// line (`{n}`, `{n+}` or `~{n}` before CRLF), whether it is
// non-synchronizing, and whether the line announces one at all.
func Literal(line string) (n int64, nonSync, ok bool) {
	m := literalRE.FindStringSubmatch(line)
	if m == nil {
		return 0, false, false
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, false, false
	}
	return n, m[2] == "+", true
}

// NextCommand reads a client's next command line from r. At the client's
// end it hands a last unterminated line on to server and returns false.
func NextCommand(r *bufio.Reader, server io.Writer) (string, bool) {
	line, err := r.ReadString('\n')
	if err != nil {
		if line != "" {
			io.WriteString(server, line)
		}
		return "", false
	}
	return line, true
}

// ForwardCommand writes a client's command line to dst and, for each
// literal the line announces, the literal and the next line of the command
// read from r.
func ForwardCommand(dst io.Writer, r *bufio.Reader, line string) error {
	for {
		if _, err := io.WriteString(dst, line); err != nil {
			return err
		}
		n, _, ok := Literal(line)
		if !ok {
			return nil
		}
		if _, err := io.CopyN(dst, r, n); err != nil {
			return err
		}
		var err error
		if line, err = r.ReadString('\n'); err != nil {
			return err
		}
	}
}

// DropLiterals reads and drops the non-synchronizing literals (and the
// lines after them) of a command that a proxy answers itself. After a
// synchronizing literal the client waits for a continuation it does not
// get, and takes the tagged answer as the end of the command (RFC 3501
// §7.5).
func DropLiterals(r *bufio.Reader, line string) error {
	for {
		n, nonSync, ok := Literal(line)
		if !ok || !nonSync {
			return nil
		}
		if _, err := io.CopyN(io.Discard, r, n); err != nil {
			return err
		}
		var err error
		if line, err = r.ReadString('\n'); err != nil {
			return err
		}
	}
}

// Port is the port of a host:port address, 0 if it has none.
func Port(addr string) int {
	_, ps, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(ps)
	return n
}
