package csvbatch

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of a migration CSV file (Exchange Online's).
const (
	MaxRows  = 50000    // data rows, header and blank lines not counted
	MaxBytes = 10 << 20 // bytes, the whole file including the header
)

// Canonical column names.
const (
	ColEmailAddress = "EmailAddress"
	ColUserName     = "UserName"
	ColPassword     = "Password"
	ColUserRoot     = "UserRoot"
)

var columns = [...]string{ColEmailAddress, ColUserName, ColPassword, ColUserRoot}

const (
	colEmail = iota
	colUser
	colPass
	colRoot
	numCols
)

// Result is a parsed file: the valid users, in file order, and the problems
// of the bad rows, in file order. Rows counts the data rows (blank lines not
// included); every row is either in Users or has at least one Problem.
type Result struct {
	Users    []User
	Problems []Problem
	Rows     int
}

// Valid reports whether the file has no bad rows.
func (r *Result) Valid() bool { return r != nil && len(r.Problems) == 0 }

// ParseFile parses the CSV file at path. A regular file larger than
// MaxBytes is rejected by its size, without being read.
func ParseFile(path string) (*Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Mode().IsRegular() && fi.Size() > MaxBytes {
		return nil, fileErr(CodeTooLarge, "the file is %d bytes; the limit is %d bytes (10 MB)", fi.Size(), MaxBytes)
	}
	return Parse(f)
}

// Parse reads a migration CSV from r and validates it. The error is a
// *FileError when the file is rejected whole, or the reader's error. Parse
// reads at most MaxBytes+1 bytes from r.
func Parse(r io.Reader) (*Result, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxBytes {
		return nil, fileErr(CodeTooLarge, "the file is larger than %d bytes (10 MB)", MaxBytes)
	}
	return parseBytes(data)
}

var utf8BOM = []byte("\xef\xbb\xbf")

func parseBytes(data []byte) (*Result, error) {
	if !utf8.Valid(data) {
		return nil, notUTF8(data)
	}
	data = bytes.TrimPrefix(data, utf8BOM)
	data = normalizeCR(data)

	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = separator(data)
	cr.FieldsPerRecord = -1 // ragged rows are a row problem, not a file error
	cr.ReuseRecord = true

	// The header is the first non-blank record.
	var header []string
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil, fileErr(CodeEmpty, "the file is empty")
		}
		if err != nil {
			return nil, malformed(err)
		}
		if !blank(rec) {
			header = rec
			break
		}
	}
	idx, ferr := mapHeader(header)
	if ferr != nil {
		return nil, ferr
	}
	width := len(header)

	res := &Result{}
	seen := make(map[string]int) // lower-case address → line of first use
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, malformed(err)
		}
		if blank(rec) {
			continue
		}
		res.Rows++
		if res.Rows > MaxRows {
			return nil, fileErr(CodeTooManyRows, "the file has more than %d data rows", MaxRows)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != width {
			res.Problems = append(res.Problems, Problem{
				Line: line, Code: CodeColumnCount,
				Message: fmt.Sprintf("the row has %d fields; the header has %d", len(rec), width),
			})
			continue
		}
		n := len(res.Problems)
		u := User{
			Line:         line,
			EmailAddress: strings.TrimSpace(rec[idx[colEmail]]),
			UserName:     strings.TrimSpace(rec[idx[colUser]]),
			Password:     rec[idx[colPass]],
		}
		if idx[colRoot] >= 0 {
			u.UserRoot = strings.TrimSpace(rec[idx[colRoot]])
		}
		if reason := checkAddress(u.EmailAddress); reason != "" {
			res.Problems = append(res.Problems, Problem{Line: line, Column: ColEmailAddress, Code: CodeInvalidEmailAddress, Message: reason})
		} else {
			key := strings.ToLower(u.EmailAddress)
			if first, dup := seen[key]; dup {
				res.Problems = append(res.Problems, Problem{
					Line: line, Column: ColEmailAddress, Code: CodeDuplicateEmailAddress,
					Message: "the EmailAddress is already used on line " + strconv.Itoa(first),
				})
			} else {
				seen[key] = line
			}
		}
		if u.UserName == "" {
			res.Problems = append(res.Problems, Problem{Line: line, Column: ColUserName, Code: CodeEmptyUserName, Message: "the UserName is empty"})
		}
		if strings.TrimSpace(u.Password) == "" {
			res.Problems = append(res.Problems, Problem{Line: line, Column: ColPassword, Code: CodeEmptyPassword, Message: "the Password is empty"})
		}
		if len(res.Problems) == n {
			res.Users = append(res.Users, u)
		}
	}
	if res.Rows == 0 {
		return nil, fileErr(CodeEmpty, "the file has a header but no data rows")
	}
	return res, nil
}

// separator is ',' unless the header line proves another: Excel writes
// ';' where the decimal separator is ',' (German, French, …) and some tools
// write tabs. The header proves a separator when splitting at it names more
// of the known columns than splitting at ','.
func separator(data []byte) rune {
	var header string
	for line := range strings.SplitSeq(string(data), "\n") {
		if strings.TrimSpace(line) != "" {
			header = line
			break
		}
	}
	known := func(sep string) int {
		n := 0
		for f := range strings.SplitSeq(header, sep) {
			f = strings.Trim(strings.TrimSpace(f), `"`)
			for _, c := range columns {
				if strings.EqualFold(f, c) {
					n++
				}
			}
		}
		return n
	}
	best, bestN := ',', known(",")
	for _, sep := range []rune{';', '\t'} {
		if n := known(string(sep)); n > bestN {
			best, bestN = sep, n
		}
	}
	return best
}

// normalizeCR turns each CR that is not followed by LF into LF, so that a
// file with classic Mac line endings (Excel for Mac's "CSV (Macintosh)")
// parses as lines instead of one huge record, whose "header" would then
// contain data. It returns data itself when there is no lone CR.
func normalizeCR(data []byte) []byte {
	lone := func(i int) bool { return data[i] == '\r' && (i+1 == len(data) || data[i+1] != '\n') }
	first := -1
	for i := bytes.IndexByte(data, '\r'); i >= 0 && i < len(data); {
		if lone(i) {
			first = i
			break
		}
		j := bytes.IndexByte(data[i+1:], '\r')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	if first < 0 {
		return data
	}
	out := bytes.Clone(data)
	for i := first; i < len(out); i++ {
		if lone(i) {
			out[i] = '\n'
		}
	}
	return out
}

// blank reports whether every field of rec is empty or white space.
func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// mapHeader returns the index of each canonical column in header (-1 for
// an absent UserRoot).
func mapHeader(header []string) ([numCols]int, *FileError) {
	var idx [numCols]int
	for i := range idx {
		idx[i] = -1
	}
	known := 0
	var unknown []int
	for i, h := range header {
		h = strings.TrimSpace(h)
		c := -1
		for j, name := range columns {
			if strings.EqualFold(h, name) {
				c = j
				break
			}
		}
		if c < 0 {
			unknown = append(unknown, i)
			continue
		}
		if idx[c] >= 0 {
			return idx, fileErr(CodeMalformed, "the header names column %s twice (fields %d and %d)", columns[c], idx[c]+1, i+1)
		}
		idx[c] = i
		known++
	}
	var missing []string
	for j := colEmail; j <= colPass; j++ {
		if idx[j] < 0 {
			missing = append(missing, columns[j])
		}
	}
	if known == 0 {
		// Not a header at all, most likely a data row: quote nothing of it.
		return idx, fileErr(CodeMissingHeader, "the first row is not a header: it must name the columns EmailAddress, UserName and Password (and optionally UserRoot)")
	}
	if len(unknown) > 0 {
		i := unknown[0]
		name := strings.TrimSpace(header[i])
		if name == "" {
			return idx, fileErr(CodeUnknownColumn, "the header has an empty column name (field %d); allowed columns are EmailAddress, UserName, Password and UserRoot", i+1)
		}
		if strings.ContainsFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) {
			// A name spanning lines or holding control characters may
			// carry data: do not quote it.
			return idx, fileErr(CodeUnknownColumn, "the header names an unknown column with line breaks or control characters (field %d); allowed columns are EmailAddress, UserName, Password and UserRoot", i+1)
		}
		return idx, fileErr(CodeUnknownColumn, "the header names an unknown column %s (field %d); allowed columns are EmailAddress, UserName, Password and UserRoot", quoteShort(name), i+1)
	}
	if len(missing) > 0 {
		return idx, fileErr(CodeMissingHeader, "the header lacks the column(s) %s", strings.Join(missing, ", "))
	}
	return idx, nil
}

// quoteShort quotes a header name for a message, shortened to 40 runes.
func quoteShort(s string) string {
	const max = 40
	if utf8.RuneCountInString(s) > max {
		r := []rune(s)
		s = string(r[:max]) + "…"
	}
	return strconv.Quote(s)
}

// malformed turns an encoding/csv error into a FileError. A *csv.ParseError
// carries positions and a fixed reason, never the field's text.
func malformed(err error) *FileError {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fileErr(CodeMalformed, "line %d, column %d: %v", pe.Line, pe.Column, pe.Err)
	}
	return fileErr(CodeMalformed, "the file cannot be parsed as CSV")
}

func notUTF8(data []byte) *FileError {
	if bytes.HasPrefix(data, []byte{0xff, 0xfe}) || bytes.HasPrefix(data, []byte{0xfe, 0xff}) {
		return fileErr(CodeNotUTF8, "the file is UTF-16; save it as UTF-8 (\"CSV UTF-8\")")
	}
	line := 1
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		if r == utf8.RuneError && size <= 1 {
			break
		}
		if r == '\n' {
			line++
		}
		data = data[size:]
	}
	if looksWindows1252(data) {
		return fileErr(CodeNotUTF8, "save the file as \"CSV UTF-8 (comma delimited)\" (Excel: File > Save As > CSV UTF-8): it is in a Windows code page (probably Windows-1252, Excel's plain \"CSV\"), not UTF-8; the first such character is on line %d", line)
	}
	return fileErr(CodeNotUTF8, "save the file as \"CSV UTF-8\": it is not valid UTF-8 (first invalid byte on line %d)", line)
}

// looksWindows1252 reports whether the rest of a file (from its first
// byte that is not UTF-8) reads as Windows-1252 text: every invalid byte is
// a printable Windows-1252 character (umlauts, accents, €, quotes).
func looksWindows1252(rest []byte) bool {
	for len(rest) > 0 {
		r, size := utf8.DecodeRune(rest)
		if r == utf8.RuneError && size <= 1 {
			b := rest[0]
			// 0x81, 0x8D, 0x8F, 0x90, 0x9D are undefined in Windows-1252.
			if b == 0x81 || b == 0x8D || b == 0x8F || b == 0x90 || b == 0x9D {
				return false
			}
		}
		rest = rest[size:]
	}
	return true
}

// checkAddress returns why s is not an acceptable EmailAddress, or "".
// The reason never quotes s.
func checkAddress(s string) string {
	if s == "" {
		return "the EmailAddress is empty"
	}
	if len(s) > 254 {
		return "the EmailAddress is longer than 254 characters"
	}
	for _, r := range s {
		if !unicode.IsPrint(r) || r == ' ' {
			return "the EmailAddress contains a space, control or invisible character"
		}
	}
	if strings.ContainsAny(s, "<>") {
		return "the EmailAddress must be a bare address (name@contoso.com), without angle brackets"
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "the EmailAddress is not a valid address (name@contoso.com)"
	}
	if a.Name != "" || a.Address != s {
		return "the EmailAddress must be a bare address (name@contoso.com), without display name, comments or quotes"
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 { // ParseAddress guarantees an @; be safe anyway
		return "the EmailAddress is not a valid address (name@contoso.com)"
	}
	local, domain := s[:at], s[at+1:]
	if len(local) > 64 {
		return "the local part of the EmailAddress is longer than 64 characters"
	}
	if !validDomain(domain) {
		return "the domain of the EmailAddress is not a valid domain name"
	}
	return ""
}

// validDomain accepts a dotted domain name or a single label; each label is
// 1–63 bytes of letters, digits and hyphens, not starting or ending with a
// hyphen. Internationalised (UTF-8) labels are accepted as letters.
func validDomain(d string) bool {
	if d == "" || len(d) > 253 {
		return false
	}
	for label := range strings.SplitSeq(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if r != '-' && !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r) {
				return false
			}
		}
	}
	return true
}
