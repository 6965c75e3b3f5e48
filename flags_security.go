package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strings"

	"github.com/alecthomas/kingpin/v2"

	"github.com/lagwatch/lagwatch/kafka"
)

// passwordEnv carries the SASL password without putting it on the command
// line, where `ps` and shell history would show it.
const passwordEnv = "LAGWATCH_SASL_PASSWORD"

// securityFlags are the flags for TLS and SASL connections to Kafka.
type securityFlags struct {
	tlsEnabled         bool
	caFile             string
	certFile           string
	keyFile            string
	serverName         string
	insecureSkipVerify bool

	saslEnabled  bool
	mechanism    string
	username     string
	password     string
	passwordFile string
	mech         mechanismFlags

	// field names a setting in errors: the flag by default, a field of
	// --config.file's cluster for the clusters there.
	field func(flag string) string
	// passwordSources names where a password may come from, in errors.
	passwordSources string
}

// name is how errors call the setting of the flag named flag.
func (s *securityFlags) name(flag string) string {
	switch {
	case s.field != nil:
		return s.field(flag)
	case flag == "sasl.password":
		return "--sasl.password (or $" + passwordEnv + ")"
	}
	return "--" + flag
}

func addSecurityFlags(app *kingpin.Application) *securityFlags {
	s := &securityFlags{passwordSources: "--sasl.password, --sasl.password-file or $" + passwordEnv}
	app.Flag("tls.enabled", "Connect to Kafka over TLS.").Default("false").BoolVar(&s.tlsEnabled)
	app.Flag("tls.ca-file", "PEM file of the CA certificates that sign the brokers' certificates (default: the system's).").StringVar(&s.caFile)
	app.Flag("tls.cert-file", "PEM file of the client certificate, for brokers that require TLS client authentication.").StringVar(&s.certFile)
	app.Flag("tls.key-file", "PEM file of the client certificate's private key.").StringVar(&s.keyFile)
	app.Flag("tls.server-name", "Name to verify the brokers' certificates against (default: the host of each broker's address).").StringVar(&s.serverName)
	app.Flag("tls.insecure-skip-tls-verify", "Do not verify the brokers' certificates (insecure: for testing only).").Default("false").BoolVar(&s.insecureSkipVerify)
	app.Flag("sasl.enabled", "Authenticate to Kafka with SASL.").Default("false").BoolVar(&s.saslEnabled)
	app.Flag("sasl.mechanism", "SASL mechanism: "+kafka.SASLMechanismNames+".").Default("plain").StringVar(&s.mechanism)
	app.Flag("sasl.username", "SASL user name.").StringVar(&s.username)
	app.Flag("sasl.password", "SASL password; prefer $"+passwordEnv+" or --sasl.password-file, which keep it out of the process list.").
		Envar(passwordEnv).StringVar(&s.password)
	app.Flag("sasl.password-file", "File holding the SASL password (a trailing newline is ignored).").StringVar(&s.passwordFile)
	s.mech.add(app)
	return s
}

// security validates the flags and builds the Kafka client's TLS and SASL
// settings. Its errors name the flag at fault and never contain a secret.
func (s *securityFlags) security() (kafka.Security, error) {
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
func (s *securityFlags) tlsConfig() (*tls.Config, error) {
	if !s.tlsEnabled {
		// A TLS setting without --tls.enabled would silently connect in
		// plaintext, SASL passwords included.
		for _, f := range []struct{ name, value string }{
			{"tls.ca-file", s.caFile}, {"tls.cert-file", s.certFile},
			{"tls.key-file", s.keyFile}, {"tls.server-name", s.serverName},
		} {
			if f.value != "" {
				return nil, fmt.Errorf("%s is set but %s is not", s.name(f.name), s.name("tls.enabled"))
			}
		}
		if s.insecureSkipVerify {
			return nil, fmt.Errorf("%s is set but %s is not", s.name("tls.insecure-skip-tls-verify"), s.name("tls.enabled"))
		}
		return nil, nil
	}

	tlsConf := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         s.serverName,
		InsecureSkipVerify: s.insecureSkipVerify, //nolint:gosec // the operator asked for it
	}
	if s.caFile != "" {
		pemBytes, err := os.ReadFile(s.caFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", s.name("tls.ca-file"), err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("%s %q holds no PEM certificate", s.name("tls.ca-file"), s.caFile)
		}
		tlsConf.RootCAs = pool
	}
	switch {
	case s.keyFile != "" && s.certFile == "":
		return nil, fmt.Errorf("%s needs %s", s.name("tls.key-file"), s.name("tls.cert-file"))
	case s.certFile != "" && s.keyFile == "":
		return nil, fmt.Errorf("%s needs %s", s.name("tls.cert-file"), s.name("tls.key-file"))
	case s.certFile != "":
		cert, err := s.clientCertificate()
		if err != nil {
			return nil, err
		}
		tlsConf.Certificates = []tls.Certificate{cert}
	}
	// The files were checked above; from here on they are read again
	// whenever they change.
	reloading, err := kafka.TLSFiles{CAFile: s.caFile, CertFile: s.certFile, KeyFile: s.keyFile}.Config(tlsConf)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", s.name("tls.enabled"), err)
	}
	return reloading, nil
}

// clientCertificate loads the key pair, blaming the file at fault.
// tls.X509KeyPair's errors never quote the key's bytes.
func (s *securityFlags) clientCertificate() (tls.Certificate, error) {
	certPEM, err := os.ReadFile(s.certFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s: %v", s.name("tls.cert-file"), err)
	}
	if !hasPEMBlock(certPEM, "CERTIFICATE") {
		return tls.Certificate{}, fmt.Errorf("%s %q holds no PEM certificate", s.name("tls.cert-file"), s.certFile)
	}
	keyPEM, err := os.ReadFile(s.keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s: %v", s.name("tls.key-file"), err)
	}
	if !hasPEMBlock(keyPEM, "PRIVATE KEY") {
		return tls.Certificate{}, fmt.Errorf("%s %q holds no PEM private key", s.name("tls.key-file"), s.keyFile)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s %q does not fit %s %q: %v", s.name("tls.key-file"), s.keyFile, s.name("tls.cert-file"), s.certFile, err)
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
func (s *securityFlags) sasl() (*kafka.SASL, error) {
	if !s.saslEnabled {
		if s.username != "" || s.passwordFile != "" {
			return nil, fmt.Errorf("%s or %s is set but %s is not", s.name("sasl.username"), s.name("sasl.password-file"), s.name("sasl.enabled"))
		}
		return nil, s.mechanismMismatch()
	}
	if _, ok := kafka.SASLMechanisms[s.mechanism]; !ok {
		return nil, fmt.Errorf("%s %q is not one of %s", s.name("sasl.mechanism"), s.mechanism, kafka.SASLMechanismNames)
	}
	if err := s.mechanismMismatch(); err != nil {
		return nil, err
	}
	switch s.mechanism {
	case "oauthbearer":
		return s.oauthbearer()
	case "gssapi":
		return s.gssapi()
	case "awsiam":
		return s.awsIAM()
	}
	if s.username == "" {
		return nil, fmt.Errorf("%s needs %s", s.name("sasl.enabled"), s.name("sasl.username"))
	}
	password, err := s.saslPassword()
	if err != nil {
		return nil, err
	}
	return &kafka.SASL{Mechanism: s.mechanism, User: s.username, Password: password}, nil
}

func (s *securityFlags) saslPassword() (string, error) {
	if s.passwordFile == "" {
		if s.password == "" {
			return "", fmt.Errorf("%s needs %s", s.name("sasl.enabled"), s.passwordSources)
		}
		return s.password, nil
	}
	if s.password != "" {
		return "", fmt.Errorf("%s and %s are both set; give one", s.name("sasl.password-file"), s.name("sasl.password"))
	}
	data, err := os.ReadFile(s.passwordFile)
	if err != nil {
		return "", fmt.Errorf("%s: %v", s.name("sasl.password-file"), err)
	}
	password := strings.TrimRight(string(data), "\r\n")
	if password == "" {
		return "", fmt.Errorf("%s %q is empty", s.name("sasl.password-file"), s.passwordFile)
	}
	if strings.ContainsAny(password, "\r\n") {
		return "", fmt.Errorf("%s %q holds more than one line", s.name("sasl.password-file"), s.passwordFile)
	}
	return password, nil
}
