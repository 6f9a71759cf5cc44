package serverproc

import (
	"crypto/x509"
	"os"
	"path/filepath"

	"github.com/imapmig/imapmig/testenv/internal/testcert"
)

// Workdir returns dir, or when dir is "" a new temp dir named prefix*
// (own is then true: the caller removes it). Either way the dir is made
// traversable by the server's unprivileged processes (0755).
func Workdir(dir, prefix string) (path string, own bool, err error) {
	if dir == "" {
		if dir, err = os.MkdirTemp("", prefix); err != nil {
			return "", false, err
		}
		own = true
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		if own {
			os.RemoveAll(dir)
		}
		return "", false, err
	}
	return dir, own, nil
}

// WriteCert makes a self-signed certificate for localhost and 127.0.0.1
// (name goes into its subject), writes it to dir/cert.pem and its key to
// dir/key.pem, and returns its PEM and a pool that trusts exactly it.
func WriteCert(dir, name string) (certPEM []byte, pool *x509.CertPool, err error) {
	certPEM, keyPEM, err := testcert.SelfSigned(name)
	if err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), certPEM, 0o644); err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), keyPEM, 0o600); err != nil {
		return nil, nil, err
	}
	pool = x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	return certPEM, pool, nil
}

// SetUp runs steps in order and stops at the first error; then, when the
// caller owns dir (Workdir made it), it removes dir.
func SetUp(dir string, own bool, steps ...func() error) error {
	for _, step := range steps {
		if err := step(); err != nil {
			if own {
				os.RemoveAll(dir)
			}
			return err
		}
	}
	return nil
}
