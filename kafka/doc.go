// Package kafka is the only package that talks to Kafka. It owns the
// connections to the brokers (TLS and SASL included), sends the batched
// admin requests a poll needs — one per broker or partition leader, never
// one per group — and returns what Kafka answered as plain values.
//
// It imports nothing else of lagwatch, and it is the only package of
// lagwatch that imports a Kafka client (tests that drive a real client
// aside): the rest configure it with Version, Security and ClientConfig
// (clientconfig.go). It speaks through sarama, and through a franz-go
// client with kmsg requests for what sarama lacks (share and streams
// groups, kmsg.go); the SASL mechanisms, Kerberos, OAuth and AWS IAM
// logins (security.go) serve both. The collector decides what to ask and
// what the answers mean; this package only asks, bounds how many requests
// are in flight, and counts every request by API. Which protocol versions
// it asks for: version.go.
package kafka
