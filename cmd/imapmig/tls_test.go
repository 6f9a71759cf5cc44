package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imapmig/imapmig/testenv/graphemu"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 and localhost
// and its key as PEM files in dir.
func selfSigned(t *testing.T, dir, name string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	c, err := graphemu.GenerateCertificate("127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile = writeFile(t, filepath.Join(dir, name+".crt"), string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]})))
	keyFile = writeFile(t, filepath.Join(dir, name+".key"), string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})))
	cert, _ := x509.ParseCertificate(c.Certificate[0])
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestServe_APIOverTLS: with tls_cert_file and tls_key_file the daemon
// serves HTTPS only, and the CLI, pointed at the config, trusts the
// daemon's self-signed certificate (or tls_ca_file) and works; a wrong CA
// is refused; a key without its certificate refuses to start.
func TestServe_APIOverTLS(t *testing.T) {
	dd := newDaemonDir(t, "tls_cert_file: api.crt\ntls_key_file: api.key\n"+oldAndContoso)
	dir, addr, cfg, base := dd.dir, dd.addr, dd.cfg, dd.yaml
	_, _, pool := selfSigned(t, dir, "api")
	otherCert, _, _ := selfSigned(t, dir, "other")
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	cmd, logs := startServeAt(t, cfg, hc, "https://"+addr, []string{"TEST_CLIENT_SECRET=unused-test-secret"})
	if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
		if resp.StatusCode == http.StatusOK {
			t.Errorf("plain HTTP answered 200 on a TLS listener")
		}
		resp.Body.Close()
	}
	env := dd.env
	csv := dd.file(t, "one.csv", csvRows(2))
	if out, errOut, code := runCLI(t, env, "batch", "new", "wave1", "--endpoint", "old", "--tenant", "contoso", "--csv", csv); code != 0 || !strings.Contains(out, "created with 2 users") {
		t.Fatalf("batch new over TLS: %d %s %s", code, out, errOut)
	}
	if out, errOut, code := runCLI(t, env, "batch", "list"); code != 0 || !strings.Contains(out, "wave1") {
		t.Fatalf("batch list over TLS: %d %s %s", code, out, errOut)
	}
	// tls_ca_file wins over the certificate itself: a wrong CA is refused.
	wrong := dd.file(t, "wrong.yaml", base+"tls_ca_file: "+otherCert+"\n")
	if _, errOut, code := runCLI(t, []string{"IMAPMIG_CONFIG=" + wrong}, "batch", "list"); code == 0 || !strings.Contains(errOut, "certificate") {
		t.Errorf("a wrong tls_ca_file was not refused: %d %s", code, errOut)
	}
	right := dd.file(t, "right.yaml", base+"tls_ca_file: api.crt\n")
	if out, errOut, code := runCLI(t, []string{"IMAPMIG_CONFIG=" + right}, "batch", "list"); code != 0 || !strings.Contains(out, "wave1") {
		t.Errorf("tls_ca_file: %d %s %s", code, out, errOut)
	}
	stopServe(t, cmd)
	if !strings.Contains(logs.String(), "https://"+addr) {
		t.Errorf("the start log does not name the https URL:\n%s", logs.String())
	}

	half := dd.file(t, "half.yaml", strings.Replace(base, "tls_cert_file: api.crt\n", "", 1))
	if _, errOut, code := runCLI(t, []string{"TEST_CLIENT_SECRET=x"}, "serve", "--config", half); code != 1 || !strings.Contains(errOut, "tls_cert_file") {
		t.Errorf("tls_key_file without tls_cert_file: exit %d %s", code, errOut)
	}
}
