package kafka

import (
	"crypto/tls"
	"io"
	"net"
	"testing"

	"github.com/lagwatch/lagwatch/internal/securetest"
)

// listen serves each connection with serve until the test ends.
func listen(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() { defer conn.Close(); serve(conn) }()
		}
	}()
	return l.Addr().String()
}

func TestAPlaintextListenerDoesNotSpeakTLSAndATLSOneDoesEvenWithACertificateNotTrusted(t *testing.T) {
	// A plaintext Kafka listener reads the ClientHello's first bytes as
	// the size of a request far too large, and closes the connection.
	plaintext := listen(t, func(c net.Conn) { _, _ = io.ReadFull(c, make([]byte, 4)) })
	if speaksTLS(plaintext, nil) {
		t.Error("a listener closing at the ClientHello speaks TLS")
	}
	ca, err := securetest.NewCA("untrusted CA")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue("broker", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	server := &tls.Config{Certificates: []tls.Certificate{cert}}
	withTLS := listen(t, func(c net.Conn) { _ = tls.Server(c, server).Handshake() })
	if !speaksTLS(withTLS, nil) {
		t.Error("a TLS listener whose certificate the client does not trust does not speak TLS")
	}
}
