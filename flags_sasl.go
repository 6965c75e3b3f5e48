package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/alecthomas/kingpin/v2"

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
}

func (m *mechanismFlags) add(app *kingpin.Application) {
	app.Flag("sasl.oauthbearer-token-url", "oauthbearer: the OAuth 2 token endpoint to get tokens from with the client-credentials grant; the client id is --sasl.username, the secret --sasl.password (or its file or $"+passwordEnv+").").StringVar(&m.oauthTokenURL)
	app.Flag("sasl.oauthbearer-scope", "oauthbearer: a scope to ask the token endpoint for (repeatable).").StringsVar(&m.oauthScopes)
	app.Flag("sasl.oauthbearer-extra-param", "oauthbearer: an extra parameter key=value of the token request, e.g. audience=kafka (repeatable).").StringsVar(&m.oauthParams)
	app.Flag("sasl.oauthbearer-ca-file", "oauthbearer: PEM file of the CA certificates that sign the token endpoint's certificate (default: the system's).").StringVar(&m.oauthCAFile)
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
