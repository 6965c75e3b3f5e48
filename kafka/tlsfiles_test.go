package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lagwatch/lagwatch/internal/securetest"
)

// tlsServer accepts TLS connections on loopback with cert, asks for a
// client certificate signed by clientCA and reports the common name of
// each client it saw (or "" for a failed handshake).
func tlsServer(t *testing.T, certPEM, keyPEM []byte, clientCA *securetest.CA) (addr string, clients <-chan string) {
	t.Helper()
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(clientCA.CertPEM)
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{cert}, ClientCAs: pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	seen := make(chan string, 16)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			tc := c.(*tls.Conn)
			_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
			name := ""
			if tc.Handshake() == nil {
				name = tc.ConnectionState().PeerCertificates[0].Subject.CommonName
			}
			seen <- name
			tc.Close()
		}
	}()
	return l.Addr().String(), seen
}

// replaceFile swaps in new content at once, with a later modification
// time, as cert-manager's Secret volume update does.
func replaceFile(t *testing.T, path string, data []byte, mtime time.Time) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(tmp, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// handshake dials addr with conf as sarama does (ServerName from the
// address) and returns the handshake's error.
func handshake(conf *tls.Config, addr string) error {
	c := conf.Clone()
	if c.ServerName == "" {
		c.ServerName, _, _ = net.SplitHostPort(addr)
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, c)
	if err != nil {
		return err
	}
	return conn.Close()
}

func newCA(t *testing.T, name string) *securetest.CA {
	t.Helper()
	ca, err := securetest.NewCA(name)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func issue(t *testing.T, ca *securetest.CA, cn string, hosts ...string) (certPEM, keyPEM []byte) {
	t.Helper()
	certPEM, keyPEM, err := ca.Issue(cn, hosts...)
	if err != nil {
		t.Fatal(err)
	}
	return certPEM, keyPEM
}

func TestReplacedClientCertificateFilesAreUsedByTheNextHandshake(t *testing.T) {
	ca := newCA(t, "rotation CA")
	serverCert, serverKey := issue(t, ca, "kafka", "127.0.0.1")
	addr, clients := tlsServer(t, serverCert, serverKey, ca)

	dir := t.TempDir()
	caFile, certFile, keyFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	mtime := time.Now().Add(-time.Hour)
	replaceFile(t, caFile, ca.CertPEM, mtime)
	cert, key := issue(t, ca, "lagwatch-first")
	replaceFile(t, certFile, cert, mtime)
	replaceFile(t, keyFile, key, mtime)

	conf, err := TLSFiles{CAFile: caFile, CertFile: certFile, KeyFile: keyFile}.Config(&tls.Config{MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	connectAs := func(want string) {
		t.Helper()
		if err := handshake(conf, addr); err != nil {
			t.Fatalf("handshake: %v", err)
		}
		if got := <-clients; got != want {
			t.Fatalf("the server saw client %q, want %q", got, want)
		}
	}
	connectAs("lagwatch-first")

	cert, key = issue(t, ca, "lagwatch-second")
	replaceFile(t, certFile, cert, mtime.Add(time.Minute))
	replaceFile(t, keyFile, key, mtime.Add(time.Minute))
	connectAs("lagwatch-second")

	// Halfway through the next rotation the certificate does not fit the
	// key yet: the last whole pair is used until the key arrives.
	cert, key = issue(t, ca, "lagwatch-third")
	replaceFile(t, certFile, cert, mtime.Add(2*time.Minute))
	connectAs("lagwatch-second")
	replaceFile(t, keyFile, key, mtime.Add(2*time.Minute))
	connectAs("lagwatch-third")
}

func TestReplacedCAFileDecidesWhichBrokerCertificatesAreTrusted(t *testing.T) {
	oldCA, newCA := newCA(t, "old CA"), newCA(t, "new CA")
	// The brokers' certificates were renewed by a new CA before lagwatch's
	// CA file followed.
	serverCert, serverKey := issue(t, newCA, "kafka", "127.0.0.1")
	addr, clients := tlsServer(t, serverCert, serverKey, oldCA)

	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	mtime := time.Now().Add(-time.Hour)
	replaceFile(t, caFile, oldCA.CertPEM, mtime)
	cert, key := issue(t, oldCA, "lagwatch")
	certFile := filepath.Join(dir, "tls.crt")
	keyFile := filepath.Join(dir, "tls.key")
	replaceFile(t, certFile, cert, mtime)
	replaceFile(t, keyFile, key, mtime)
	conf, err := TLSFiles{CAFile: caFile, CertFile: certFile, KeyFile: keyFile}.Config(&tls.Config{MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}

	err = handshake(conf, addr)
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("a broker certificate from a CA not in the file: %v, want unknown authority", err)
	}
	<-clients

	replaceFile(t, caFile, append(append([]byte{}, oldCA.CertPEM...), newCA.CertPEM...), mtime.Add(time.Minute))
	if err := handshake(conf, addr); err != nil {
		t.Fatalf("after the CA file gained the new CA: %v", err)
	}
	if got := <-clients; got != "lagwatch" {
		t.Fatalf("the server saw client %q", got)
	}

	// The name dialled is still checked.
	wrongName := conf.Clone()
	wrongName.ServerName = "kafka.elsewhere.example"
	if err := handshake(wrongName, addr); err == nil || !strings.Contains(err.Error(), "kafka.elsewhere.example") {
		t.Fatalf("a certificate for another name: %v, want a name mismatch", err)
	}
}
