package testmain

import "testing"

type fakeM struct {
	code   int
	closed *[]string
}

func (f fakeM) Run() int { *f.closed = append(*f.closed, "tests"); return f.code }

type server struct {
	name   string
	closed *[]string
}

func (s server) Close() { *s.closed = append(*s.closed, s.name) }

func TestRun_ClosesEveryServerAfterTheTestsAndKeepsTheCode(t *testing.T) {
	var order []string
	code := run(fakeM{code: 3, closed: &order}, []Closer{server{"a", &order}, server{"b", &order}})
	if code != 3 || len(order) != 3 || order[0] != "tests" || order[1] != "a" || order[2] != "b" {
		t.Fatalf("code %d, order %v; want 3 and [tests a b]", code, order)
	}
}
