package kafka

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	kscram "github.com/twmb/franz-go/pkg/sasl/scram"
	"github.com/xdg-go/scram"
)

// NewSaramaConfig is the client configuration lagwatch polls with, before
// security is applied.
func NewSaramaConfig() *sarama.Config {
	conf := sarama.NewConfig()
	conf.ClientID = "lagwatch"
	// Since v1.46 sarama reads each broker's supported API versions, so
	// asking for the newest is safe against older brokers, and the default
	// (2.8) cannot batch groups in one OffsetFetch.
	conf.Version = sarama.MaxVersion
	// lagwatch only reads: asking for a topic's metadata must never create it.
	conf.Metadata.AllowAutoTopicCreation = false
	conf.Net.DialTimeout = 10 * time.Second
	conf.Net.ReadTimeout = 30 * time.Second
	conf.Net.WriteTimeout = 10 * time.Second
	conf.MetricRegistry = discardMetrics{}
	return conf
}

// Security is how lagwatch authenticates to the brokers and protects the
// connection. The zero value is plaintext without SASL.
type Security struct {
	// TLS, when set, wraps every connection in TLS with this config.
	TLS *tls.Config
	// SASL, when set, authenticates every connection.
	SASL *SASL
}

// SASL is one principal's credentials and the mechanism to present them.
type SASL struct {
	// Mechanism is one of SASLMechanisms.
	Mechanism string
	User      string
	Password  string
	// Tokens gives the bearer tokens of the oauthbearer and awsiam
	// mechanisms.
	Tokens TokenSource
	// Kerberos is how the gssapi mechanism logs in.
	Kerberos *Kerberos
}

// SASLMechanisms are the mechanisms lagwatch speaks, by the names its
// flags use.
var SASLMechanisms = map[string]sarama.SASLMechanism{
	"plain":        sarama.SASLTypePlaintext,
	"scram-sha256": sarama.SASLTypeSCRAMSHA256,
	"scram-sha512": sarama.SASLTypeSCRAMSHA512,
	"oauthbearer":  sarama.SASLTypeOAuth,
	"gssapi":       sarama.SASLTypeGSSAPI,
	// Amazon MSK IAM: a signed request presented as an OAUTHBEARER token
	// (aws-msk-iam-sasl-signer-go), so it needs no mechanism of its own.
	"awsiam": sarama.SASLTypeOAuth,
}

// SASLMechanismNames lists SASLMechanisms' keys for errors and help.
const SASLMechanismNames = "plain, scram-sha256, scram-sha512, oauthbearer, gssapi or awsiam"

// Apply sets conf's TLS and SASL. Its errors never contain a secret.
func (s Security) Apply(conf *sarama.Config) error {
	if s.TLS != nil {
		conf.Net.TLS.Enable = true
		conf.Net.TLS.Config = s.TLS
	}
	if s.SASL == nil {
		return nil
	}
	mechanism, ok := SASLMechanisms[s.SASL.Mechanism]
	if !ok {
		return fmt.Errorf("SASL mechanism %q is not one of %s", s.SASL.Mechanism, SASLMechanismNames)
	}
	conf.Net.SASL.Enable = true
	conf.Net.SASL.Mechanism = mechanism
	conf.Net.SASL.User = s.SASL.User
	conf.Net.SASL.Password = s.SASL.Password
	// Kafka 1.0+ speaks SaslHandshake v1 with SaslAuthenticate, which
	// reports why authentication failed.
	conf.Net.SASL.Handshake = true
	conf.Net.SASL.Version = sarama.SASLHandshakeV1
	switch mechanism {
	case sarama.SASLTypeSCRAMSHA256:
		conf.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{hash: scram.SHA256} }
	case sarama.SASLTypeSCRAMSHA512:
		conf.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{hash: scram.SHA512} }
	case sarama.SASLTypeOAuth:
		if s.SASL.Tokens == nil {
			return fmt.Errorf("SASL mechanism %s needs a token source", s.SASL.Mechanism)
		}
		conf.Net.SASL.TokenProvider = saramaTokens{s.SASL.Tokens}
	case sarama.SASLTypeGSSAPI:
		return applyKerberos(conf, s.SASL)
	}
	return nil
}

// scramClient adapts xdg-go/scram to sarama.SCRAMClient. sarama makes a
// fresh one per connection through SCRAMClientGeneratorFunc.
type scramClient struct {
	hash scram.HashGeneratorFcn
	conv *scram.ClientConversation
}

func (c *scramClient) Begin(user, password, authzID string) error {
	client, err := c.hash.NewClient(user, password, authzID)
	if err != nil {
		return fmt.Errorf("scram client: %w", err)
	}
	c.conv = client.NewConversation()
	return nil
}

func (c *scramClient) Step(challenge string) (string, error) { return c.conv.Step(challenge) }

func (c *scramClient) Done() bool { return c.conv.Done() }

// kgoOptions are the franz-go options that connect as conf does: the same
// TLS config, SASL mechanism and credentials, client id and dial timeout.
// They are derived from the sarama config that Security.Apply set up, so
// the flags reach both clients through that one place. The franz-go client
// is used only as a connection to one broker (see kmsgBroker): it should
// refresh metadata in the background as rarely as it can and keep its
// connection for the next poll.
func kgoOptions(conf *sarama.Config) ([]kgo.Opt, error) {
	opts := []kgo.Opt{
		kgo.ClientID(conf.ClientID),
		kgo.DialTimeout(conf.Net.DialTimeout),
		// The longest franz-go allows: it refreshes the (empty) metadata
		// of a client that has no topics once per this, and closes
		// connections idle this long.
		kgo.MetadataMaxAge(time.Hour),
		kgo.ConnIdleTimeout(15 * time.Minute),
	}
	if conf.Net.TLS.Enable {
		tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
		if conf.Net.TLS.Config != nil {
			tlsConf = conf.Net.TLS.Config.Clone()
		}
		opts = append(opts, kgo.DialTLSConfig(tlsConf))
	}
	if !conf.Net.SASL.Enable {
		return opts, nil
	}
	user, password := conf.Net.SASL.User, conf.Net.SASL.Password
	switch conf.Net.SASL.Mechanism {
	case sarama.SASLTypePlaintext, "":
		opts = append(opts, kgo.SASL(plain.Auth{User: user, Pass: password}.AsMechanism()))
	case sarama.SASLTypeSCRAMSHA256:
		opts = append(opts, kgo.SASL(kscram.Auth{User: user, Pass: password}.AsSha256Mechanism()))
	case sarama.SASLTypeSCRAMSHA512:
		opts = append(opts, kgo.SASL(kscram.Auth{User: user, Pass: password}.AsSha512Mechanism()))
	case sarama.SASLTypeOAuth:
		opts = append(opts, kgo.SASL(oauthMechanism(conf.Net.SASL.TokenProvider)))
	case sarama.SASLTypeGSSAPI:
		opts = append(opts, kgo.SASL(kerberosMechanism(conf.Net.SASL.GSSAPI)))
	default:
		return nil, fmt.Errorf("SASL mechanism %q is not one lagwatch speaks", conf.Net.SASL.Mechanism)
	}
	return opts, nil
}

// oauthMechanism is franz-go's OAUTHBEARER over the token source sarama
// authenticates with, so both clients share one token cache.
func oauthMechanism(p sarama.AccessTokenProvider) sasl.Mechanism {
	return oauth.Oauth(func(ctx context.Context) (oauth.Auth, error) {
		var (
			token string
			err   error
		)
		if st, ok := p.(saramaTokens); ok {
			token, err = st.src.Token(ctx)
		} else {
			var at *sarama.AccessToken
			if at, err = p.Token(); err == nil {
				token = at.Token
			}
		}
		return oauth.Auth{Token: token}, err
	})
}
