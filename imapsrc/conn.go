package imapsrc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/imapmig/imapmig/migrate"
)

// AuthError is the server's refusal of a login. Text is the server's
// response text; the password is never part of it.
type AuthError struct {
	Host, User string
	Code       string // response code, e.g. AUTHENTICATIONFAILED
	Text       string
}

func (e *AuthError) Error() string {
	code := ""
	if e.Code != "" {
		code = "[" + e.Code + "] "
	}
	return fmt.Sprintf("IMAP server %s refused login of %q: %s%s", e.Host, e.User, code, e.Text)
}

// Unwrap makes errors.Is(err, migrate.ErrAuthFailed) true.
func (e *AuthError) Unwrap() error { return migrate.ErrAuthFailed }

// TLSError is a failed certificate verification.
type TLSError struct {
	Host string
	Err  error
}

func (e *TLSError) Error() string {
	return fmt.Sprintf("the TLS certificate of IMAP server %s is not trusted (%v); put the CA that issued it (PEM) in the endpoint's ca_file, "+
		"or, as a last resort that turns off the check, set accept_untrusted_certificates on the endpoint", e.Host, e.Err)
}

func (e *TLSError) Unwrap() error { return e.Err }

// ErrUIDValidityChanged: the folder's UIDVALIDITY is not the one the caller
// listed; its UIDs mean other messages now. List folders again.
var ErrUIDValidityChanged = migrate.ErrUIDValidityChanged

// ErrMessageGone: the requested UID no longer exists in the folder.
var ErrMessageGone = migrate.ErrMessageGone

// ReasonMessageGone is the skip reason for a message expunged between
// listing and fetching.
const ReasonMessageGone = "SourceMessageGone"

func (c *Connector) addr() string { return net.JoinHostPort(c.cfg.Host, strconv.Itoa(c.cfg.Port)) }

func (c *Connector) tlsConfig() *tls.Config {
	return &tls.Config{
		ServerName:         c.cfg.Host,
		RootCAs:            c.rootCAs(),
		InsecureSkipVerify: c.cfg.AcceptUntrustedCertificates,
		NextProtos:         []string{"imap"},
	}
}

// rootCAs is the configured pool, or nil for the system pool.
func (c *Connector) rootCAs() *x509.CertPool { return c.cfg.RootCAs }

// connErr classifies a connect-phase error.
func (c *Connector) connErr(err error) error {
	if isTLSVerify(err) {
		return migrate.FailUser(migrate.ReasonImapTLSFailed, &TLSError{Host: c.cfg.Host, Err: err})
	}
	return &migrate.Error{Kind: migrate.KindRetryable, Reason: migrate.ReasonImapConnectionFailed,
		Err: fmt.Errorf("connecting to IMAP server %s: %w", c.addr(), err)}
}

func isTLSVerify(err error) bool {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci)
}

// dial connects, secures and logs in. ctx bounds the whole handshake.
func (c *Connector) dial(ctx context.Context, login migrate.Login, opts *imapclient.Options) (*imapclient.Client, *watchConn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.DialTimeout)
	defer cancel()
	d := c.cfg.Dialer
	if d == nil {
		d = &net.Dialer{}
	}
	tcp, err := d.DialContext(ctx, "tcp", c.addr())
	if err != nil {
		return nil, nil, c.connErr(err)
	}
	raw := newWatchConn(tcp)
	// Until login is done, ctx cancellation closes the socket.
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()
	fail := func(err error) error {
		raw.Close()
		if ctx.Err() != nil && !isTLSVerify(err) {
			return c.connErr(fmt.Errorf("%w (%v)", ctx.Err(), err))
		}
		return err
	}
	opts.TLSConfig = c.tlsConfig()
	var cl *imapclient.Client
	switch c.cfg.Security {
	case SecuritySSL:
		tc := tls.Client(raw, opts.TLSConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, nil, fail(c.connErr(err))
		}
		cl = imapclient.New(tc, opts)
	case SecurityTLS:
		cl, err = imapclient.NewStartTLS(raw, opts)
		if err != nil {
			return nil, nil, fail(c.connErr(err))
		}
	default:
		cl = imapclient.New(raw, opts)
	}
	if err := cl.WaitGreeting(); err != nil {
		cl.Close()
		if le, ok := c.asLimit(err, login.UserName); ok { // "* BYE Too many connections"
			return nil, nil, fail(le)
		}
		return nil, nil, fail(c.connErr(err))
	}
	if err := c.authenticate(cl, login); err != nil {
		cl.Close()
		return nil, nil, fail(err)
	}
	return cl, raw, nil
}

func (c *Connector) authenticate(cl *imapclient.Client, login migrate.Login) error {
	var err error
	usePlain := c.cfg.Auth == "plain"
	if usePlain && c.cfg.MasterUser == "" && !cl.Caps().Has(imap.AuthCap(sasl.Plain)) {
		// No AUTH=PLAIN advertised: LOGIN carries the same credentials.
		usePlain = false
	}
	caps := cl.Caps()
	if c.cfg.MasterUser != "" && !caps.Has(imap.AuthCap(sasl.Plain)) {
		return &migrate.CapabilityError{Capability: "AUTH=PLAIN", Host: c.cfg.Host, Op: "log in through master_user (a SASL PLAIN authorization identity)",
			Hint: "use security tls or ssl if the server offers PLAIN only under TLS, or the server's own master-login form in UserName"}
	}
	if !usePlain && caps.Has(imap.CapLoginDisabled) {
		return &migrate.CapabilityError{Capability: "LOGIN", Host: c.cfg.Host, Op: "log in (the server announces LOGINDISABLED)",
			Hint: "use security tls or ssl"}
	}
	if usePlain {
		authzid, authcid := "", login.UserName
		if c.cfg.MasterUser != "" {
			authzid, authcid = login.UserName, c.cfg.MasterUser
		}
		err = cl.Authenticate(sasl.NewPlainClient(authzid, authcid, login.Password))
	} else {
		err = cl.Login(login.UserName, login.Password).Wait()
	}
	if err == nil {
		return nil
	}
	if le, ok := c.asLimit(err, login.UserName); ok {
		return le // too many connections: retried, never an auth failure
	}
	var ie *imap.Error
	if errors.As(err, &ie) && ie.Type != imap.StatusResponseTypeBye {
		return migrate.FailUser(migrate.ReasonImapAuthenticationFailed, &AuthError{
			Host: c.cfg.Host, User: login.UserName, Code: string(ie.Code), Text: ie.Text})
	}
	return c.connErr(fmt.Errorf("during login: %w", err))
}

// connLost reports whether err means the session is gone (BYE, EOF, reset,
// timeout), after which the source reconnects.
func connLost(cl *imapclient.Client, err error) bool {
	if err == nil {
		return false
	}
	var ie *imap.Error
	if errors.As(err, &ie) {
		return ie.Type == imap.StatusResponseTypeBye
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	if cl == nil {
		return false
	}
	// Decoder errors close the connection right after failing the command.
	select {
	case <-cl.Closed():
		return true
	case <-time.After(100 * time.Millisecond):
		return false
	}
}
