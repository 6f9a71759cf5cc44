package csvbatch

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

var (
	fileCodes = map[string]bool{CodeTooLarge: true, CodeTooManyRows: true, CodeMissingHeader: true,
		CodeUnknownColumn: true, CodeEmpty: true, CodeNotUTF8: true, CodeMalformed: true}
	rowCodes = map[string]bool{CodeInvalidEmailAddress: true, CodeEmptyUserName: true, CodeEmptyPassword: true,
		CodeColumnCount: true, CodeDuplicateEmailAddress: true}
	columnNames = map[string]bool{"": true, ColEmailAddress: true, ColUserName: true, ColPassword: true, ColUserRoot: true}
)

func FuzzParse(f *testing.F) {
	seeds := []string{
		hdr + "a@example.com,alice,pw1\nb@example.com,bob,pw2\n",
		"\xef\xbb\xbfpassword,USERNAME,emailaddress,UserRoot\r\npw1,alice,a@example.com,/r\r\n",
		hdr + "a@example.com,alice,\"multi\nline\"\n\nbad,,\nA@EXAMPLE.COM,x,y\n",
		hdr + "a@example.com,alice,secret,extra\na@example.com,secret\n",
		hdr + "\"Alice\" <a@example.com>,alice,pw\n<b@example.com>,b,pw\nc@[1.2.3.4],c,pw\n",
		"a@example.com,alice,secret\n",
		"EmailAddress,UserName,Password,Foo\n",
		"EmailAddress,UserName,Password,\n",
		hdr + "a@example.com,alice,pa\"ss\n",
		hdr + "a@example.com,alice,\"unterminated\n",
		hdr + "a@example.com,alice,p\xe4ss\n",
		"\xff\xfeE\x00",
		"",
		hdr,
		hdr + ",,\n  \n",
		hdr + "jürgen@münchen.de,jürgen, pässwort \n",
		"EmailAddress,UserName,Password\ra@example.com,alice,secret\r",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Parse(bytes.NewReader(data))
		checkResult(t, data, res, err)
		checkNoLeak(t, data, res, err)
	})
}

// checkResult checks the structural invariants of one Parse call.
func checkResult(t *testing.T, data []byte, res *Result, err error) {
	t.Helper()
	if err != nil {
		var fe *FileError
		if !errors.As(err, &fe) {
			t.Fatalf("error is not a *FileError: %#v", err)
		}
		if !fileCodes[fe.Code] || fe.Message == "" {
			t.Fatalf("bad FileError %#v", fe)
		}
		if res != nil {
			t.Fatalf("result with error")
		}
		if fe.Code == CodeNotUTF8 && utf8.Valid(data) {
			t.Fatalf("valid UTF-8 rejected as NotUTF8")
		}
		// An unknown column is quoted only when it is plain header text:
		// a name spanning lines is data that ran into the header.
		if i := strings.IndexByte(fe.Message, '"'); fe.Code == CodeUnknownColumn && i >= 0 {
			q, qerr := strconv.QuotedPrefix(fe.Message[i:])
			name, uerr := strconv.Unquote(q)
			if qerr != nil || uerr != nil || strings.ContainsAny(name, "\r\n") {
				t.Fatalf("unknown column quoted with a line break: %q", fe.Message)
			}
		}
		return
	}
	if res == nil {
		t.Fatalf("nil result without error")
	}
	if !utf8.Valid(data) {
		t.Fatalf("invalid UTF-8 accepted")
	}
	if res.Rows < 1 || res.Rows > MaxRows {
		t.Fatalf("Rows = %d", res.Rows)
	}
	if res.Valid() != (len(res.Problems) == 0) {
		t.Fatalf("Valid() inconsistent")
	}
	physLines := bytes.Count(normalizeCR(data), []byte("\n")) + 1 // a lone CR is a line break too
	bad := map[int]bool{}
	prev := 0
	for _, p := range res.Problems {
		if p.Line < 2 || p.Line > physLines {
			t.Fatalf("problem line %d out of range [2,%d]: %v", p.Line, physLines, p)
		}
		if p.Line < prev {
			t.Fatalf("problems out of order: %v", res.Problems)
		}
		prev = p.Line
		if !rowCodes[p.Code] || !columnNames[p.Column] || p.Message == "" {
			t.Fatalf("bad problem %#v", p)
		}
		if (p.Code == CodeColumnCount) != (p.Column == "") {
			t.Fatalf("column of %s problem: %q", p.Code, p.Column)
		}
		bad[p.Line] = true
	}
	if res.Rows != len(res.Users)+len(bad) {
		t.Fatalf("Rows %d != %d users + %d bad rows", res.Rows, len(res.Users), len(bad))
	}
	seen := map[string]bool{}
	prev = 0
	for _, u := range res.Users {
		if u.Line < 2 || u.Line <= prev || bad[u.Line] {
			t.Fatalf("user line %d (previous %d, bad %v)", u.Line, prev, bad[u.Line])
		}
		prev = u.Line
		if checkAddress(u.EmailAddress) != "" || u.EmailAddress != strings.TrimSpace(u.EmailAddress) {
			t.Fatalf("invalid address in a valid user: %q", u.EmailAddress)
		}
		if u.UserName == "" || u.UserName != strings.TrimSpace(u.UserName) || u.UserRoot != strings.TrimSpace(u.UserRoot) {
			t.Fatalf("untrimmed or empty user name/root: %q %q", u.UserName, u.UserRoot)
		}
		if strings.TrimSpace(u.Password) == "" {
			t.Fatalf("empty password in a valid user")
		}
		key := strings.ToLower(u.EmailAddress)
		if seen[key] {
			t.Fatalf("duplicate address among valid users")
		}
		seen[key] = true
	}
}

const markOpen, markClose = "\ue000", "\ue001"

// checkNoLeak rewrites data so that every field that may be a password
// holds a unique marker, parses the rewrite, and checks that no marker
// reaches a Problem, an error or a formatted User.
func checkNoLeak(t *testing.T, data []byte, res0 *Result, err0 error) {
	t.Helper()
	if !utf8.Valid(data) || bytes.Contains(data, []byte(markOpen)) || bytes.Contains(data, []byte(markClose)) {
		return
	}
	cr := csv.NewReader(bytes.NewReader(normalizeCR(bytes.TrimPrefix(data, utf8BOM))))
	cr.FieldsPerRecord = -1
	var recs [][]string
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return // malformed: nothing to rewrite
		}
		if !blank(rec) {
			recs = append(recs, rec)
		}
	}
	if len(recs) == 0 {
		return
	}
	n := 0
	mark := func(s string) string {
		if strings.TrimSpace(s) == "" {
			return s
		}
		n++
		return markOpen + strconv.Itoa(n) + markClose
	}
	markAll := func(rec []string) {
		for i := range rec {
			rec[i] = mark(rec[i])
		}
	}
	header, pwCol, known := recs[0], -1, false
	for i, h := range header {
		for _, c := range columns {
			if strings.EqualFold(strings.TrimSpace(h), c) {
				known = true
				if c == ColPassword {
					pwCol = i
				}
			}
		}
	}
	if !known {
		markAll(header) // not a header: a data row
	}
	for _, rec := range recs[1:] {
		if !known || pwCol < 0 || len(rec) != len(header) {
			markAll(rec)
		} else {
			rec[pwCol] = mark(rec[pwCol])
		}
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.WriteAll(recs); err != nil {
		t.Fatalf("rewrite: %v", err)
	}
	res, err := Parse(bytes.NewReader(buf.Bytes()))
	checkResult(t, buf.Bytes(), res, err)
	leaks := func(what, s string) {
		for _, m := range []string{markOpen, markClose, `\ue000`, `\ue001`, `\U0000e000`} {
			if strings.Contains(s, m) {
				t.Fatalf("%s leaks a password field: %q\ninput: %q", what, s, buf.Bytes())
			}
		}
	}
	if err != nil {
		leaks("error", err.Error())
		leaks("error %#v", fmt.Sprintf("%#v", err))
	} else {
		for _, p := range res.Problems {
			leaks("problem", p.Error())
		}
		for _, u := range res.Users {
			leaks("user", fmt.Sprintf("%v %+v %#v %s %q %d %x", u, u, u, u, u, u, u))
		}
	}
	// Replacing password fields by other non-blank text changes no outcome.
	if known && pwCol >= 0 && (err0 == nil) == (err == nil) {
		if err0 != nil {
			var a, b *FileError
			errors.As(err0, &a)
			errors.As(err, &b)
			if a.Code != b.Code {
				t.Fatalf("rewrite changed the rejection: %v → %v", err0, err)
			}
		} else if res0.Rows != res.Rows || len(res0.Users) != len(res.Users) || len(res0.Problems) != len(res.Problems) {
			t.Fatalf("rewrite changed the result: %d/%d/%d → %d/%d/%d", res0.Rows, len(res0.Users), len(res0.Problems),
				res.Rows, len(res.Users), len(res.Problems))
		}
	} else if known && pwCol >= 0 && (err0 == nil) != (err == nil) {
		t.Fatalf("rewrite changed acceptance: %v → %v", err0, err)
	}
}
