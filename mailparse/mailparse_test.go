package mailparse_test

import (
	"strings"
	"testing"

	"github.com/imapmig/imapmig/mailparse"
)

func TestReadHeader_Lenient(t *testing.T) {
	tests := []struct {
		name, raw, subject, body string
		repaired                 bool
	}{
		{"Clean", "Subject: hi\r\nTo: a@b\r\n\r\nbody", "hi", "body", false},
		{"Folded", "Subject: one\r\n two\r\n\r\nbody", "one two", "body", false},
		{"NoSeparatorLine", "From: a@b\nSubject: here's something interesting\ncounter to RFC 2822, there's no separating newline here\n",
			"here's something interesting", "counter to RFC 2822, there's no separating newline here\n", true},
		{"BrokenLineSkipped", "Subject: one\nbroken line\nTo: x@y\n\nbody", "one", "body", true},
		{"FirstLineContinuation", " Line 1\nSubject: test\n\nbody", "test", "body", true},
		{"NoHeaderAtAll", "Just text.\nMore.\n", "", "Just text.\nMore.\n", true},
		{"Mbox", "From a@b Thu Jan  1 00:00:00 1970\nSubject: s\n\nbody", "s", "body", true},
		{"EncodedWord", "Subject: =?iso-8859-1?q?Gr=FC=DFe?=\n\nx", "Grüße", "x", false},
		{"Latin1Raw", "Subject: Gr\xfc\xdfe\n\nx", "Grüße", "x", false},
		{"HeaderOnly", "Subject: only\r\n", "only", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, off := mailparse.ReadHeader([]byte(tt.raw))
			if got := h.Subject(); got != tt.subject {
				t.Errorf("subject %q, want %q", got, tt.subject)
			}
			if got := tt.raw[off:]; got != tt.body {
				t.Errorf("body %q, want %q", got, tt.body)
			}
			if h.Repaired != tt.repaired {
				t.Errorf("repaired %v, want %v", h.Repaired, tt.repaired)
			}
		})
	}
}

// leaves lists "type:decoded text" of every leaf.
func leaves(p *mailparse.Part) []string {
	var out []string
	p.Walk(func(q *mailparse.Part) {
		if len(q.Children) == 0 {
			s, _ := q.Text()
			out = append(out, q.MediaType+":"+strings.TrimSpace(s))
		}
	})
	return out
}

func TestParse_Structure(t *testing.T) {
	tests := []struct {
		name, raw string
		want      []string
		repaired  bool
	}{
		{"NoSubtype", "Content-Type: text; charset=us-ascii\n\nhi", []string{"text/plain:hi"}, true},
		{"NoBoundaryParam", "Content-Type: multipart/alternative;\n\nBlah", []string{"text/plain:Blah"}, true},
		{"BoundaryNeverUsed", "Content-Type: multipart/mixed; boundary=XX\n\nBlah", []string{"text/plain:Blah"}, true},
		{"OnlyClosingDelimiter", "Content-Type: multipart/mixed; boundary=BBB\n\n--BBB--\n", []string{"text/plain:--BBB--"}, true},
		{"BoundaryTrailingChar", "Content-Type: multipart/mixed; boundary=B_\n\n--B\n\none\n--B--\n", []string{"text/plain:--B\n\none\n--B--"}, true},
		{"Clean", "Content-Type: multipart/mixed; boundary=B\n\npre\n--B\n\none\n--B\nContent-Type: text/html\n\n<b>two</b>\n--B--\nepilogue",
			[]string{"text/plain:one", "text/html:<b>two</b>"}, false},
		{"MissingClose", "Content-Type: multipart/mixed; boundary=B\n\n--B\n\none\n--B\n\ntwo, cut", []string{"text/plain:one", "text/plain:two, cut"}, true},
		{"DigestDefault", "Content-Type: multipart/digest; boundary=D\n\n--D\n\nSubject: x\n\ny\n--D--\n", []string{"message/rfc822:Subject: x\n\ny"}, false},
		{"SimilarBoundary", "Content-Type: multipart/mixed; boundary=B\n\n--B\n\none\n--BB\nstill one\n--B--\n", []string{"text/plain:one\n--BB\nstill one"}, false},
		{"QP", "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nGr=FC=DFe =ZZ so=\nft", []string{"text/plain:Grüße =ZZ soft"}, false},
		{"HTMLMetaCharset", "Content-Type: text/html\n\n<html><head><meta charset=\"windows-1250\"/></head>\x8a\xe8</html>", []string{"text/html:<html><head><meta charset=\"windows-1250\"/></head>Šč</html>"}, false},
		{"Base64Junk", "Content-Transfer-Encoding: base64\n\naGVs!bG8=\n", []string{"text/plain:hello"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mailparse.Parse([]byte(tt.raw))
			got := leaves(p)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("leaves %q, want %q", got, tt.want)
			}
			if p.Repaired() != tt.repaired {
				t.Errorf("repaired %v (%v), want %v", p.Repaired(), p.Repairs, tt.repaired)
			}
		})
	}
}

// A parameter continuation that lost its indent is joined, so the file
// name is kept.
func TestReadHeader_LostFoldJoined(t *testing.T) {
	h, _ := mailparse.ReadHeader([]byte("Content-Type: application/zip; x-unix-mode=0600;\nname=\"a.zip\"\nContent-Disposition: attachment\n\nx"))
	if got := h.Get("Content-Type"); !strings.Contains(got, `name="a.zip"`) {
		t.Fatalf("Content-Type %q", got)
	}
}

func TestAddresses_Lenient(t *testing.T) {
	h, _ := mailparse.ReadHeader([]byte("To: \"Doe, J\" <j@x.org>, broken <<k@y.org>, plain@z.org\n\n"))
	got := h.Addresses("To")
	var addrs []string
	for _, a := range got {
		addrs = append(addrs, a.Address)
	}
	if strings.Join(addrs, ",") != "j@x.org,k@y.org,plain@z.org" {
		t.Fatalf("addresses %v", got)
	}
}
