package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxEchoRunes is how much of a name from the request an error message
// repeats; the rest is cut and marked with "…".
const MaxEchoRunes = 64

// maxTokenRunes bounds any other run of non-space text in an error message
// (a name echoed by a path this package does not know of).
const maxTokenRunes = 256

// truncate shortens s to n runes and marks the cut with "…".
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for k := range s {
		if i == n {
			return s[:k] + "…"
		}
		i++
	}
	return s
}

// echoError carries the request's names an error may repeat.
type echoError struct {
	error
	names []string
}

func (e *echoError) Unwrap() error { return e.error }

// withEchoes marks err with the names from a request body it may repeat
// (nil stays nil).
func withEchoes(err error, names ...string) error {
	if err == nil {
		return nil
	}
	return &echoError{err, names}
}

// requestNames lists the names from the request an error may repeat: the
// path's names, the query's, and those withEchoes attached.
func requestNames(r *http.Request, err error) []string {
	names := []string{r.PathValue("name"), r.PathValue("email")}
	for _, vs := range r.URL.Query() {
		names = append(names, vs...)
	}
	var ee *echoError
	if errors.As(err, &ee) {
		names = append(names, ee.names...)
	}
	return names
}

// shortenEchoes cuts every long name from the request to MaxEchoRunes
// where msg repeats it (as is or quoted), and any other run of non-space
// text to maxTokenRunes, so an error never sends a huge input back.
func shortenEchoes(msg string, names ...string) string {
	for _, n := range names {
		if utf8.RuneCountInString(n) <= MaxEchoRunes {
			continue
		}
		short := truncate(n, MaxEchoRunes)
		msg = strings.ReplaceAll(msg, strconv.Quote(n), strconv.Quote(short))
		msg = strings.ReplaceAll(msg, n, short)
	}
	if len(msg) <= maxTokenRunes {
		return msg
	}
	var b strings.Builder
	for len(msg) > 0 {
		i := strings.IndexFunc(msg, unicode.IsSpace)
		if i < 0 {
			i = len(msg)
		}
		b.WriteString(truncate(msg[:i], maxTokenRunes))
		msg = msg[i:]
		j := strings.IndexFunc(msg, func(r rune) bool { return !unicode.IsSpace(r) })
		if j < 0 {
			j = len(msg)
		}
		b.WriteString(msg[:j])
		msg = msg[j:]
	}
	return b.String()
}
