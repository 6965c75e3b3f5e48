package kafka

import (
	"fmt"
	"log/slog"

	"github.com/IBM/sarama"
)

// Version is a Kafka version lagwatch knows, as --kafka.version and a
// config file's version name it. The zero value is the newest.
type Version struct{ v sarama.KafkaVersion }

// NewestVersion is the newest Kafka version lagwatch knows, the default
// cap: no cap at all.
func NewestVersion() Version { return Version{sarama.MaxVersion} }

// ParseVersion accepts only versions lagwatch knows, so a typo fails at
// start-up rather than as protocol errors later.
func ParseVersion(s string) (Version, error) {
	v, err := sarama.ParseKafkaVersion(s)
	if err == nil {
		for _, known := range sarama.SupportedVersions {
			if known == v {
				return Version{v}, nil
			}
		}
	}
	return Version{v}, fmt.Errorf("--kafka.version %q is not a Kafka version lagwatch knows (oldest %s, newest %s)", s, sarama.MinVersion, sarama.MaxVersion)
}

func (v Version) kafkaVersion() sarama.KafkaVersion {
	if v == (Version{}) {
		return sarama.MaxVersion
	}
	return v.v
}

// IsNewest says whether v caps nothing.
func (v Version) IsNewest() bool { return v.kafkaVersion() == sarama.MaxVersion }

func (v Version) String() string { return v.kafkaVersion().String() }

// ClientConfig is how lagwatch connects to one cluster: the version cap,
// TLS, SASL and the timeouts. Only this package knows it is sarama's
// configuration. A nil *ClientConfig is NewClientConfig's plaintext
// default.
type ClientConfig struct{ conf *sarama.Config }

// NewClientConfig is the configuration lagwatch polls with: the version
// cap v and the security sec, which it checks as sarama would.
func NewClientConfig(v Version, sec Security) (*ClientConfig, error) {
	conf := NewSaramaConfig()
	conf.Version = v.kafkaVersion()
	if err := sec.Apply(conf); err != nil {
		return nil, err
	}
	return &ClientConfig{conf}, nil
}

// WrapSarama is a ClientConfig that is conf as it is, for a caller that
// sets what lagwatch's settings do not reach (today only tests: timeouts
// for a loaded machine, a mock broker without ApiVersions).
func WrapSarama(conf *sarama.Config) *ClientConfig { return &ClientConfig{conf} }

// Sarama is the sarama configuration c stands for; nil for a nil c.
func (c *ClientConfig) Sarama() *sarama.Config {
	if c == nil {
		return nil
	}
	return c.conf
}

// SkipSASLHandshake sends SASL without Kafka's SaslHandshake request, for
// non-Kafka SASL proxies (kafka_exporter's --no-sasl.handshake).
func (c *ClientConfig) SkipSASLHandshake() { c.conf.Net.SASL.Handshake = false }

// SASLUser is the SASL user lagwatch authenticates as; ok is false
// without SASL.
func (c *ClientConfig) SASLUser() (user string, ok bool) {
	if c == nil || !c.conf.Net.SASL.Enable {
		return "", false
	}
	return c.conf.Net.SASL.User, true
}

// UsesTLS says whether the connections are wrapped in TLS.
func (c *ClientConfig) UsesTLS() bool { return c != nil && c.conf.Net.TLS.Enable }

// LogSaramaTo sends sarama's own log lines (one package-level logger) to
// logger, with component=sarama; restore puts the previous logger back.
func LogSaramaTo(logger *slog.Logger) (restore func()) {
	previous := sarama.Logger
	sarama.Logger = slog.NewLogLogger(logger.With("component", "sarama").Handler(), slog.LevelInfo)
	return func() { sarama.Logger = previous }
}
