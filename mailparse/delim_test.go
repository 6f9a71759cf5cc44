package mailparse

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

// delimLinesByLine is how split found delimiter lines before
// nextDelimiter: every line, one IndexByte each, tested for the prefix.
func delimLinesByLine(body, delim []byte) []int {
	var out []int
	for i := 0; i < len(body); {
		end := len(body)
		if j := bytes.IndexByte(body[i:], '\n'); j >= 0 {
			end = i + j + 1
		}
		if bytes.HasPrefix(body[i:end], delim) {
			out = append(out, i)
		}
		i = end
	}
	return out
}

// delimLines lists the delimiter lines nextDelimiter finds, line after
// line, as split walks them; with release set, it checks that the
// stretches released follow each other and are never longer than about
// ReleaseStep.
func delimLines(t testing.TB, body, delim []byte, release bool) []int {
	p := &Part{}
	last := 0
	if release {
		p.release = func(b []byte) {
			off := cap(body) - cap(b)
			if off != last || len(b) == 0 || len(b) > ReleaseStep+len(delim)+200 {
				t.Fatalf("released [%d, %d) after %d", off, off+len(b), last)
			}
			last = off + len(b)
		}
	}
	var out []int
	released := 0
	for i := 0; i < len(body); {
		k := p.nextDelimiter(body, i, delim, &released)
		if k < 0 {
			break
		}
		out = append(out, k)
		i = len(body)
		if j := bytes.IndexByte(body[k:], '\n'); j >= 0 {
			i = k + j + 1
		}
	}
	return out
}

func sameInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestNextDelimiter_SameAsLineByLine: the delimiter search finds exactly
// the lines the line-by-line scan found, on bodies made of lines that
// start with the delimiter, contain it, start with a piece of it or hold
// it across a line break, with and without release.
func TestNextDelimiter_SameAsLineByLine(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	pieces := []string{"--b1\r\n", "--b1--\r\n", "x--b1\r\n", "--b\r\n1\r\n", "--b1 \r\n", "-\n-b1\n", "--b1", "abc\r\n", "\n", "--b1x\r\n", "---b1\n"}
	for n := 0; n < 2000; n++ {
		var b strings.Builder
		for k := rng.IntN(30); k > 0; k-- {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		body := []byte(b.String())
		want := delimLinesByLine(body, []byte("--b1"))
		for _, release := range []bool{false, true} {
			if got := delimLines(t, body, []byte("--b1"), release); !sameInts(got, want) {
				t.Fatalf("%q (release %v): found %v, want %v", body, release, got, want)
			}
		}
	}
	// A delimiter with a line break inside never starts a line's prefix;
	// one that ends with a line break matches a line equal to it.
	for _, d := range []string{"--a\nb", "--a\n"} {
		body := []byte("x\n--a\nb\n--a\n")
		if got, want := delimLines(t, body, []byte(d), false), delimLinesByLine(body, []byte(d)); !sameInts(got, want) {
			t.Fatalf("delimiter %q: found %v, want %v", d, got, want)
		}
	}
}

// TestNextDelimiter_AcrossReleaseSteps: delimiter lines placed at and
// around the release points of a body several ReleaseSteps long are all
// found, and what is read through is released in order.
func TestNextDelimiter_AcrossReleaseSteps(t *testing.T) {
	line := strings.Repeat("A", 76) + "\r\n"
	var b bytes.Buffer
	for b.Len() < 4*ReleaseStep {
		for b.Len()%ReleaseStep < ReleaseStep-200 && b.Len() < 4*ReleaseStep {
			b.WriteString(line)
		}
		for k := 0; k < 8; k++ {
			b.WriteString("--boundary\r\n" + line[:k*9] + "\r\n")
		}
	}
	body := b.Bytes()
	want := delimLinesByLine(body, []byte("--boundary"))
	if len(want) < 32 {
		t.Fatalf("only %d delimiter lines in the body", len(want))
	}
	if got := delimLines(t, body, []byte("--boundary"), true); !sameInts(got, want) {
		t.Fatalf("found %d lines %v, want %d %v", len(got), got, len(want), want)
	}
}

func FuzzNextDelimiter(f *testing.F) {
	f.Add([]byte("--b\r\nx\r\n--b--\r\n"), []byte("--b"))
	f.Add([]byte("a--b\n--b \n"), []byte("--b"))
	f.Fuzz(func(t *testing.T, body, delim []byte) {
		if len(delim) == 0 {
			return
		}
		want := delimLinesByLine(body, delim)
		if got := delimLines(t, body, delim, false); !sameInts(got, want) {
			t.Fatalf("found %v, want %v", got, want)
		}
	})
}
