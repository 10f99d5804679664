package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// RedisTLS are the PEM files of a test's TLS Redis, made with crypto/x509
// in a temporary directory: a CA, a server certificate for 127.0.0.1 and
// localhost signed by it, a client certificate signed by it (for servers
// that ask for one), and another CA that signed none of them (a client
// trusting only that one must refuse the server).
type RedisTLS struct {
	CAFile                        string
	ServerCertFile, ServerKeyFile string
	ClientCertFile, ClientKeyFile string
	OtherCAFile                   string
}

// NewRedisTLS writes a fresh set of files into a temporary directory of
// the test.
func NewRedisTLS(tb testing.TB) *RedisTLS {
	tb.Helper()
	dir := tb.TempDir()
	f := &RedisTLS{
		CAFile:         filepath.Join(dir, "ca.pem"),
		ServerCertFile: filepath.Join(dir, "server.pem"), ServerKeyFile: filepath.Join(dir, "server-key.pem"),
		ClientCertFile: filepath.Join(dir, "client.pem"), ClientKeyFile: filepath.Join(dir, "client-key.pem"),
		OtherCAFile: filepath.Join(dir, "other-ca.pem"),
	}
	ca, caKey := newCA(tb, "hookgate test CA")
	writePEM(tb, f.CAFile, "CERTIFICATE", ca.Raw)
	other, _ := newCA(tb, "another CA")
	writePEM(tb, f.OtherCAFile, "CERTIFICATE", other.Raw)
	leaf(tb, ca, caKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "redis"},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		// Redis uses the server certificate for its own outgoing
		// connections too (replication, the cluster bus).
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}, f.ServerCertFile, f.ServerKeyFile)
	leaf(tb, ca, caKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "hookgate"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, f.ClientCertFile, f.ClientKeyFile)
	return f
}

// ClientConfig is a client's TLS configuration trusting the CA, presenting
// the client certificate.
func (f *RedisTLS) ClientConfig(tb testing.TB) *tls.Config {
	tb.Helper()
	pem, err := os.ReadFile(f.CAFile)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	cert, err := tls.LoadX509KeyPair(f.ClientCertFile, f.ClientKeyFile)
	if err != nil {
		tb.Fatal(err)
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
}

// serverArgs are redis-server's arguments to serve TLS alone on port
// (the plain port off), asking clients for a certificate when mutual, and
// speaking TLS to its master and cluster peers; a replica's first sync
// starts at once.
func (f *RedisTLS) serverArgs(port string, mutual bool) []string {
	auth := "no"
	if mutual {
		auth = "yes"
	}
	return []string{"--port", "0", "--tls-port", port,
		"--tls-cert-file", f.ServerCertFile, "--tls-key-file", f.ServerKeyFile, "--tls-ca-cert-file", f.CAFile,
		"--tls-auth-clients", auth, "--tls-replication", "yes", "--tls-cluster", "yes",
		// A replica's first sync starts at once, not after the default 5 s.
		"--repl-diskless-sync-delay", "0"}
}

// cliArgs are redis-cli's arguments to talk to such a server.
func (f *RedisTLS) cliArgs() []string {
	return []string{"--tls", "--cacert", f.CAFile, "--cert", f.ClientCertFile, "--key", f.ClientKeyFile}
}

func newCA(tb testing.TB, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(tb), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return cert, key
}

func leaf(tb testing.TB, ca *x509.Certificate, caKey *ecdsa.PrivateKey, tmpl *x509.Certificate, certFile, keyFile string) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl.SerialNumber = serial(tb)
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		tb.Fatal(err)
	}
	writePEM(tb, certFile, "CERTIFICATE", der)
	k, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	writePEM(tb, keyFile, "PRIVATE KEY", k)
}

func serial(tb testing.TB) *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func writePEM(tb testing.TB, path, typ string, der []byte) {
	tb.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		tb.Fatal(err)
	}
}
