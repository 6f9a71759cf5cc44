package serverproc

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Listeners are the loopback address, the two ports and the certificate of
// a test server. The server packages embed it in their Server.
type Listeners struct {
	// Host is always "127.0.0.1".
	Host string
	// Port serves plain IMAP (with STARTTLS where the server offers it);
	// TLSPort serves implicit TLS.
	Port, TLSPort int
	// CAPEM is the PEM of the self-signed server certificate (it is its own
	// CA); CertPool holds it. The certificate is valid for "localhost" and
	// 127.0.0.1.
	CAPEM    []byte
	CertPool *x509.CertPool
}

// Listen writes the server's certificate to dir (see WriteCert) and picks
// two free loopback ports.
func (l *Listeners) Listen(dir, name string) error {
	var err error
	if l.CAPEM, l.CertPool, err = WriteCert(dir, name); err != nil {
		return err
	}
	if l.Port, err = FreePort(); err != nil {
		return err
	}
	l.TLSPort, err = FreePort()
	return err
}

// Addr is host:port of the plain listener.
func (l *Listeners) Addr() string { return net.JoinHostPort(l.Host, strconv.Itoa(l.Port)) }

// TLSAddr is host:port of the implicit-TLS listener.
func (l *Listeners) TLSAddr() string { return net.JoinHostPort(l.Host, strconv.Itoa(l.TLSPort)) }

// TLSConfig trusts the server's certificate.
func (l *Listeners) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: l.CertPool, ServerName: "localhost"}
}

// NewLogin checks a new user's name and password against the characters
// the server's user database cannot hold (badName, badPassword) and gives
// an empty password a random one. server prefixes the errors.
func NewLogin(server, name, password, badName, badPassword string) (string, error) {
	if name == "" || strings.ContainsAny(name, badName) {
		return "", fmt.Errorf("%s: invalid user name %q", server, name)
	}
	if password == "" {
		password = "pw-" + RandomHex(8)
	}
	if strings.ContainsAny(password, badPassword) {
		return "", fmt.Errorf("%s: password of %q contains one of %q", server, name, badPassword)
	}
	return password, nil
}
