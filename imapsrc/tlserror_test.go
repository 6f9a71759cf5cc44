package imapsrc_test

import (
	"crypto/x509"
	"strings"
	"testing"

	"github.com/imapmig/imapmig/imapsrc"
)

// TestTLSError_PointsAtCAFileFirst: the untrusted-certificate message tells
// the operator to trust the issuing CA with ca_file before it mentions
// turning the check off with accept_untrusted_certificates.
func TestTLSError_PointsAtCAFileFirst(t *testing.T) {
	msg := (&imapsrc.TLSError{Host: "imap.example.org", Err: x509.UnknownAuthorityError{}}).Error()
	ca, accept := strings.Index(msg, "ca_file"), strings.Index(msg, "accept_untrusted_certificates")
	if !strings.Contains(msg, "imap.example.org") || ca < 0 || accept < 0 || ca > accept {
		t.Errorf("message %q must name the host, then ca_file, then accept_untrusted_certificates", msg)
	}
	if !strings.Contains(msg, "last resort") {
		t.Errorf("message %q must say accept_untrusted_certificates is the last resort", msg)
	}
}
