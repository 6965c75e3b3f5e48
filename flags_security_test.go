package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/IBM/sarama"
	"github.com/xdg-go/scram"

	"github.com/lagwatch/lagwatch/config"
	"github.com/lagwatch/lagwatch/internal/securetest"
)

const testPassword = "s3cret-Pa55word"

// testFiles are PEM and password files made fresh for each test.
type testFiles struct {
	dir, ca, cert, key, otherKey, garbage, empty, password string
	caPool                                                 *x509.CertPool
	leaf                                                   *x509.Certificate
}

func newTestFiles(t *testing.T) testFiles {
	t.Helper()
	ca, err := securetest.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue("lagwatch", "localhost", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	_, otherKeyPEM, err := ca.Issue("someone else")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.CertPEM)
	block, _ := pem.Decode(certPEM)
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return testFiles{
		dir:      dir,
		ca:       securetest.WriteFile(t, dir, "ca.pem", ca.CertPEM),
		cert:     securetest.WriteFile(t, dir, "client.pem", certPEM),
		key:      securetest.WriteFile(t, dir, "client-key.pem", keyPEM),
		otherKey: securetest.WriteFile(t, dir, "other-key.pem", otherKeyPEM),
		garbage:  securetest.WriteFile(t, dir, "garbage.pem", []byte("not PEM at all\n")),
		empty:    securetest.WriteFile(t, dir, "empty", nil),
		password: securetest.WriteFile(t, dir, "password", []byte(testPassword+"\n")),
		caPool:   pool,
		leaf:     leaf,
	}
}

func TestBadSecurityFlagsExitWithCode2AndOneLineNamingTheFlag(t *testing.T) {
	// An operator's environment must not leak into the table's cases.
	t.Setenv(config.PasswordEnv, "")
	f := newTestFiles(t)
	missing := filepath.Join(f.dir, "missing.pem")
	tlsOn, saslOn := "--tls.enabled", "--sasl.enabled"
	oauth, tokenURL := "--sasl.mechanism=oauthbearer", "--sasl.oauthbearer-token-url=https://idp.example/token"
	krb, aws := "--sasl.mechanism=gssapi", "--sasl.mechanism=awsiam"
	// The region may come from the environment or a profile: none here.
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(f.dir, "no-aws-config"))
	krbConf := "--sasl.kerberos-config-path=" + securetest.WriteFile(t, f.dir, "krb5.conf", []byte(testKrb5Conf))
	noRealm := securetest.WriteFile(t, f.dir, "no-realm.conf", []byte("[libdefaults]\n dns_lookup_kdc = false\n"))
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unreadable CA file", []string{tlsOn, "--tls.ca-file=" + missing}, "--tls.ca-file"},
		{"CA file without PEM", []string{tlsOn, "--tls.ca-file=" + f.garbage}, "--tls.ca-file"},
		{"unreadable cert file", []string{tlsOn, "--tls.cert-file=" + missing, "--tls.key-file=" + f.key}, "--tls.cert-file"},
		{"cert file without PEM", []string{tlsOn, "--tls.cert-file=" + f.garbage, "--tls.key-file=" + f.key}, "--tls.cert-file"},
		{"unreadable key file", []string{tlsOn, "--tls.cert-file=" + f.cert, "--tls.key-file=" + missing}, "--tls.key-file"},
		{"key file without PEM", []string{tlsOn, "--tls.cert-file=" + f.cert, "--tls.key-file=" + f.garbage}, "--tls.key-file"},
		{"key of another certificate", []string{tlsOn, "--tls.cert-file=" + f.cert, "--tls.key-file=" + f.otherKey}, "--tls.key-file"},
		{"key without cert", []string{tlsOn, "--tls.key-file=" + f.key}, "--tls.key-file"},
		{"cert without key", []string{tlsOn, "--tls.cert-file=" + f.cert}, "--tls.cert-file"},
		{"CA file without TLS enabled", []string{"--tls.ca-file=" + f.ca}, "--tls.ca-file"},
		{"skip verify without TLS enabled", []string{"--tls.insecure-skip-tls-verify"}, "--tls.insecure-skip-tls-verify"},
		{"SASL without user name", []string{saslOn, "--sasl.password=" + testPassword}, "--sasl.username"},
		{"unknown SASL mechanism", []string{saslOn, "--sasl.mechanism=ntlm", "--sasl.username=alice", "--sasl.password=" + testPassword}, "--sasl.mechanism"},
		{"SASL without password", []string{saslOn, "--sasl.username=alice"}, "--sasl.password"},
		{"unreadable password file", []string{saslOn, "--sasl.username=alice", "--sasl.password-file=" + missing}, "--sasl.password-file"},
		{"empty password file", []string{saslOn, "--sasl.username=alice", "--sasl.password-file=" + f.empty}, "--sasl.password-file"},
		{"password and password file", []string{saslOn, "--sasl.username=alice", "--sasl.password=" + testPassword, "--sasl.password-file=" + f.password}, "--sasl.password-file"},
		{"user name without SASL enabled", []string{"--sasl.username=alice"}, "--sasl.enabled"},
		{"oauthbearer without token source", []string{saslOn, oauth}, "--sasl.oauthbearer-token-url"},
		{"oauthbearer token URL and token file", []string{saslOn, oauth, tokenURL, "--sasl.oauthbearer-token-file=" + f.password}, "--sasl.oauthbearer-token-file"},
		{"oauthbearer token URL not http", []string{saslOn, oauth, "--sasl.oauthbearer-token-url=ftp://idp/token", "--sasl.username=c", "--sasl.password=" + testPassword}, "--sasl.oauthbearer-token-url"},
		{"oauthbearer token URL without client id", []string{saslOn, oauth, tokenURL, "--sasl.password=" + testPassword}, "--sasl.username"},
		{"oauthbearer token URL without client secret", []string{saslOn, oauth, tokenURL, "--sasl.username=c"}, "--sasl.password"},
		{"oauthbearer extra param not key=value", []string{saslOn, oauth, tokenURL, "--sasl.username=c", "--sasl.password=" + testPassword, "--sasl.oauthbearer-extra-param=audience"}, "--sasl.oauthbearer-extra-param"},
		{"oauthbearer CA file unreadable", []string{saslOn, oauth, tokenURL, "--sasl.username=c", "--sasl.password=" + testPassword, "--sasl.oauthbearer-ca-file=" + missing}, "--sasl.oauthbearer-ca-file"},
		{"oauthbearer CA file without PEM", []string{saslOn, oauth, tokenURL, "--sasl.username=c", "--sasl.password=" + testPassword, "--sasl.oauthbearer-ca-file=" + f.garbage}, "--sasl.oauthbearer-ca-file"},
		{"oauthbearer token file missing", []string{saslOn, oauth, "--sasl.oauthbearer-token-file=" + missing}, "--sasl.oauthbearer-token-file"},
		{"oauthbearer token file empty", []string{saslOn, oauth, "--sasl.oauthbearer-token-file=" + f.empty}, "--sasl.oauthbearer-token-file"},
		{"oauthbearer token file with a user name", []string{saslOn, oauth, "--sasl.oauthbearer-token-file=" + f.password, "--sasl.username=c"}, "--sasl.username"},
		{"oauthbearer setting with another mechanism", []string{saslOn, "--sasl.username=alice", "--sasl.password=" + testPassword, tokenURL}, "--sasl.oauthbearer-token-url"},
		{"oauthbearer setting without SASL enabled", []string{tokenURL}, "--sasl.enabled"},
		{"gssapi without principal", []string{saslOn, krb, krbConf}, "--sasl.username"},
		{"gssapi krb5.conf missing", []string{saslOn, krb, "--sasl.username=u", "--sasl.kerberos-config-path=" + missing, "--sasl.password=" + testPassword}, "--sasl.kerberos-config-path"},
		{"gssapi bad auth type", []string{saslOn, krb, krbConf, "--sasl.username=u", "--sasl.kerberos-auth-type=ticket"}, "--sasl.kerberos-auth-type"},
		{"gssapi keytabAuth without keytab", []string{saslOn, krb, krbConf, "--sasl.username=u", "--sasl.kerberos-auth-type=keytabAuth"}, "--sasl.keytab-path"},
		{"gssapi keytab unreadable", []string{saslOn, krb, krbConf, "--sasl.username=u", "--sasl.keytab-path=" + missing}, "--sasl.keytab-path"},
		{"gssapi keytab not a keytab", []string{saslOn, krb, krbConf, "--sasl.username=u", "--sasl.keytab-path=" + f.garbage}, "--sasl.keytab-path"},
		{"gssapi keytab and password", []string{saslOn, krb, krbConf, "--sasl.username=u", "--sasl.keytab-path=" + f.garbage, "--sasl.password=" + testPassword}, "--sasl.keytab-path"},
		{"gssapi userAuth without password", []string{saslOn, krb, krbConf, "--sasl.username=u"}, "--sasl.password"},
		{"gssapi without realm anywhere", []string{saslOn, krb, "--sasl.kerberos-config-path=" + noRealm, "--sasl.username=u", "--sasl.password=" + testPassword}, "--sasl.realm"},
		{"awsiam without TLS", []string{saslOn, aws, "--sasl.aws-region=eu-west-1"}, "--tls.enabled"},
		{"awsiam with a user name", []string{saslOn, aws, tlsOn, "--sasl.aws-region=eu-west-1", "--sasl.username=u"}, "--sasl.username"},
		{"awsiam without region", []string{saslOn, aws, tlsOn}, "--sasl.aws-region"},
		{"awsiam role not an ARN", []string{saslOn, aws, tlsOn, "--sasl.aws-region=eu-west-1", "--sasl.aws-role-arn=msk-reader"}, "--sasl.aws-role-arn"},
		{"awsiam setting with another mechanism", []string{saslOn, "--sasl.username=alice", "--sasl.password=" + testPassword, "--sasl.aws-region=eu-west-1"}, "--sasl.aws-region"},
		{"gssapi setting with another mechanism", []string{saslOn, "--sasl.username=alice", "--sasl.password=" + testPassword, "--sasl.realm=EXAMPLE.COM"}, "--sasl.realm"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append(tc.args, "--log.level=debug"), &stdout, &stderr)
			if code != exitUsage {
				t.Fatalf("exit code = %d, want %d; stderr: %s", code, exitUsage, stderr.String())
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if len(lines) != 1 {
				t.Fatalf("stderr has %d lines, want one:\n%s", len(lines), stderr.String())
			}
			if !strings.HasPrefix(lines[0], "lagwatch: error:") || !strings.Contains(lines[0], tc.want) {
				t.Fatalf("stderr %q does not name %q", lines[0], tc.want)
			}
			if strings.Contains(stdout.String()+stderr.String(), testPassword) {
				t.Fatalf("the password appears in the output: %q", lines[0])
			}
		})
	}
}

// appliedConfig parses args as lagwatch does and applies the security
// flags to a fresh sarama config, which must then pass sarama's checks.
func appliedConfig(t *testing.T, args ...string) *sarama.Config {
	t.Helper()
	app, flags := newApp(io.Discard, io.Discard)
	if _, err := app.Parse(args); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	conf := sarama.NewConfig()
	sec, err := flags.security.Build()
	if err == nil {
		err = sec.Apply(conf)
	}
	if err != nil {
		t.Fatalf("apply %q: %v", args, err)
	}
	if err := conf.Validate(); err != nil {
		t.Fatalf("sarama rejects the config of %q: %v", args, err)
	}
	return conf
}

func TestNoSecurityFlagsLeaveTLSAndSASLOff(t *testing.T) {
	t.Setenv(config.PasswordEnv, "")
	conf := appliedConfig(t)
	if conf.Net.TLS.Enable || conf.Net.SASL.Enable {
		t.Fatalf("TLS enabled %v, SASL enabled %v; want both off", conf.Net.TLS.Enable, conf.Net.SASL.Enable)
	}
}

func TestTLSFlagsTrustTheCAAndPresentTheClientCertificate(t *testing.T) {
	f := newTestFiles(t)
	conf := appliedConfig(t, "--tls.enabled", "--tls.ca-file="+f.ca,
		"--tls.cert-file="+f.cert, "--tls.key-file="+f.key, "--tls.server-name=kafka.example")
	tc := conf.Net.TLS.Config
	if !conf.Net.TLS.Enable || tc == nil {
		t.Fatalf("TLS enabled %v with config %v", conf.Net.TLS.Enable, tc)
	}
	// Verification moves from crypto/tls to VerifyConnection, which
	// reads --tls.ca-file again when it changes (see kafka.TLSFiles).
	if tc.ServerName != "kafka.example" || (tc.InsecureSkipVerify && tc.VerifyConnection == nil) || tc.MinVersion < tls.VersionTLS12 {
		t.Fatalf("ServerName %q, InsecureSkipVerify %v without VerifyConnection, MinVersion %x", tc.ServerName, tc.InsecureSkipVerify, tc.MinVersion)
	}
	// The pool must hold our CA: a certificate it signed verifies, for
	// the name it was issued to only.
	if err := tc.VerifyConnection(tls.ConnectionState{PeerCertificates: []*x509.Certificate{f.leaf}, ServerName: "localhost"}); err != nil {
		t.Fatalf("a certificate signed by --tls.ca-file does not verify: %v", err)
	}
	if err := tc.VerifyConnection(tls.ConnectionState{PeerCertificates: []*x509.Certificate{f.leaf}, ServerName: "kafka.example"}); err == nil {
		t.Fatal("a certificate verified for a name it was not issued to")
	}
	cert, err := tc.GetClientCertificate(&tls.CertificateRequestInfo{})
	if err != nil || !bytes.Equal(cert.Certificate[0], f.leaf.Raw) {
		t.Fatalf("client certificate %v, %v; want the one from --tls.cert-file", cert, err)
	}
}

func TestTLSWithoutCAFileUsesSystemRootsAndCanSkipVerification(t *testing.T) {
	conf := appliedConfig(t, "--tls.enabled")
	if tc := conf.Net.TLS.Config; tc.RootCAs != nil || tc.InsecureSkipVerify || len(tc.Certificates) != 0 {
		t.Fatalf("RootCAs %v, InsecureSkipVerify %v, certificates %d; want system roots, verification, none", tc.RootCAs, tc.InsecureSkipVerify, len(tc.Certificates))
	}
	conf = appliedConfig(t, "--tls.enabled", "--tls.insecure-skip-tls-verify")
	if !conf.Net.TLS.Config.InsecureSkipVerify {
		t.Fatal("--tls.insecure-skip-tls-verify did not disable verification")
	}
}

func TestSASLPlainTakesThePasswordFlag(t *testing.T) {
	t.Setenv(config.PasswordEnv, "")
	conf := appliedConfig(t, "--sasl.enabled", "--sasl.username=alice", "--sasl.password="+testPassword)
	s := conf.Net.SASL
	if !s.Enable || s.Mechanism != sarama.SASLTypePlaintext || s.User != "alice" || s.Password != testPassword {
		t.Fatalf("SASL enable %v mechanism %q user %q, password set %v", s.Enable, s.Mechanism, s.User, s.Password == testPassword)
	}
	if s.SCRAMClientGeneratorFunc != nil {
		t.Fatal("PLAIN got a SCRAM client")
	}
	if conf.Net.TLS.Enable {
		t.Fatal("SASL alone enabled TLS")
	}
}

func TestSASLPasswordFileDropsTheTrailingNewline(t *testing.T) {
	t.Setenv(config.PasswordEnv, "")
	f := newTestFiles(t)
	conf := appliedConfig(t, "--sasl.enabled", "--sasl.mechanism=scram-sha256", "--sasl.username=alice", "--sasl.password-file="+f.password)
	if conf.Net.SASL.Password != testPassword {
		t.Fatalf("password from file has %d bytes, want %d", len(conf.Net.SASL.Password), len(testPassword))
	}
}

func TestSASLPasswordComesFromTheEnvironment(t *testing.T) {
	t.Setenv(config.PasswordEnv, testPassword)
	conf := appliedConfig(t, "--sasl.enabled", "--sasl.mechanism=scram-sha512", "--sasl.username=alice")
	if conf.Net.SASL.Password != testPassword || conf.Net.SASL.Mechanism != sarama.SASLTypeSCRAMSHA512 {
		t.Fatalf("mechanism %q, password from $%s set %v", conf.Net.SASL.Mechanism, config.PasswordEnv, conf.Net.SASL.Password == testPassword)
	}
}

// TestSCRAMClientCompletesAConversationWithAServer runs sarama's SCRAM
// client for each mechanism against xdg-go's SCRAM server: the right
// password authenticates, a wrong one is refused.
func TestSCRAMClientCompletesAConversationWithAServer(t *testing.T) {
	t.Setenv(config.PasswordEnv, "")
	for _, tc := range []struct {
		flag string
		hash scram.HashGeneratorFcn
	}{
		{"scram-sha256", scram.SHA256},
		{"scram-sha512", scram.SHA512},
	} {
		for _, password := range []string{testPassword, "wrong"} {
			t.Run(tc.flag+"/"+password, func(t *testing.T) {
				conf := appliedConfig(t, "--sasl.enabled", "--sasl.mechanism="+tc.flag, "--sasl.username=alice", "--sasl.password="+password)
				err := scramConversation(t, tc.hash, conf.Net.SASL.SCRAMClientGeneratorFunc(), password)
				if (password == testPassword) != (err == nil) {
					t.Fatalf("password %q: conversation error %v", password, err)
				}
			})
		}
	}
}

func scramConversation(t *testing.T, hash scram.HashGeneratorFcn, client sarama.SCRAMClient, password string) error {
	t.Helper()
	stored, err := hash.NewClient("alice", testPassword, "")
	if err != nil {
		t.Fatal(err)
	}
	creds := stored.GetStoredCredentials(scram.KeyFactors{Salt: "pepper", Iters: 4096})
	server, err := hash.NewServer(func(string) (scram.StoredCredentials, error) { return creds, nil })
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Begin("alice", password, ""); err != nil {
		t.Fatal(err)
	}
	conv := server.NewConversation()
	msg, err := client.Step("")
	for err == nil && !client.Done() {
		var challenge string
		if challenge, err = conv.Step(msg); err == nil {
			msg, err = client.Step(challenge)
		}
	}
	if err == nil && !conv.Valid() {
		t.Fatal("the client finished but the server did not authenticate it")
	}
	return err
}

func TestOAuthBearerFlagsGiveSaramaATokenSource(t *testing.T) {
	t.Setenv(config.PasswordEnv, "")
	f := newTestFiles(t)
	tokenFile := securetest.WriteFile(t, f.dir, "token", []byte("header.payload.signature\n"))
	conf := appliedConfig(t, "--sasl.enabled", "--sasl.mechanism=oauthbearer", "--sasl.oauthbearer-token-file="+tokenFile)
	if conf.Net.SASL.Mechanism != sarama.SASLTypeOAuth || conf.Net.SASL.TokenProvider == nil {
		t.Fatalf("mechanism %q, token provider %v", conf.Net.SASL.Mechanism, conf.Net.SASL.TokenProvider)
	}
	tok, err := conf.Net.SASL.TokenProvider.Token()
	if err != nil || tok.Token != "header.payload.signature" {
		t.Fatalf("token %v, %v", tok, err)
	}
	t.Setenv(config.PasswordEnv, testPassword)
	conf = appliedConfig(t, "--sasl.enabled", "--sasl.mechanism=oauthbearer", "--sasl.oauthbearer-token-url=https://idp.example/token",
		"--sasl.username=client", "--sasl.oauthbearer-scope=a", "--sasl.oauthbearer-scope=b", "--sasl.oauthbearer-extra-param=audience=kafka",
		"--sasl.oauthbearer-ca-file="+f.ca)
	if conf.Net.SASL.Mechanism != sarama.SASLTypeOAuth || conf.Net.SASL.TokenProvider == nil {
		t.Fatalf("mechanism %q, token provider %v", conf.Net.SASL.Mechanism, conf.Net.SASL.TokenProvider)
	}
}

const testKrb5Conf = `[libdefaults]
 default_realm = EXAMPLE.COM
[realms]
 EXAMPLE.COM = {
  kdc = 127.0.0.1:88
 }
`

func TestGSSAPIFlagsGiveSaramaTheKerberosLogin(t *testing.T) {
	t.Setenv(config.PasswordEnv, testPassword)
	f := newTestFiles(t)
	conf := appliedConfig(t, "--sasl.enabled", "--sasl.mechanism=gssapi", "--sasl.username=lagwatch",
		"--sasl.kerberos-config-path="+securetest.WriteFile(t, f.dir, "krb5.conf", []byte(testKrb5Conf)))
	g := conf.Net.SASL.GSSAPI
	if conf.Net.SASL.Mechanism != sarama.SASLTypeGSSAPI || g.AuthType != sarama.KRB5_USER_AUTH || g.Username != "lagwatch" ||
		g.Password != testPassword || g.Realm != "EXAMPLE.COM" || g.ServiceName != "kafka" {
		t.Fatalf("mechanism %q auth type %d user %q realm %q service %q, password set %v",
			conf.Net.SASL.Mechanism, g.AuthType, g.Username, g.Realm, g.ServiceName, g.Password == testPassword)
	}
}

func TestAWSIAMFlagsGiveSaramaAnMSKTokenSource(t *testing.T) {
	t.Setenv(config.PasswordEnv, "")
	conf := appliedConfig(t, "--tls.enabled", "--sasl.enabled", "--sasl.mechanism=awsiam", "--sasl.aws-region=eu-west-1")
	if conf.Net.SASL.Mechanism != sarama.SASLTypeOAuth || conf.Net.SASL.TokenProvider == nil || !conf.Net.TLS.Enable {
		t.Fatalf("mechanism %q, token provider %v, TLS %v", conf.Net.SASL.Mechanism, conf.Net.SASL.TokenProvider, conf.Net.TLS.Enable)
	}
}
