package kafka

import (
	"context"
	"fmt"

	"github.com/IBM/sarama"
	krbclient "github.com/jcmturner/gokrb5/v8/client"
	krbconfig "github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/kerberos"
)

// Kerberos is how SASL/GSSAPI logs in: the principal is SASL.User, with a
// keytab or with SASL.Password.
type Kerberos struct {
	// ConfigPath is the krb5.conf that names the realm's KDCs.
	ConfigPath string
	// ServiceName is the first part of the brokers' principals
	// (sasl.kerberos.service.name on the broker, usually "kafka"); the
	// second is the host of the broker's address.
	ServiceName string
	Realm       string
	// KeytabPath, when set, logs in with the keytab rather than a password.
	KeytabPath string
	// DisablePAFXFAST turns off FAST pre-authentication, for KDCs (Active
	// Directory) that do not offer it.
	DisablePAFXFAST bool
}

// applyKerberos sets sarama's GSSAPI settings.
func applyKerberos(conf *sarama.Config, s *SASL) error {
	k := s.Kerberos
	if k == nil {
		return fmt.Errorf("SASL mechanism %s needs Kerberos settings", s.Mechanism)
	}
	conf.Net.SASL.GSSAPI = sarama.GSSAPIConfig{
		AuthType:           sarama.KRB5_USER_AUTH,
		KerberosConfigPath: k.ConfigPath,
		ServiceName:        k.ServiceName,
		Username:           s.User,
		Password:           s.Password,
		Realm:              k.Realm,
		DisablePAFXFAST:    k.DisablePAFXFAST,
	}
	if k.KeytabPath != "" {
		conf.Net.SASL.GSSAPI.AuthType = sarama.KRB5_KEYTAB_AUTH
		conf.Net.SASL.GSSAPI.KeyTabPath = k.KeytabPath
		conf.Net.SASL.GSSAPI.Password = ""
	}
	return nil
}

// kerberosMechanism is franz-go's GSSAPI with the settings sarama was
// given. Each authentication logs in with a fresh client (read from the
// files again, so a renewed keytab is picked up), destroyed after it.
func kerberosMechanism(g sarama.GSSAPIConfig) sasl.Mechanism {
	return kerberos.Kerberos(func(context.Context) (kerberos.Auth, error) {
		cl, err := kerberosClient(g)
		if err != nil {
			return kerberos.Auth{}, err
		}
		return kerberos.Auth{Client: cl, Service: g.ServiceName}, nil
	})
}

func kerberosClient(g sarama.GSSAPIConfig) (*krbclient.Client, error) {
	cfg, err := krbconfig.Load(g.KerberosConfigPath)
	if err != nil {
		return nil, fmt.Errorf("kerberos config %s: %w", g.KerberosConfigPath, err)
	}
	fast := krbclient.DisablePAFXFAST(g.DisablePAFXFAST)
	if g.AuthType == sarama.KRB5_KEYTAB_AUTH {
		kt, err := keytab.Load(g.KeyTabPath)
		if err != nil {
			return nil, fmt.Errorf("kerberos keytab %s: %w", g.KeyTabPath, err)
		}
		return krbclient.NewWithKeytab(g.Username, g.Realm, kt, cfg, fast), nil
	}
	return krbclient.NewWithPassword(g.Username, g.Realm, g.Password, cfg, fast), nil
}
