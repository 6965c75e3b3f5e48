package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/IBM/sarama"
)

func TestConfigFileClustersAuthenticateWithOAuthBearer(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("from-the-sidecar\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LAGWATCH_TEST_OIDC_SECRET", "oidc-secret")
	path := writeConfig(t, `
clusters:
  - name: oidc
    servers: [kafka-1:9092]
    sasl:
      enabled: true
      mechanism: oauthbearer
      username: lagwatch-client
      password_env: LAGWATCH_TEST_OIDC_SECRET
      oauthbearer_token_url: https://idp.example/oauth2/token
      oauthbearer_scopes: [kafka]
      oauthbearer_extra_params: {audience: kafka}
  - name: sidecar
    servers: [kafka-2:9092]
    sasl: {enabled: true, mechanism: oauthbearer, oauthbearer_token_file: `+tokenFile+`}
`)
	specs, err := Load(path, baseConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range specs {
		if s := spec.Config.Kafka.Sarama().Net.SASL; !s.Enable || s.Mechanism != sarama.SASLTypeOAuth || s.TokenProvider == nil {
			t.Fatalf("cluster %s: SASL %v mechanism %q token provider %v", spec.Name, s.Enable, s.Mechanism, s.TokenProvider)
		}
	}
	tok, err := specs[1].Config.Kafka.Sarama().Net.SASL.TokenProvider.Token()
	if err != nil || tok.Token != "from-the-sidecar" {
		t.Fatalf("token from the file: %v, %v", tok, err)
	}
}

func TestConfigFileClusterAuthenticatesWithKerberos(t *testing.T) {
	dir := t.TempDir()
	krb5Conf := filepath.Join(dir, "krb5.conf")
	if err := os.WriteFile(krb5Conf, []byte(testKrb5Conf), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LAGWATCH_TEST_KRB_PASSWORD", "krb-secret")
	path := writeConfig(t, `
clusters:
  - name: kerberized
    servers: [kafka-1:9092]
    sasl: {enabled: true, mechanism: gssapi, username: lagwatch, password_env: LAGWATCH_TEST_KRB_PASSWORD,
           kerberos_config_path: `+krb5Conf+`, realm: CORP.EXAMPLE, service_name: kafka-prod, disable_pa_fx_fast: true}
`)
	specs, err := Load(path, baseConfig())
	if err != nil {
		t.Fatal(err)
	}
	g := specs[0].Config.Kafka.Sarama().Net.SASL.GSSAPI
	if specs[0].Config.Kafka.Sarama().Net.SASL.Mechanism != sarama.SASLTypeGSSAPI || g.Realm != "CORP.EXAMPLE" || g.ServiceName != "kafka-prod" ||
		!g.DisablePAFXFAST || g.Password != "krb-secret" || g.AuthType != sarama.KRB5_USER_AUTH {
		t.Fatalf("GSSAPI %+v", g)
	}
}

func TestConfigFileClusterAuthenticatesWithMSKIAM(t *testing.T) {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	path := writeConfig(t, `
clusters:
  - name: msk
    servers: [b-1.msk.example.c2.kafka.eu-west-1.amazonaws.com:9098]
    tls: {enabled: true}
    sasl: {enabled: true, mechanism: awsiam, aws_region: eu-west-1, aws_role_arn: "arn:aws:iam::123456789012:role/lagwatch"}
`)
	specs, err := Load(path, baseConfig())
	if err != nil {
		t.Fatal(err)
	}
	if s := specs[0].Config.Kafka.Sarama().Net.SASL; s.Mechanism != sarama.SASLTypeOAuth || s.TokenProvider == nil {
		t.Fatalf("SASL mechanism %q token provider %v", s.Mechanism, s.TokenProvider)
	}
}

// testKrb5Conf names a realm whose KDC nobody answers on: building the
// login reads it, nothing here logs in.
const testKrb5Conf = `[libdefaults]
 default_realm = EXAMPLE.COM
[realms]
 EXAMPLE.COM = {
  kdc = 127.0.0.1:88
 }
`
