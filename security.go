package main

import (
	"github.com/IBM/sarama"
	"github.com/alecthomas/kingpin/v2"
)

// securityFlags are the flags for TLS and SASL connections to Kafka.
type securityFlags struct{}

func addSecurityFlags(app *kingpin.Application) *securityFlags {
	return &securityFlags{}
}

// apply configures conf's TLS and SASL from the flags.
func (s *securityFlags) apply(conf *sarama.Config) error {
	return nil
}
