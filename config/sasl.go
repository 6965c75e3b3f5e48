package config

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"

	krbconfig "github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/lagwatch/lagwatch/kafka"
)

// Mechanisms are the settings of the SASL mechanisms that authenticate
// with something other than a user name and password: oauthbearer (OIDC
// client credentials or a token file), awsiam (Amazon MSK IAM) and gssapi
// (Kerberos). Names follow kafka_exporter's where it has the setting.
type Mechanisms struct {
	OAuthTokenURL  string
	OAuthScopes    []string
	OAuthParams    []string // key=value
	OAuthCAFile    string
	OAuthTokenFile string

	KerberosServiceName     string
	KerberosConfigPath      string
	KerberosRealm           string
	KerberosAuthType        string
	KerberosKeytabPath      string
	KerberosDisablePAFXFast bool

	AWSRegion  string
	AWSRoleARN string
}

// Defaults of the gssapi settings, applied when they are left empty.
const (
	DefaultKerberosServiceName = "kafka"
	DefaultKerberosConfigPath  = "/etc/krb5.conf"
)

// setFlags names the mechanism-specific settings that are set, for the
// check that they go with their mechanism.
func (m *Mechanisms) setFlags() map[string]string {
	set := map[string]string{}
	for _, f := range []struct{ name, mechanism, value string }{
		{"sasl.oauthbearer-token-url", "oauthbearer", m.OAuthTokenURL},
		{"sasl.oauthbearer-scope", "oauthbearer", strings.Join(m.OAuthScopes, "")},
		{"sasl.oauthbearer-extra-param", "oauthbearer", strings.Join(m.OAuthParams, "")},
		{"sasl.oauthbearer-ca-file", "oauthbearer", m.OAuthCAFile},
		{"sasl.oauthbearer-token-file", "oauthbearer", m.OAuthTokenFile},
		{"sasl.service-name", "gssapi", m.KerberosServiceName},
		{"sasl.kerberos-config-path", "gssapi", m.KerberosConfigPath},
		{"sasl.realm", "gssapi", m.KerberosRealm},
		{"sasl.kerberos-auth-type", "gssapi", m.KerberosAuthType},
		{"sasl.keytab-path", "gssapi", m.KerberosKeytabPath},
		{"sasl.aws-region", "awsiam", m.AWSRegion},
		{"sasl.aws-role-arn", "awsiam", m.AWSRoleARN},
		{"sasl.disable-PA-FX-FAST", "gssapi", map[bool]string{true: "true"}[m.KerberosDisablePAFXFast]},
	} {
		if f.value != "" {
			set[f.name] = f.mechanism
		}
	}
	return set
}

// mechanismMismatch is an error when a mechanism's setting is set without
// SASL or with another mechanism: it would be silently ignored.
func (s *Security) mechanismMismatch() error {
	set := s.Mech.setFlags()
	for _, name := range slices.Sorted(maps.Keys(set)) {
		want := set[name]
		if !s.SASLEnabled {
			return fmt.Errorf("%s is set but %s is not", s.name(name), s.name("sasl.enabled"))
		}
		if s.Mechanism != want {
			return fmt.Errorf("%s is set but %s is %q, not %q", s.name(name), s.name("sasl.mechanism"), s.Mechanism, want)
		}
	}
	return nil
}

// oauthbearer builds the token source of --sasl.mechanism=oauthbearer:
// either the client-credentials grant against --sasl.oauthbearer-token-url
// or --sasl.oauthbearer-token-file.
func (s *Security) oauthbearer() (*kafka.SASL, error) {
	m := &s.Mech
	sasl := &kafka.SASL{Mechanism: "oauthbearer"}
	switch {
	case m.OAuthTokenURL == "" && m.OAuthTokenFile == "":
		return nil, fmt.Errorf("%s=oauthbearer needs %s or %s", s.name("sasl.mechanism"), s.name("sasl.oauthbearer-token-url"), s.name("sasl.oauthbearer-token-file"))
	case m.OAuthTokenURL != "" && m.OAuthTokenFile != "":
		return nil, fmt.Errorf("%s and %s are both set; give one", s.name("sasl.oauthbearer-token-url"), s.name("sasl.oauthbearer-token-file"))
	case m.OAuthTokenFile != "":
		for _, f := range []struct{ name, value string }{
			{"sasl.username", s.Username}, {"sasl.password", s.Password}, {"sasl.password-file", s.PasswordFile},
			{"sasl.oauthbearer-scope", strings.Join(m.OAuthScopes, "")}, {"sasl.oauthbearer-extra-param", strings.Join(m.OAuthParams, "")},
			{"sasl.oauthbearer-ca-file", m.OAuthCAFile},
		} {
			if f.value != "" {
				return nil, fmt.Errorf("%s goes with %s, not with %s", s.name(f.name), s.name("sasl.oauthbearer-token-url"), s.name("sasl.oauthbearer-token-file"))
			}
		}
		tokens := kafka.NewTokenFile(m.OAuthTokenFile)
		if _, err := tokens.Token(context.Background()); err != nil {
			return nil, fmt.Errorf("%s: %v", s.name("sasl.oauthbearer-token-file"), err)
		}
		sasl.Tokens = tokens
		return sasl, nil
	}
	u, err := url.Parse(m.OAuthTokenURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%s %q is not an http(s) URL", s.name("sasl.oauthbearer-token-url"), m.OAuthTokenURL)
	}
	if s.Username == "" {
		return nil, fmt.Errorf("%s needs the client id in %s", s.name("sasl.oauthbearer-token-url"), s.name("sasl.username"))
	}
	secret, err := s.saslPassword()
	if err != nil {
		return nil, err
	}
	params := map[string][]string{}
	for _, p := range m.OAuthParams {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%s %q is not key=value", s.name("sasl.oauthbearer-extra-param"), p)
		}
		params[k] = append(params[k], v)
	}
	client := &http.Client{}
	if m.OAuthCAFile != "" {
		pemBytes, err := os.ReadFile(m.OAuthCAFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", s.name("sasl.oauthbearer-ca-file"), err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("%s %q holds no PEM certificate", s.name("sasl.oauthbearer-ca-file"), m.OAuthCAFile)
		}
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
		client.Transport = transport
	}
	sasl.Tokens = kafka.NewClientCredentials(m.OAuthTokenURL, s.Username, secret, m.OAuthScopes, params, client)
	return sasl, nil
}

// gssapi builds the Kerberos login of --sasl.mechanism=gssapi, with a
// keytab or a password, checking the files it needs now.
func (s *Security) gssapi() (*kafka.SASL, error) {
	m := &s.Mech
	if s.Username == "" {
		return nil, fmt.Errorf("%s=gssapi needs the principal in %s", s.name("sasl.mechanism"), s.name("sasl.username"))
	}
	k := &kafka.Kerberos{
		ConfigPath: m.KerberosConfigPath, ServiceName: m.KerberosServiceName, Realm: m.KerberosRealm,
		DisablePAFXFAST: m.KerberosDisablePAFXFast,
	}
	if k.ServiceName == "" {
		k.ServiceName = DefaultKerberosServiceName
	}
	if k.ConfigPath == "" {
		k.ConfigPath = DefaultKerberosConfigPath
	}
	cfg, err := krbconfig.Load(k.ConfigPath)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %v", s.name("sasl.kerberos-config-path"), k.ConfigPath, firstLine(err))
	}
	if k.Realm == "" {
		k.Realm = cfg.LibDefaults.DefaultRealm
		if k.Realm == "" {
			return nil, fmt.Errorf("%s is not set and %q names no default_realm", s.name("sasl.realm"), k.ConfigPath)
		}
	}
	sasl := &kafka.SASL{Mechanism: "gssapi", User: s.Username, Kerberos: k}
	authType := m.KerberosAuthType
	if authType == "" {
		authType = "userAuth"
		if m.KerberosKeytabPath != "" {
			authType = "keytabAuth"
		}
	}
	switch authType {
	case "keytabAuth":
		if m.KerberosKeytabPath == "" {
			return nil, fmt.Errorf("%s=keytabAuth needs %s", s.name("sasl.kerberos-auth-type"), s.name("sasl.keytab-path"))
		}
		if s.Password != "" || s.PasswordFile != "" {
			return nil, fmt.Errorf("%s and a SASL password are both set; give one", s.name("sasl.keytab-path"))
		}
		if _, err := keytab.Load(m.KerberosKeytabPath); err != nil {
			return nil, fmt.Errorf("%s %q: %v", s.name("sasl.keytab-path"), m.KerberosKeytabPath, firstLine(err))
		}
		k.KeytabPath = m.KerberosKeytabPath
	case "userAuth":
		if m.KerberosKeytabPath != "" {
			return nil, fmt.Errorf("%s is set but %s is userAuth", s.name("sasl.keytab-path"), s.name("sasl.kerberos-auth-type"))
		}
		if sasl.Password, err = s.saslPassword(); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%s %q is not keytabAuth or userAuth", s.name("sasl.kerberos-auth-type"), m.KerberosAuthType)
	}
	return sasl, nil
}

// firstLine keeps the first line of a library's error.
func firstLine(err error) string {
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return msg
}

// awsIAM builds the token source of --sasl.mechanism=awsiam (Amazon MSK
// IAM). MSK's IAM listeners (port 9098) speak TLS only.
func (s *Security) awsIAM() (*kafka.SASL, error) {
	m := &s.Mech
	if !s.TLSEnabled {
		return nil, fmt.Errorf("%s=awsiam needs %s: MSK's IAM listeners speak TLS only", s.name("sasl.mechanism"), s.name("tls.enabled"))
	}
	for _, f := range []struct{ name, value string }{
		{"sasl.username", s.Username}, {"sasl.password", s.Password}, {"sasl.password-file", s.PasswordFile},
	} {
		if f.value != "" {
			return nil, fmt.Errorf("%s is set but %s=awsiam takes its credentials from the AWS chain", s.name(f.name), s.name("sasl.mechanism"))
		}
	}
	if m.AWSRoleARN != "" && !strings.HasPrefix(m.AWSRoleARN, "arn:") {
		return nil, fmt.Errorf("%s %q is not an ARN (arn:aws:iam::<account>:role/<name>)", s.name("sasl.aws-role-arn"), m.AWSRoleARN)
	}
	tokens, err := kafka.NewMSKIAM(context.Background(), m.AWSRegion, m.AWSRoleARN)
	if errors.Is(err, kafka.ErrNoAWSRegion) {
		return nil, fmt.Errorf("%s=awsiam needs %s (or $AWS_REGION)", s.name("sasl.mechanism"), s.name("sasl.aws-region"))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %v", s.name("sasl.mechanism"), firstLine(err))
	}
	return &kafka.SASL{Mechanism: "awsiam", Tokens: tokens}, nil
}
