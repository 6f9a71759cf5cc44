package csvbatch

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const hdr = "EmailAddress,UserName,Password\n"

func mustParse(t *testing.T, in string) *Result {
	t.Helper()
	res, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatalf("Parse: unexpected error %v", err)
	}
	return res
}

func wantFileError(t *testing.T, in string, sentinel error, code string) *FileError {
	t.Helper()
	res, err := Parse(strings.NewReader(in))
	if err == nil {
		t.Fatalf("Parse: want %s error, got result %+v", code, res)
	}
	if res != nil {
		t.Errorf("Parse: want nil result with error, got %+v", res)
	}
	if !errors.Is(err, sentinel) {
		t.Fatalf("Parse: error %v is not %v", err, sentinel)
	}
	var fe *FileError
	if !errors.As(err, &fe) || fe.Code != code {
		t.Fatalf("Parse: want *FileError with code %s, got %#v", code, err)
	}
	return fe
}

// problemKey is a Problem without its message, for comparisons.
type problemKey struct {
	Line   int
	Column string
	Code   string
}

func keys(ps []Problem) []problemKey {
	var out []problemKey
	for _, p := range ps {
		out = append(out, problemKey{p.Line, p.Column, p.Code})
	}
	return out
}

func TestParse_Valid(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []User
	}{
		{"basic", hdr + "a@example.com,alice,pw1\nb@example.com,bob,pw2\n",
			[]User{{Line: 2, EmailAddress: "a@example.com", UserName: "alice", Password: "pw1"},
				{Line: 3, EmailAddress: "b@example.com", UserName: "bob", Password: "pw2"}}},
		{"no trailing newline", hdr + "a@example.com,alice,pw1",
			[]User{{Line: 2, EmailAddress: "a@example.com", UserName: "alice", Password: "pw1"}}},
		{"BOM", "\xef\xbb\xbf" + hdr + "a@example.com,alice,pw1\n",
			[]User{{Line: 2, EmailAddress: "a@example.com", UserName: "alice", Password: "pw1"}}},
		{"CRLF", "EmailAddress,UserName,Password\r\na@example.com,alice,pw1\r\n",
			[]User{{Line: 2, EmailAddress: "a@example.com", UserName: "alice", Password: "pw1"}}},
		{"any order and case", "password,USERNAME,emailaddress\npw1,alice,a@example.com\n",
			[]User{{Line: 2, EmailAddress: "a@example.com", UserName: "alice", Password: "pw1"}}},
		{"header cells trimmed and quoted", ` EmailAddress ,"UserName", Password` + "\na@example.com,alice,pw1\n",
			[]User{{Line: 2, EmailAddress: "a@example.com", UserName: "alice", Password: "pw1"}}},
		{"UserRoot", "EmailAddress,UserName,Password,UserRoot\na@example.com,alice,pw1,/users/alice\nb@example.com,bob,pw2,\n",
			[]User{{Line: 2, EmailAddress: "a@example.com", UserName: "alice", Password: "pw1", UserRoot: "/users/alice"},
				{Line: 3, EmailAddress: "b@example.com", UserName: "bob", Password: "pw2"}}},
		{"fields trimmed, password verbatim", hdr + "  a@example.com , alice\t, my secret pass \n",
			[]User{{Line: 2, EmailAddress: "a@example.com", UserName: "alice", Password: " my secret pass "}}},
		{"quoted password with comma, quote and newline", hdr + "a@example.com,alice,\"p,w\"\"x\ny\"\n",
			[]User{{Line: 2, EmailAddress: "a@example.com", UserName: "alice", Password: "p,w\"x\ny"}}},
		{"classic Mac CR line endings", "EmailAddress,UserName,Password\ra@example.com,alice,\"pw\r1\"\r\rb@example.com,bob,pw2\r",
			[]User{{Line: 2, EmailAddress: "a@example.com", UserName: "alice", Password: "pw\n1"},
				{Line: 5, EmailAddress: "b@example.com", UserName: "bob", Password: "pw2"}}},
		{"blank lines ignored", "\n\n" + hdr + "\n  \na@example.com,alice,pw1\n,,\n\r\nb@example.com,bob,pw2\n\n",
			[]User{{Line: 6, EmailAddress: "a@example.com", UserName: "alice", Password: "pw1"},
				{Line: 9, EmailAddress: "b@example.com", UserName: "bob", Password: "pw2"}}},
		{"email case kept", hdr + "Alice.Smith@Example.COM,alice,pw1\n",
			[]User{{Line: 2, EmailAddress: "Alice.Smith@Example.COM", UserName: "alice", Password: "pw1"}}},
		{"master user login and plus address", hdr + "bob+tag@example.com,bob*admin,pw1\n",
			[]User{{Line: 2, EmailAddress: "bob+tag@example.com", UserName: "bob*admin", Password: "pw1"}}},
		{"single label domain", hdr + "a@localhost,alice,pw1\n",
			[]User{{Line: 2, EmailAddress: "a@localhost", UserName: "alice", Password: "pw1"}}},
		{"internationalised domain and user", hdr + "jürgen@münchen.de,jürgen,pässwort\n",
			[]User{{Line: 2, EmailAddress: "jürgen@münchen.de", UserName: "jürgen", Password: "pässwort"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustParse(t, tt.in)
			if !res.Valid() || len(res.Problems) != 0 {
				t.Fatalf("want valid, got problems %v", res.Problems)
			}
			if !reflect.DeepEqual(res.Users, tt.want) {
				t.Errorf("users:\n got %#v\nwant %#v", res.Users, tt.want)
			}
			// Passwords are compared separately: %#v hides them.
			for i := range tt.want {
				if res.Users[i].Password != tt.want[i].Password {
					t.Errorf("user %d: password %q, want %q", i, res.Users[i].Password, tt.want[i].Password)
				}
			}
			if res.Rows != len(tt.want) {
				t.Errorf("Rows = %d, want %d", res.Rows, len(tt.want))
			}
		})
	}
}

func TestParse_MissingHeader(t *testing.T) {
	tests := []struct{ name, in, mention string }{
		{"data row first", "a@example.com,alice,secretpw\n", "not a header"},
		{"no password column", "EmailAddress,UserName\na@example.com,alice\n", "Password"},
		{"only UserRoot", "UserRoot\nx\n", "EmailAddress, UserName, Password"},
		// A separator is only taken when the header proves it.
		{"semicolon data row first", "a@example.com;alice;secretpw\n", "not a header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fe := wantFileError(t, tt.in, ErrMissingHeader, CodeMissingHeader)
			if !strings.Contains(fe.Error(), tt.mention) {
				t.Errorf("error %q does not mention %q", fe, tt.mention)
			}
			if strings.Contains(fe.Error(), "secretpw") {
				t.Errorf("error %q quotes a data row", fe)
			}
		})
	}
}

func TestParse_UnknownColumn(t *testing.T) {
	tests := []struct{ name, in, mention string }{
		{"extra column", "EmailAddress,UserName,Password,Department\na@example.com,alice,pw,IT\n", `"Department"`},
		{"typo", "EmailAddress,UserName,Pasword\na@example.com,alice,pw\n", `"Pasword"`},
		{"trailing comma", "EmailAddress,UserName,Password,\na@example.com,alice,pw,\n", "empty column name"},
		{"long name shortened", "EmailAddress,UserName,Password," + strings.Repeat("x", 500) + "\n", "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fe := wantFileError(t, tt.in, ErrUnknownColumn, CodeUnknownColumn)
			if !strings.Contains(fe.Message, tt.mention) {
				t.Errorf("error %q does not mention %q", fe, tt.mention)
			}
			if len(fe.Message) > 300 {
				t.Errorf("message too long: %d bytes", len(fe.Message))
			}
		})
	}
}

func TestParse_Empty(t *testing.T) {
	for name, in := range map[string]string{
		"zero bytes":        "",
		"BOM only":          "\xef\xbb\xbf",
		"blank lines only":  "\n\r\n  \n",
		"header only":       hdr,
		"header and blanks": hdr + "\n,,\n \n",
	} {
		t.Run(name, func(t *testing.T) { wantFileError(t, in, ErrEmpty, CodeEmpty) })
	}
}

func TestParse_NotUTF8(t *testing.T) {
	tests := []struct{ name, in, mention string }{
		{"latin1 password", hdr + "a@example.com,alice,p\xe4ss\n", "line 2"},
		{"windows-1252 says how to save", hdr + "a@example.com,j\xfcrgen,\x80uro\n", `save the file as "CSV UTF-8`},
		{"UTF-16LE", "\xff\xfeE\x00m\x00", "UTF-16"},
		{"truncated sequence", hdr + "a@example.com,alice,pw\xc3", "line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fe := wantFileError(t, tt.in, ErrNotUTF8, CodeNotUTF8)
			if !strings.Contains(fe.Message, tt.mention) {
				t.Errorf("error %q does not mention %q", fe, tt.mention)
			}
		})
	}
}

func TestParse_Malformed(t *testing.T) {
	tests := []struct{ name, in, mention string }{
		{"bare quote", hdr + "a@example.com,alice,pa\"ss\n", "line 2"},
		{"unterminated quote", hdr + "a@example.com,alice,\"secret\n", "line"},
		{"junk after quote", hdr + "a@example.com,alice,\"sec\"ret\n", "line 2"},
		{"duplicate column", "EmailAddress,UserName,Password,emailaddress\n", "EmailAddress twice"},
		{"bare quote in header", "Email\"Address,UserName,Password\n", "line 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fe := wantFileError(t, tt.in, ErrMalformed, CodeMalformed)
			if !strings.Contains(fe.Message, tt.mention) {
				t.Errorf("error %q does not mention %q", fe, tt.mention)
			}
			for _, secret := range []string{"pa\"ss", "secret", "sec"} {
				if strings.Contains(fe.Error(), secret) {
					t.Errorf("error %q quotes the password field", fe)
				}
			}
		})
	}
}

func TestParse_InvalidEmailAddress(t *testing.T) {
	tests := []struct {
		addr  string
		valid bool
	}{
		{"user@example.com", true},
		{"first.last@sub.example.co.uk", true},
		{"user+tag@example.com", true},
		{"o'brien@example.ie", true},
		{"user@localhost", true},
		{"user@xn--mnchen-3ya.de", true},
		{"user@123.example", true},
		{"", false},
		{"   ", false},
		{"user", false},
		{"user@", false},
		{"@example.com", false},
		{"user@@example.com", false},
		{"user@example..com", false},
		{"user@.example.com", false},
		{"user@example.com.", false},
		{"user@-example.com", false},
		{"user@example-.com", false},
		{"user@exa_mple.com", false},
		{"user@exa mple.com", false},
		{"us er@example.com", false},
		{".user@example.com", false},
		{"user.@example.com", false},
		{"user..x@example.com", false},
		{"<user@example.com>", false},
		{"Alice <user@example.com>", false},
		{`"Alice" <user@example.com>`, false},
		{"user@example.com (Alice)", false},
		{`"al ice"@example.com`, false},
		{"user@[192.0.2.1]", false},
		{"us\u200ber@example.com", false},
		{"user@exam\ufeffple.com", false},
		{"user\x00@example.com", false},
		{"user@exa\rmple.com", false},
		{"user@example.com\r", true}, // trimmed
		{"user@उदाहरण.भारत", true},
		{"user@example.com,other@example.com", false}, // quoted field, two addresses
		{strings.Repeat("a", 65) + "@example.com", false},
		{"a@" + strings.Repeat("b", 64) + ".com", false},
		{"a@" + strings.Repeat(strings.Repeat("b", 60)+".", 5) + "com", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			in := hdr + `"` + strings.ReplaceAll(tt.addr, `"`, `""`) + `",alice,pw` + "\n"
			res := mustParse(t, in)
			if tt.valid {
				if !res.Valid() {
					t.Fatalf("want valid, got %v", res.Problems)
				}
				return
			}
			want := []problemKey{{2, ColEmailAddress, CodeInvalidEmailAddress}}
			if got := keys(res.Problems); !reflect.DeepEqual(got, want) {
				t.Fatalf("problems %v, want %v", res.Problems, want)
			}
			if len(res.Users) != 0 {
				t.Errorf("invalid row returned as user")
			}
			if trimmed := strings.TrimSpace(tt.addr); trimmed != "" && strings.Contains(res.Problems[0].Message, trimmed) {
				t.Errorf("message %q quotes the field", res.Problems[0].Message)
			}
		})
	}
}

func TestParse_RowProblems(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		want      []problemKey
		wantUsers []int // lines of the valid users
	}{
		{"EmptyUserName", hdr + "a@example.com,,pw\nb@example.com,  ,pw\n",
			[]problemKey{{2, ColUserName, CodeEmptyUserName}, {3, ColUserName, CodeEmptyUserName}}, nil},
		{"EmptyPassword", hdr + "a@example.com,alice,\nb@example.com,bob,   \nc@example.com,carol,\"\"\n",
			[]problemKey{{2, ColPassword, CodeEmptyPassword}, {3, ColPassword, CodeEmptyPassword}, {4, ColPassword, CodeEmptyPassword}}, nil},
		{"ColumnCount", hdr + "a@example.com,alice\nb@example.com,bob,pw,extra\nc@example.com,carol,pw\n",
			[]problemKey{{2, "", CodeColumnCount}, {3, "", CodeColumnCount}}, []int{4}},
		{"several problems in one row", hdr + "not-an-address,,\n",
			[]problemKey{{2, ColEmailAddress, CodeInvalidEmailAddress}, {2, ColUserName, CodeEmptyUserName}, {2, ColPassword, CodeEmptyPassword}}, nil},
		{"DuplicateEmailAddress", hdr + "a@example.com,alice,pw\nb@example.com,bob,pw\nA@Example.COM,alice2,pw\n a@example.com ,alice3,pw\n",
			[]problemKey{{4, ColEmailAddress, CodeDuplicateEmailAddress}, {5, ColEmailAddress, CodeDuplicateEmailAddress}}, []int{2, 3}},
		{"duplicate of a row with another problem", hdr + "a@example.com,alice,\na@example.com,alice,pw\n",
			[]problemKey{{2, ColPassword, CodeEmptyPassword}, {3, ColEmailAddress, CodeDuplicateEmailAddress}}, nil},
		{"ragged row does not claim its address", hdr + "a@example.com,alice\na@example.com,alice,pw\n",
			[]problemKey{{2, "", CodeColumnCount}}, []int{3}},
		{"mixed good and bad", hdr + "a@example.com,alice,pw\nbad,bob,pw\nc@example.com,carol,pw\n",
			[]problemKey{{3, ColEmailAddress, CodeInvalidEmailAddress}}, []int{2, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustParse(t, tt.in)
			if res.Valid() {
				t.Fatalf("want problems, got none")
			}
			if got := keys(res.Problems); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("problems\n got %v\nwant %v", res.Problems, tt.want)
			}
			var lines []int
			for _, u := range res.Users {
				lines = append(lines, u.Line)
			}
			if !reflect.DeepEqual(lines, tt.wantUsers) {
				t.Errorf("valid user lines %v, want %v", lines, tt.wantUsers)
			}
		})
	}
}

func TestParse_DuplicateEmailAddress(t *testing.T) {
	res := mustParse(t, hdr+"a@example.com,alice,pw\n\n\"b@example.com\",\"bob\nsmith\",pw\nB@EXAMPLE.com,bob,pw\n")
	if len(res.Problems) != 1 {
		t.Fatalf("problems %v, want one", res.Problems)
	}
	p := res.Problems[0]
	if p.Line != 6 || p.Code != CodeDuplicateEmailAddress || p.Column != ColEmailAddress {
		t.Errorf("problem %+v", p)
	}
	if !strings.Contains(p.Message, "line 4") {
		t.Errorf("message %q does not name the first occurrence (line 4)", p.Message)
	}
	if want := "line 6, column EmailAddress: the EmailAddress is already used on line 4"; p.Error() != want {
		t.Errorf("Error() = %q, want %q", p.Error(), want)
	}
}

func TestParse_LineNumbers(t *testing.T) {
	in := "\xef\xbb\xbf\r\n" + // line 1: blank (after BOM)
		"EmailAddress,UserName,Password\r\n" + // 2: header
		"a@example.com,alice,\"multi\r\nline\r\npassword\"\r\n" + // 3-5
		"\r\n" + // 6
		"bad,\"bob\n\",pw\n" + // 7-8
		"c@example.com,carol,\"x\"\n" + // 9
		"\"d@example.com\n\",dave,\n" // 10-11: address with trailing newline is trimmed; empty password
	res := mustParse(t, in)
	if len(res.Users) != 2 || res.Users[0].Line != 3 || res.Users[1].Line != 9 {
		t.Errorf("users %v, want lines 3 and 9", res.Users)
	}
	want := []problemKey{{7, ColEmailAddress, CodeInvalidEmailAddress}, {10, ColPassword, CodeEmptyPassword}}
	if got := keys(res.Problems); !reflect.DeepEqual(got, want) {
		t.Errorf("problems %v, want %v", res.Problems, want)
	}
	if res.Rows != 4 {
		t.Errorf("Rows = %d, want 4", res.Rows)
	}
}

// TestParse_PasswordNeverLeaks feeds rows whose every field is a password
// and checks that no problem, error or formatted user carries it.
func TestParse_PasswordNeverLeaks(t *testing.T) {
	const pw = "S3cr3t-Pa55w0rd!"
	inputs := map[string]string{
		"ragged row, too many":               hdr + "a@example.com,alice," + pw + ",extra\n",
		"ragged row, too few":                hdr + "a@example.com," + pw + "\n",
		"shifted columns":                    hdr + pw + ",alice,a@example.com\n",
		"password as username":               hdr + "bad address," + pw + ",\n",
		"duplicate":                          hdr + "a@example.com,alice," + pw + "\na@example.com,alice," + pw + "\n",
		"password in header row":             "a@example.com,alice," + pw + "\n",
		"bare quote in password":             hdr + "a@example.com,alice," + pw + "\"x\n",
		"unterminated password":              hdr + "a@example.com,alice,\"" + pw + "\n",
		"latin1 password":                    hdr + "a@example.com,alice," + pw + "\xe4\n",
		"password with addr form":            hdr + "<" + pw + "@example.com>,alice,pw\n",
		"CR line endings, data after header": "Password,UserName,EmailAddress,Extra\r" + pw + ",alice,a@example.com\r",
		"header cell running into data":      "EmailAddress,UserName,Password,\"Extra\n" + pw + "\"\n",
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			res, err := Parse(strings.NewReader(in))
			if err != nil {
				if strings.Contains(err.Error(), pw) || strings.Contains(fmt.Sprintf("%+v %#v", err, err), pw) {
					t.Errorf("error leaks the password: %v", err)
				}
				return
			}
			if len(res.Problems) == 0 {
				t.Fatalf("want problems")
			}
			for _, p := range res.Problems {
				for _, s := range []string{p.Error(), p.Message, p.String(), fmt.Sprintf("%+v", p)} {
					if strings.Contains(s, pw) {
						t.Errorf("problem leaks the password: %s", s)
					}
				}
			}
		})
	}
}

func TestUser_HidesPassword(t *testing.T) {
	const pw = "hunter2-very-secret"
	u := User{Line: 2, EmailAddress: "a@example.com", UserName: "alice", Password: pw, UserRoot: "/r"}
	res := &Result{Users: []User{u}, Rows: 1}
	outs := []string{u.String(), u.GoString()}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x", "%X", "%10.3v"} {
		outs = append(outs, fmt.Sprintf(verb, u), fmt.Sprintf(verb, &u), fmt.Sprintf(verb, []User{u}), fmt.Sprintf(verb, res))
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("user", "user", u)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("user", "user", u)
	outs = append(outs, buf.String())
	for _, s := range outs {
		if strings.Contains(s, pw) || strings.Contains(s, fmt.Sprintf("%x", pw)) {
			t.Errorf("output leaks the password: %s", s)
		}
	}
	if s := u.String(); !strings.Contains(s, "a@example.com") || !strings.Contains(s, "alice") || !strings.Contains(s, redacted) {
		t.Errorf("String() = %q, want address, user name and %s", s, redacted)
	}
	if s := fmt.Sprintf("%#v", u); !strings.HasPrefix(s, "csvbatch.User{") {
		t.Errorf("%%#v = %q", s)
	}
}

func TestFileError_Is(t *testing.T) {
	sentinels := map[string]error{
		CodeTooLarge: ErrTooLarge, CodeTooManyRows: ErrTooManyRows, CodeMissingHeader: ErrMissingHeader,
		CodeUnknownColumn: ErrUnknownColumn, CodeEmpty: ErrEmpty, CodeNotUTF8: ErrNotUTF8, CodeMalformed: ErrMalformed,
	}
	for code, s := range sentinels {
		err := fmt.Errorf("batch %q: %w", "b1", fileErr(code, "because"))
		for code2, s2 := range sentinels {
			if got := errors.Is(err, s2); got != (code == code2) {
				t.Errorf("errors.Is(%s error, %s sentinel) = %v", code, code2, got)
			}
		}
		if !strings.Contains(s.Error(), code) {
			t.Errorf("sentinel %v does not name its code", s)
		}
	}
	if errors.Is(ErrEmpty, io.EOF) {
		t.Error("FileError matches a foreign error")
	}
	if got, want := fileErr(CodeEmpty, "the file is empty").Error(), "csv file rejected (Empty): the file is empty"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestProblem_Error(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{Line: 7, Column: ColEmailAddress, Code: CodeInvalidEmailAddress, Message: "bad"}, "line 7, column EmailAddress: bad"},
		{Problem{Line: 3, Code: CodeColumnCount, Message: "ragged"}, "line 3: ragged"},
	}
	for _, tt := range tests {
		var err error = tt.p
		if err.Error() != tt.want {
			t.Errorf("Error() = %q, want %q", err.Error(), tt.want)
		}
	}
}

// errReader fails after its data.
type errReader struct{ r io.Reader }

var errBoom = errors.New("disk on fire")

func (e errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		return n, errBoom
	}
	return n, err
}

func TestParse_ReadError(t *testing.T) {
	_, err := Parse(errReader{strings.NewReader(hdr + "a@example.com,alice,pw\n")})
	if !errors.Is(err, errBoom) {
		t.Fatalf("err = %v, want the reader's error", err)
	}
	var fe *FileError
	if errors.As(err, &fe) {
		t.Errorf("I/O error reported as FileError %v", fe)
	}
}

func TestParseFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.csv")
	if err := os.WriteFile(good, []byte(hdr+"a@example.com,alice,pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := ParseFile(good)
	if err != nil || !res.Valid() || len(res.Users) != 1 {
		t.Fatalf("ParseFile(good) = %v, %v", res, err)
	}
	if _, err := ParseFile(filepath.Join(dir, "missing.csv")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ParseFile(missing) err = %v, want ErrNotExist", err)
	}
}

// TestParseFile_TooLarge rejects a 2 GB (sparse) file by its size alone.
func TestParseFile_TooLarge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(hdr); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(2 << 30); err != nil {
		t.Skipf("cannot create a sparse file: %v", err)
	}
	f.Close()
	_, err = ParseFile(path)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want TooLarge", err)
	}
	if !strings.Contains(err.Error(), "2147483648 bytes") {
		t.Errorf("error %q does not give the size", err)
	}
}

// TestParse_ExcelSeparators: German (and other) Excel writes ';', some tools
// tabs; the header proves the separator. Commas inside a ';' file stay in
// their field.
func TestParse_ExcelSeparators(t *testing.T) {
	for name, in := range map[string]string{
		"semicolon":                "EmailAddress;UserName;Password\na@example.com;alice;pw,with,commas\n",
		"semicolon BOM CRLF":       "\xef\xbb\xbfEmailAddress;UserName;Password\r\na@example.com;alice;pw,with,commas\r\n",
		"semicolon quoted header":  "\"EmailAddress\";\"UserName\";\"Password\"\na@example.com;alice;pw,with,commas\n",
		"tab":                      "EmailAddress\tUserName\tPassword\na@example.com\talice\tpw,with,commas\n",
		"semicolon with user root": "emailaddress;username;password;userroot\na@example.com;alice;pw,with,commas;Mail\n",
	} {
		t.Run(name, func(t *testing.T) {
			res, err := Parse(strings.NewReader(in))
			if err != nil {
				t.Fatal(err)
			}
			if !res.Valid() || len(res.Users) != 1 {
				t.Fatalf("problems %v", res.Problems)
			}
			u := res.Users[0]
			if u.EmailAddress != "a@example.com" || u.UserName != "alice" || u.Password != "pw,with,commas" {
				t.Errorf("user %#v (password %q)", u, u.Password)
			}
		})
	}
}
