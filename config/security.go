package config

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strings"

	"github.com/lagwatch/lagwatch/kafka"
)

// PasswordEnv carries the SASL password without putting it on the command
// line, where `ps` and shell history would show it.
const PasswordEnv = "LAGWATCH_SASL_PASSWORD"

// Security are the flags for TLS and SASL connections to Kafka.
type Security struct {
	TLSEnabled         bool
	CAFile             string
	CertFile           string
	KeyFile            string
	ServerName         string
	InsecureSkipVerify bool

	SASLEnabled  bool
	Mechanism    string
	Username     string
	Password     string
	PasswordFile string
	Mech         Mechanisms

	// field names a setting in errors: the flag by default, a field of
	// --config.file's cluster for the clusters there.
	Field func(flag string) string
	// passwordSources names where a password may come from, in errors.
	PasswordSources string
}

// name is how errors call the setting of the flag named flag.
func (s *Security) name(flag string) string {
	switch {
	case s.Field != nil:
		return s.Field(flag)
	case flag == "sasl.password":
		return "--sasl.password (or $" + PasswordEnv + ")"
	}
	return "--" + flag
}

// security validates the flags and builds the Kafka client's TLS and SASL
// settings. Its errors name the flag at fault and never contain a secret.
func (s *Security) Build() (kafka.Security, error) {
	var (
		sec kafka.Security
		err error
	)
	if sec.TLS, err = s.tlsConfig(); err != nil {
		return sec, err
	}
	sec.SASL, err = s.sasl()
	return sec, err
}

// tlsConfig is nil without --tls.enabled.
func (s *Security) tlsConfig() (*tls.Config, error) {
	if !s.TLSEnabled {
		// A TLS setting without --tls.enabled would silently connect in
		// plaintext, SASL passwords included.
		for _, f := range []struct{ name, value string }{
			{"tls.ca-file", s.CAFile}, {"tls.cert-file", s.CertFile},
			{"tls.key-file", s.KeyFile}, {"tls.server-name", s.ServerName},
		} {
			if f.value != "" {
				return nil, fmt.Errorf("%s is set but %s is not", s.name(f.name), s.name("tls.enabled"))
			}
		}
		if s.InsecureSkipVerify {
			return nil, fmt.Errorf("%s is set but %s is not", s.name("tls.insecure-skip-tls-verify"), s.name("tls.enabled"))
		}
		return nil, nil
	}

	tlsConf := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         s.ServerName,
		InsecureSkipVerify: s.InsecureSkipVerify, //nolint:gosec // the operator asked for it
	}
	if s.CAFile != "" {
		pemBytes, err := os.ReadFile(s.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", s.name("tls.ca-file"), err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("%s %q holds no PEM certificate", s.name("tls.ca-file"), s.CAFile)
		}
		tlsConf.RootCAs = pool
	}
	switch {
	case s.KeyFile != "" && s.CertFile == "":
		return nil, fmt.Errorf("%s needs %s", s.name("tls.key-file"), s.name("tls.cert-file"))
	case s.CertFile != "" && s.KeyFile == "":
		return nil, fmt.Errorf("%s needs %s", s.name("tls.cert-file"), s.name("tls.key-file"))
	case s.CertFile != "":
		cert, err := s.clientCertificate()
		if err != nil {
			return nil, err
		}
		tlsConf.Certificates = []tls.Certificate{cert}
	}
	// The files were checked above; from here on they are read again
	// whenever they change.
	reloading, err := kafka.TLSFiles{CAFile: s.CAFile, CertFile: s.CertFile, KeyFile: s.KeyFile}.Config(tlsConf)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", s.name("tls.enabled"), err)
	}
	return reloading, nil
}

// clientCertificate loads the key pair, blaming the file at fault.
// tls.X509KeyPair's errors never quote the key's bytes.
func (s *Security) clientCertificate() (tls.Certificate, error) {
	certPEM, err := os.ReadFile(s.CertFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s: %v", s.name("tls.cert-file"), err)
	}
	if !hasPEMBlock(certPEM, "CERTIFICATE") {
		return tls.Certificate{}, fmt.Errorf("%s %q holds no PEM certificate", s.name("tls.cert-file"), s.CertFile)
	}
	keyPEM, err := os.ReadFile(s.KeyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s: %v", s.name("tls.key-file"), err)
	}
	if !hasPEMBlock(keyPEM, "PRIVATE KEY") {
		return tls.Certificate{}, fmt.Errorf("%s %q holds no PEM private key", s.name("tls.key-file"), s.KeyFile)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s %q does not fit %s %q: %v", s.name("tls.key-file"), s.KeyFile, s.name("tls.cert-file"), s.CertFile, err)
	}
	return cert, nil
}

// hasPEMBlock reports whether data holds a PEM block whose type ends in
// suffix ("PRIVATE KEY" matches PKCS#1, PKCS#8 and EC keys).
func hasPEMBlock(data []byte, suffix string) bool {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return false
		}
		if strings.HasSuffix(block.Type, suffix) {
			return true
		}
	}
}

// sasl is nil without --sasl.enabled.
func (s *Security) sasl() (*kafka.SASL, error) {
	if !s.SASLEnabled {
		if s.Username != "" || s.PasswordFile != "" {
			return nil, fmt.Errorf("%s or %s is set but %s is not", s.name("sasl.username"), s.name("sasl.password-file"), s.name("sasl.enabled"))
		}
		return nil, s.mechanismMismatch()
	}
	if _, ok := kafka.SASLMechanisms[s.Mechanism]; !ok {
		return nil, fmt.Errorf("%s %q is not one of %s", s.name("sasl.mechanism"), s.Mechanism, kafka.SASLMechanismNames)
	}
	if err := s.mechanismMismatch(); err != nil {
		return nil, err
	}
	switch s.Mechanism {
	case "oauthbearer":
		return s.oauthbearer()
	case "gssapi":
		return s.gssapi()
	case "awsiam":
		return s.awsIAM()
	}
	if s.Username == "" {
		return nil, fmt.Errorf("%s needs %s", s.name("sasl.enabled"), s.name("sasl.username"))
	}
	password, err := s.saslPassword()
	if err != nil {
		return nil, err
	}
	return &kafka.SASL{Mechanism: s.Mechanism, User: s.Username, Password: password}, nil
}

func (s *Security) saslPassword() (string, error) {
	if s.PasswordFile == "" {
		if s.Password == "" {
			return "", fmt.Errorf("%s needs %s", s.name("sasl.enabled"), s.PasswordSources)
		}
		return s.Password, nil
	}
	if s.Password != "" {
		return "", fmt.Errorf("%s and %s are both set; give one", s.name("sasl.password-file"), s.name("sasl.password"))
	}
	data, err := os.ReadFile(s.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("%s: %v", s.name("sasl.password-file"), err)
	}
	password := strings.TrimRight(string(data), "\r\n")
	if password == "" {
		return "", fmt.Errorf("%s %q is empty", s.name("sasl.password-file"), s.PasswordFile)
	}
	if strings.ContainsAny(password, "\r\n") {
		return "", fmt.Errorf("%s %q holds more than one line", s.name("sasl.password-file"), s.PasswordFile)
	}
	return password, nil
}
