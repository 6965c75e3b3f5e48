package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// TLSFiles are the PEM files of a Kafka TLS connection. Tools such as
// cert-manager replace them every few weeks; lagwatch reads them again
// when they change, so the next connection uses the new ones without a
// restart. Open connections keep the certificate they were made with.
type TLSFiles struct {
	CAFile   string // "" means base's RootCAs (the system's by default)
	CertFile string // "" means no client certificate
	KeyFile  string
}

// Config returns a copy of base that reads the client certificate and the
// CA pool from f at each handshake, again whenever a file's modification
// time or size has changed. A half-written replacement (a certificate that
// does not fit its key yet, a CA file without a certificate) keeps the
// previous material until the files are whole again. The files are read
// once here; an error names the file at fault.
//
// With a CA file, the config verifies the broker's certificate itself
// (VerifyConnection, against the current pool and the name the client
// dials, which sarama and franz-go set per broker), because tls.Config's
// RootCAs cannot change after the config is in use.
func (f TLSFiles) Config(base *tls.Config) (*tls.Config, error) {
	conf := base.Clone()
	if f.CertFile != "" {
		certs := &reloading[tls.Certificate]{paths: []string{f.CertFile, f.KeyFile}, load: loadKeyPair}
		if _, err := certs.get(); err != nil {
			return nil, err
		}
		conf.Certificates = nil
		conf.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return certs.get()
		}
	}
	if f.CAFile != "" && !base.InsecureSkipVerify {
		pool := &reloading[x509.CertPool]{paths: []string{f.CAFile}, load: loadCAPool}
		if _, err := pool.get(); err != nil {
			return nil, err
		}
		conf.RootCAs = nil
		// Verification moves to VerifyConnection, which runs after Go's
		// own checks, here skipped so that the pool can change.
		conf.InsecureSkipVerify = true //nolint:gosec // verified in VerifyConnection
		conf.VerifyConnection = func(cs tls.ConnectionState) error {
			roots, err := pool.get()
			if err != nil {
				return err
			}
			return verifyPeer(cs, roots)
		}
	}
	return conf, nil
}

// verifyPeer is what crypto/tls checks of a server's chain when it
// verifies with RootCAs: the chain up to a root of roots, for server
// authentication, and the name dialled.
func verifyPeer(cs tls.ConnectionState, roots *x509.CertPool) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("tls: the broker sent no certificate")
	}
	opts := x509.VerifyOptions{
		Roots:         roots,
		DNSName:       cs.ServerName,
		Intermediates: x509.NewCertPool(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, c := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(c)
	}
	if _, err := cs.PeerCertificates[0].Verify(opts); err != nil {
		return fmt.Errorf("tls: verify the broker's certificate: %w", err)
	}
	return nil
}

func loadKeyPair(paths []string) (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(paths[0], paths[1])
	if err != nil {
		return nil, fmt.Errorf("tls client certificate %s with key %s: %w", paths[0], paths[1], err)
	}
	return &cert, nil
}

func loadCAPool(paths []string) (*x509.CertPool, error) {
	data, err := os.ReadFile(paths[0])
	if err != nil {
		return nil, fmt.Errorf("tls CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("tls CA file %s holds no PEM certificate", paths[0])
	}
	return pool, nil
}

// reloading is a value loaded from files, loaded again when one of them
// changes. A failed load keeps the last good value.
type reloading[T any] struct {
	paths []string
	load  func(paths []string) (*T, error)

	mu    sync.Mutex
	value *T
	stamp []fileStamp
}

type fileStamp struct {
	mtime time.Time
	size  int64
}

func (r *reloading[T]) get() (*T, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	stamp := make([]fileStamp, len(r.paths))
	for i, p := range r.paths {
		info, err := os.Stat(p)
		if err != nil {
			if r.value != nil {
				// Mid-replacement (a symlink swap): keep the last good value.
				return r.value, nil
			}
			return nil, err
		}
		stamp[i] = fileStamp{info.ModTime(), info.Size()}
	}
	if r.value != nil && equalStamps(stamp, r.stamp) {
		return r.value, nil
	}
	v, err := r.load(r.paths)
	if err != nil {
		if r.value != nil {
			return r.value, nil
		}
		return nil, err
	}
	r.value, r.stamp = v, stamp
	return v, nil
}

func equalStamps(a, b []fileStamp) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].mtime.Equal(b[i].mtime) || a[i].size != b[i].size {
			return false
		}
	}
	return true
}
