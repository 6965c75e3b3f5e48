package main

import (
	"github.com/alecthomas/kingpin/v2"

	"github.com/lagwatch/lagwatch/config"
	"github.com/lagwatch/lagwatch/kafka"
)

// addSecurityFlags registers the --tls.* and --sasl.* flags; config.Security
// checks them and builds the Kafka client's TLS and SASL settings.
func addSecurityFlags(app *kingpin.Application) *config.Security {
	s := &config.Security{PasswordSources: "--sasl.password, --sasl.password-file or $" + config.PasswordEnv}
	app.Flag("tls.enabled", "Connect to Kafka over TLS.").Default("false").BoolVar(&s.TLSEnabled)
	app.Flag("tls.ca-file", "PEM file of the CA certificates that sign the brokers' certificates (default: the system's).").StringVar(&s.CAFile)
	app.Flag("tls.cert-file", "PEM file of the client certificate, for brokers that require TLS client authentication.").StringVar(&s.CertFile)
	app.Flag("tls.key-file", "PEM file of the client certificate's private key.").StringVar(&s.KeyFile)
	app.Flag("tls.server-name", "Name to verify the brokers' certificates against (default: the host of each broker's address).").StringVar(&s.ServerName)
	app.Flag("tls.insecure-skip-tls-verify", "Do not verify the brokers' certificates (insecure: for testing only).").Default("false").BoolVar(&s.InsecureSkipVerify)
	app.Flag("sasl.enabled", "Authenticate to Kafka with SASL.").Default("false").BoolVar(&s.SASLEnabled)
	app.Flag("sasl.mechanism", "SASL mechanism: "+kafka.SASLMechanismNames+".").Default("plain").StringVar(&s.Mechanism)
	app.Flag("sasl.username", "SASL user name.").StringVar(&s.Username)
	app.Flag("sasl.password", "SASL password; prefer $"+config.PasswordEnv+" or --sasl.password-file, which keep it out of the process list.").
		Envar(config.PasswordEnv).StringVar(&s.Password)
	app.Flag("sasl.password-file", "File holding the SASL password (a trailing newline is ignored).").StringVar(&s.PasswordFile)
	addMechanismFlags(app, &s.Mech)
	return s
}

// addMechanismFlags registers the settings of the SASL mechanisms beyond
// user and password (oauthbearer, gssapi, awsiam).
func addMechanismFlags(app *kingpin.Application, m *config.Mechanisms) {
	app.Flag("sasl.oauthbearer-token-url", "oauthbearer: the OAuth 2 token endpoint to get tokens from with the client-credentials grant; the client id is --sasl.username, the secret --sasl.password (or its file or $"+config.PasswordEnv+").").StringVar(&m.OAuthTokenURL)
	app.Flag("sasl.oauthbearer-scope", "oauthbearer: a scope to ask the token endpoint for (repeatable).").StringsVar(&m.OAuthScopes)
	app.Flag("sasl.oauthbearer-extra-param", "oauthbearer: an extra parameter key=value of the token request, e.g. audience=kafka (repeatable).").StringsVar(&m.OAuthParams)
	app.Flag("sasl.oauthbearer-ca-file", "oauthbearer: PEM file of the CA certificates that sign the token endpoint's certificate (default: the system's).").StringVar(&m.OAuthCAFile)
	app.Flag("sasl.service-name", "gssapi: the service name of the brokers' Kerberos principals (the broker's sasl.kerberos.service.name; default "+config.DefaultKerberosServiceName+").").StringVar(&m.KerberosServiceName)
	app.Flag("sasl.kerberos-config-path", "gssapi: the krb5.conf that names the realm's KDCs (default "+config.DefaultKerberosConfigPath+").").StringVar(&m.KerberosConfigPath)
	app.Flag("sasl.realm", "gssapi: the Kerberos realm of --sasl.username (default: krb5.conf's default_realm).").StringVar(&m.KerberosRealm)
	app.Flag("sasl.kerberos-auth-type", "gssapi: keytabAuth (with --sasl.keytab-path) or userAuth (with the SASL password); default keytabAuth when --sasl.keytab-path is set, else userAuth.").StringVar(&m.KerberosAuthType)
	app.Flag("sasl.keytab-path", "gssapi: the keytab holding --sasl.username's keys.").StringVar(&m.KerberosKeytabPath)
	app.Flag("sasl.disable-PA-FX-FAST", "gssapi: do not use FAST pre-authentication (for KDCs such as Active Directory that lack it).").Default("false").BoolVar(&m.KerberosDisablePAFXFast)
	app.Flag("sasl.aws-region", "awsiam: the AWS region of the MSK cluster (default: $AWS_REGION or the AWS profile's region).").StringVar(&m.AWSRegion)
	app.Flag("sasl.aws-role-arn", "awsiam: a role to assume with the credentials of the standard AWS chain (environment, shared files and AWS_PROFILE, EKS web identity, container or instance role).").StringVar(&m.AWSRoleARN)
	app.Flag("sasl.oauthbearer-token-file", "oauthbearer: a file holding the token, written by another process; read again whenever it changes (instead of --sasl.oauthbearer-token-url).").StringVar(&m.OAuthTokenFile)
}
