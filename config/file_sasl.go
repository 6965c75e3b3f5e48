package config

import (
	"maps"
	"slices"
)

// saslMechanismConfig are the settings of --config.file's sasl section for
// the mechanisms beyond user and password, named as their --sasl.* flags.
type saslMechanismConfig struct {
	OAuthBearerTokenURL    string            `yaml:"oauthbearer_token_url" json:"oauthbearer_token_url"`
	OAuthBearerScopes      []string          `yaml:"oauthbearer_scopes" json:"oauthbearer_scopes"`
	OAuthBearerExtraParams map[string]string `yaml:"oauthbearer_extra_params" json:"oauthbearer_extra_params"`
	OAuthBearerCAFile      string            `yaml:"oauthbearer_ca_file" json:"oauthbearer_ca_file"`
	OAuthBearerTokenFile   string            `yaml:"oauthbearer_token_file" json:"oauthbearer_token_file"`

	ServiceName        string `yaml:"service_name" json:"service_name"`
	KerberosConfigPath string `yaml:"kerberos_config_path" json:"kerberos_config_path"`
	Realm              string `yaml:"realm" json:"realm"`
	KerberosAuthType   string `yaml:"kerberos_auth_type" json:"kerberos_auth_type"`
	KeytabPath         string `yaml:"keytab_path" json:"keytab_path"`
	DisablePAFXFast    bool   `yaml:"disable_pa_fx_fast" json:"disable_pa_fx_fast"`

	AWSRegion  string `yaml:"aws_region" json:"aws_region"`
	AWSRoleARN string `yaml:"aws_role_arn" json:"aws_role_arn"`
}

// mechanismConfigFields names the fields whose names differ from their
// flag's beyond '-' → '_'.
var mechanismConfigFields = map[string]string{
	"sasl.oauthbearer-scope":       "sasl.oauthbearer_scopes",
	"sasl.oauthbearer-extra-param": "sasl.oauthbearer_extra_params",
	"sasl.disable-PA-FX-FAST":      "sasl.disable_pa_fx_fast",
}

func (c saslMechanismConfig) mechanisms() Mechanisms {
	m := Mechanisms{
		OAuthTokenURL: c.OAuthBearerTokenURL, OAuthScopes: c.OAuthBearerScopes,
		OAuthCAFile: c.OAuthBearerCAFile, OAuthTokenFile: c.OAuthBearerTokenFile,
		KerberosServiceName: c.ServiceName, KerberosConfigPath: c.KerberosConfigPath, KerberosRealm: c.Realm,
		KerberosAuthType: c.KerberosAuthType, KerberosKeytabPath: c.KeytabPath, KerberosDisablePAFXFast: c.DisablePAFXFast,
		AWSRegion: c.AWSRegion, AWSRoleARN: c.AWSRoleARN,
	}
	for _, k := range slices.Sorted(maps.Keys(c.OAuthBearerExtraParams)) {
		m.OAuthParams = append(m.OAuthParams, k+"="+c.OAuthBearerExtraParams[k])
	}
	return m
}
