package csvbatch

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// genCSV returns a valid file with n data rows.
func genCSV(n int) []byte {
	var b bytes.Buffer
	b.Grow(n * 64)
	b.WriteString("EmailAddress,UserName,Password,UserRoot\r\n")
	for i := range n {
		fmt.Fprintf(&b, "user%06d@example.com,user%06d,Pass word %06d!,/home/user%06d\r\n", i, i, i, i)
	}
	return b.Bytes()
}

func TestParse_MaxRows(t *testing.T) {
	data := genCSV(MaxRows)
	res, err := Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Parse(%d rows): %v", MaxRows, err)
	}
	if !res.Valid() || len(res.Users) != MaxRows || res.Rows != MaxRows {
		t.Fatalf("users %d, rows %d, problems %d; want %d valid", len(res.Users), res.Rows, len(res.Problems), MaxRows)
	}
	if last := res.Users[MaxRows-1]; last.Line != MaxRows+1 || last.Password != "Pass word 049999!" {
		t.Errorf("last user line %d", last.Line)
	}
}

func TestParse_TooManyRows(t *testing.T) {
	data := genCSV(MaxRows + 1)
	if len(data) > MaxBytes {
		t.Fatalf("test file is %d bytes, over the size limit", len(data))
	}
	_, err := Parse(bytes.NewReader(data))
	if !errors.Is(err, ErrTooManyRows) {
		t.Fatalf("err = %v, want TooManyRows", err)
	}
	// Blank lines do not count as rows.
	blanks := append(genCSV(MaxRows), strings.Repeat("\r\n,,,\r\n", 1000)...)
	if _, err := Parse(bytes.NewReader(blanks)); err != nil {
		t.Errorf("50,000 rows and blank lines: %v", err)
	}
}

// countingReader produces an endless valid CSV and counts what was read.
type countingReader struct {
	pattern []byte
	off     int
	n       int64
	limit   int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.n >= c.limit {
		return 0, io.EOF
	}
	if rem := c.limit - c.n; int64(len(p)) > rem {
		p = p[:rem]
	}
	for i := range p {
		p[i] = c.pattern[c.off]
		c.off = (c.off + 1) % len(c.pattern)
	}
	c.n += int64(len(p))
	return len(p), nil
}

func TestParse_TooLarge(t *testing.T) {
	tests := []struct {
		name  string
		size  int64
		wantE bool
	}{
		{"11 MB", 11 << 20, true},
		{"2 GB", 2 << 30, true},
		{"limit plus one", MaxBytes + 1, true},
		{"exactly the limit", MaxBytes, false},
	}
	row := []byte("someone@example.com,someone,password\n") // the header is the first row
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cr := &countingReader{pattern: append([]byte("EmailAddress,UserName,Password\n"), row...), limit: tt.size}
			_, err := Parse(cr)
			if tt.wantE {
				if !errors.Is(err, ErrTooLarge) {
					t.Fatalf("err = %v, want TooLarge", err)
				}
			} else if errors.Is(err, ErrTooLarge) {
				t.Fatalf("file of exactly %d bytes rejected as too large", tt.size)
			}
			if cr.n > MaxBytes+1 {
				t.Errorf("read %d bytes; must stop at %d", cr.n, MaxBytes+1)
			}
		})
	}
}

func BenchmarkParse_50000Rows(b *testing.B) {
	data := genCSV(MaxRows)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		res, err := Parse(bytes.NewReader(data))
		if err != nil || len(res.Users) != MaxRows {
			b.Fatalf("Parse: %v", err)
		}
	}
}
