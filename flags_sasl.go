package main

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

	"github.com/alecthomas/kingpin/v2"
	krbconfig "github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/lagwatch/lagwatch/kafka"
)

// mechanismFlags are the settings of the SASL mechanisms that authenticate
// with something other than a user name and password: oauthbearer (OIDC
// client credentials or a token file), awsiam (Amazon MSK IAM) and gssapi
// (Kerberos). Names follow kafka_exporter's where it has the setting.
type mechanismFlags struct {
	oauthTokenURL  string
	oauthScopes    []string
	oauthParams    []string // key=value
	oauthCAFile    string
	oauthTokenFile string

	krbServiceName     string
	krbConfigPath      string
	krbRealm           string
	krbAuthType        string
	krbKeytabPath      string
	krbDisablePAFXFast bool

	awsRegion  string
	awsRoleARN string
}

// Defaults of the gssapi settings, applied when they are left empty.
const (
	defaultKerberosServiceName = "kafka"
	defaultKerberosConfigPath  = "/etc/krb5.conf"
)

func (m *mechanismFlags) add(app *kingpin.Application) {
	app.Flag("sasl.oauthbearer-token-url", "oauthbearer: the OAuth 2 token endpoint to get tokens from with the client-credentials grant; the client id is --sasl.username, the secret --sasl.password (or its file or $"+passwordEnv+").").StringVar(&m.oauthTokenURL)
	app.Flag("sasl.oauthbearer-scope", "oauthbearer: a scope to ask the token endpoint for (repeatable).").StringsVar(&m.oauthScopes)
	app.Flag("sasl.oauthbearer-extra-param", "oauthbearer: an extra parameter key=value of the token request, e.g. audience=kafka (repeatable).").StringsVar(&m.oauthParams)
	app.Flag("sasl.oauthbearer-ca-file", "oauthbearer: PEM file of the CA certificates that sign the token endpoint's certificate (default: the system's).").StringVar(&m.oauthCAFile)
	app.Flag("sasl.service-name", "gssapi: the service name of the brokers' Kerberos principals (the broker's sasl.kerberos.service.name; default "+defaultKerberosServiceName+").").StringVar(&m.krbServiceName)
	app.Flag("sasl.kerberos-config-path", "gssapi: the krb5.conf that names the realm's KDCs (default "+defaultKerberosConfigPath+").").StringVar(&m.krbConfigPath)
	app.Flag("sasl.realm", "gssapi: the Kerberos realm of --sasl.username (default: krb5.conf's default_realm).").StringVar(&m.krbRealm)
	app.Flag("sasl.kerberos-auth-type", "gssapi: keytabAuth (with --sasl.keytab-path) or userAuth (with the SASL password); default keytabAuth when --sasl.keytab-path is set, else userAuth.").StringVar(&m.krbAuthType)
	app.Flag("sasl.keytab-path", "gssapi: the keytab holding --sasl.username's keys.").StringVar(&m.krbKeytabPath)
	app.Flag("sasl.disable-PA-FX-FAST", "gssapi: do not use FAST pre-authentication (for KDCs such as Active Directory that lack it).").Default("false").BoolVar(&m.krbDisablePAFXFast)
	app.Flag("sasl.aws-region", "awsiam: the AWS region of the MSK cluster (default: $AWS_REGION or the AWS profile's region).").StringVar(&m.awsRegion)
	app.Flag("sasl.aws-role-arn", "awsiam: a role to assume with the credentials of the standard AWS chain (environment, shared files and AWS_PROFILE, EKS web identity, container or instance role).").StringVar(&m.awsRoleARN)
	app.Flag("sasl.oauthbearer-token-file", "oauthbearer: a file holding the token, written by another process; read again whenever it changes (instead of --sasl.oauthbearer-token-url).").StringVar(&m.oauthTokenFile)
}

// setFlags names the mechanism-specific settings that are set, for the
// check that they go with their mechanism.
func (m *mechanismFlags) setFlags() map[string]string {
	set := map[string]string{}
	for _, f := range []struct{ name, mechanism, value string }{
		{"sasl.oauthbearer-token-url", "oauthbearer", m.oauthTokenURL},
		{"sasl.oauthbearer-scope", "oauthbearer", strings.Join(m.oauthScopes, "")},
		{"sasl.oauthbearer-extra-param", "oauthbearer", strings.Join(m.oauthParams, "")},
		{"sasl.oauthbearer-ca-file", "oauthbearer", m.oauthCAFile},
		{"sasl.oauthbearer-token-file", "oauthbearer", m.oauthTokenFile},
		{"sasl.service-name", "gssapi", m.krbServiceName},
		{"sasl.kerberos-config-path", "gssapi", m.krbConfigPath},
		{"sasl.realm", "gssapi", m.krbRealm},
		{"sasl.kerberos-auth-type", "gssapi", m.krbAuthType},
		{"sasl.keytab-path", "gssapi", m.krbKeytabPath},
		{"sasl.aws-region", "awsiam", m.awsRegion},
		{"sasl.aws-role-arn", "awsiam", m.awsRoleARN},
		{"sasl.disable-PA-FX-FAST", "gssapi", map[bool]string{true: "true"}[m.krbDisablePAFXFast]},
	} {
		if f.value != "" {
			set[f.name] = f.mechanism
		}
	}
	return set
}

// mechanismMismatch is an error when a mechanism's setting is set without
// SASL or with another mechanism: it would be silently ignored.
func (s *securityFlags) mechanismMismatch() error {
	set := s.mech.setFlags()
	for _, name := range slices.Sorted(maps.Keys(set)) {
		want := set[name]
		if !s.saslEnabled {
			return fmt.Errorf("%s is set but %s is not", s.name(name), s.name("sasl.enabled"))
		}
		if s.mechanism != want {
			return fmt.Errorf("%s is set but %s is %q, not %q", s.name(name), s.name("sasl.mechanism"), s.mechanism, want)
		}
	}
	return nil
}

// oauthbearer builds the token source of --sasl.mechanism=oauthbearer:
// either the client-credentials grant against --sasl.oauthbearer-token-url
// or --sasl.oauthbearer-token-file.
func (s *securityFlags) oauthbearer() (*kafka.SASL, error) {
	m := &s.mech
	sasl := &kafka.SASL{Mechanism: "oauthbearer"}
	switch {
	case m.oauthTokenURL == "" && m.oauthTokenFile == "":
		return nil, fmt.Errorf("%s=oauthbearer needs %s or %s", s.name("sasl.mechanism"), s.name("sasl.oauthbearer-token-url"), s.name("sasl.oauthbearer-token-file"))
	case m.oauthTokenURL != "" && m.oauthTokenFile != "":
		return nil, fmt.Errorf("%s and %s are both set; give one", s.name("sasl.oauthbearer-token-url"), s.name("sasl.oauthbearer-token-file"))
	case m.oauthTokenFile != "":
		for _, f := range []struct{ name, value string }{
			{"sasl.username", s.username}, {"sasl.password", s.password}, {"sasl.password-file", s.passwordFile},
			{"sasl.oauthbearer-scope", strings.Join(m.oauthScopes, "")}, {"sasl.oauthbearer-extra-param", strings.Join(m.oauthParams, "")},
			{"sasl.oauthbearer-ca-file", m.oauthCAFile},
		} {
			if f.value != "" {
				return nil, fmt.Errorf("%s goes with %s, not with %s", s.name(f.name), s.name("sasl.oauthbearer-token-url"), s.name("sasl.oauthbearer-token-file"))
			}
		}
		tokens := kafka.NewTokenFile(m.oauthTokenFile)
		if _, err := tokens.Token(context.Background()); err != nil {
			return nil, fmt.Errorf("%s: %v", s.name("sasl.oauthbearer-token-file"), err)
		}
		sasl.Tokens = tokens
		return sasl, nil
	}
	u, err := url.Parse(m.oauthTokenURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%s %q is not an http(s) URL", s.name("sasl.oauthbearer-token-url"), m.oauthTokenURL)
	}
	if s.username == "" {
		return nil, fmt.Errorf("%s needs the client id in %s", s.name("sasl.oauthbearer-token-url"), s.name("sasl.username"))
	}
	secret, err := s.saslPassword()
	if err != nil {
		return nil, err
	}
	params := map[string][]string{}
	for _, p := range m.oauthParams {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%s %q is not key=value", s.name("sasl.oauthbearer-extra-param"), p)
		}
		params[k] = append(params[k], v)
	}
	client := &http.Client{}
	if m.oauthCAFile != "" {
		pemBytes, err := os.ReadFile(m.oauthCAFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", s.name("sasl.oauthbearer-ca-file"), err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("%s %q holds no PEM certificate", s.name("sasl.oauthbearer-ca-file"), m.oauthCAFile)
		}
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
		client.Transport = transport
	}
	sasl.Tokens = kafka.NewClientCredentials(m.oauthTokenURL, s.username, secret, m.oauthScopes, params, client)
	return sasl, nil
}

// gssapi builds the Kerberos login of --sasl.mechanism=gssapi, with a
// keytab or a password, checking the files it needs now.
func (s *securityFlags) gssapi() (*kafka.SASL, error) {
	m := &s.mech
	if s.username == "" {
		return nil, fmt.Errorf("%s=gssapi needs the principal in %s", s.name("sasl.mechanism"), s.name("sasl.username"))
	}
	k := &kafka.Kerberos{
		ConfigPath: m.krbConfigPath, ServiceName: m.krbServiceName, Realm: m.krbRealm,
		DisablePAFXFAST: m.krbDisablePAFXFast,
	}
	if k.ServiceName == "" {
		k.ServiceName = defaultKerberosServiceName
	}
	if k.ConfigPath == "" {
		k.ConfigPath = defaultKerberosConfigPath
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
	sasl := &kafka.SASL{Mechanism: "gssapi", User: s.username, Kerberos: k}
	authType := m.krbAuthType
	if authType == "" {
		authType = "userAuth"
		if m.krbKeytabPath != "" {
			authType = "keytabAuth"
		}
	}
	switch authType {
	case "keytabAuth":
		if m.krbKeytabPath == "" {
			return nil, fmt.Errorf("%s=keytabAuth needs %s", s.name("sasl.kerberos-auth-type"), s.name("sasl.keytab-path"))
		}
		if s.password != "" || s.passwordFile != "" {
			return nil, fmt.Errorf("%s and a SASL password are both set; give one", s.name("sasl.keytab-path"))
		}
		if _, err := keytab.Load(m.krbKeytabPath); err != nil {
			return nil, fmt.Errorf("%s %q: %v", s.name("sasl.keytab-path"), m.krbKeytabPath, firstLine(err))
		}
		k.KeytabPath = m.krbKeytabPath
	case "userAuth":
		if m.krbKeytabPath != "" {
			return nil, fmt.Errorf("%s is set but %s is userAuth", s.name("sasl.keytab-path"), s.name("sasl.kerberos-auth-type"))
		}
		if sasl.Password, err = s.saslPassword(); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%s %q is not keytabAuth or userAuth", s.name("sasl.kerberos-auth-type"), m.krbAuthType)
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
func (s *securityFlags) awsIAM() (*kafka.SASL, error) {
	m := &s.mech
	if !s.tlsEnabled {
		return nil, fmt.Errorf("%s=awsiam needs %s: MSK's IAM listeners speak TLS only", s.name("sasl.mechanism"), s.name("tls.enabled"))
	}
	for _, f := range []struct{ name, value string }{
		{"sasl.username", s.username}, {"sasl.password", s.password}, {"sasl.password-file", s.passwordFile},
	} {
		if f.value != "" {
			return nil, fmt.Errorf("%s is set but %s=awsiam takes its credentials from the AWS chain", s.name(f.name), s.name("sasl.mechanism"))
		}
	}
	if m.awsRoleARN != "" && !strings.HasPrefix(m.awsRoleARN, "arn:") {
		return nil, fmt.Errorf("%s %q is not an ARN (arn:aws:iam::<account>:role/<name>)", s.name("sasl.aws-role-arn"), m.awsRoleARN)
	}
	tokens, err := kafka.NewMSKIAM(context.Background(), m.awsRegion, m.awsRoleARN)
	if errors.Is(err, kafka.ErrNoAWSRegion) {
		return nil, fmt.Errorf("%s=awsiam needs %s (or $AWS_REGION)", s.name("sasl.mechanism"), s.name("sasl.aws-region"))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %v", s.name("sasl.mechanism"), firstLine(err))
	}
	return &kafka.SASL{Mechanism: "awsiam", Tokens: tokens}, nil
}
